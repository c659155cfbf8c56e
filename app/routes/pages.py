"""HTML pages: thin shells around the JSON API and the websockets their scripts drive."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app import labels
from app.http import optional_user_id, services_of
from app.redirects import safe_next

# Only messages the pages themselves name travel in a URL, never free text:
# someone could otherwise craft a link that makes the app say anything.
ACCESS_NOTICES = {
    "acces": "Vous n'avez pas accès à la surveillance de cette session. Saisissez son numéro et son mot de passe.",
    "quitte": "Vous avez quitté la surveillance de la session.",
    "finalisee": "Cette session est finalisée : la surveillance est terminée.",
}


def _render(request: Request, template: str, **context: Any) -> Response:
    context.setdefault("logged_in", optional_user_id(request) is not None)
    context.setdefault("labels", labels)
    response = services_of(request).templates.TemplateResponse(request, template, context)
    # Pages hold no data themselves, but a cached page after logout would still look signed in.
    response.headers["Cache-Control"] = "no-store"
    return response


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/connexion?next=" + quote(target, safe="/"), status_code=303)


def _session_id(request: Request) -> int | None:
    raw = request.path_params.get("sid")
    return raw if isinstance(raw, int) and 0 < raw < 2**31 else None


async def home(request: Request) -> Response:
    return _render(request, "home.html")


async def login(request: Request) -> Response:
    return _render(request, "login.html", next=safe_next(request.query_params.get("next")))


async def signup(request: Request) -> Response:
    return _render(request, "signup.html", next=safe_next(request.query_params.get("next")))


async def supervision_access(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    prefill = request.query_params.get("session", "")
    return _render(
        request,
        "supervision_access.html",
        prefill=prefill if prefill.isdecimal() and len(prefill) < 10 else "",
        notice=ACCESS_NOTICES.get(request.query_params.get("info", ""), ""),
    )


async def supervision_session(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    sid = _session_id(request)
    if sid is None:
        return RedirectResponse("/surveillance?info=acces", status_code=303)
    return _render(request, "supervision_session.html", session_id=sid)


async def supervision_help(request: Request) -> Response:
    # The guide's summary: public, it holds nothing about any session.
    return _render(request, "supervision_help.html")


async def certification(request: Request) -> Response:
    return _render(request, "certification.html")


async def centre(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    return _render(request, "centre.html")


async def account(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    return _render(request, "account.html")


async def centre_session(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    sid = _session_id(request)
    if sid is None:
        return RedirectResponse("/centre", status_code=303)
    return _render(request, "centre_session.html", session_id=sid)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/connexion", login, methods=["GET"]),
    Route("/inscription", signup, methods=["GET"]),
    Route("/surveillance", supervision_access, methods=["GET"]),
    Route("/surveillance/sessions/{sid:int}", supervision_session, methods=["GET"]),
    Route("/surveillance/aide", supervision_help, methods=["GET"]),
    Route("/certification", certification, methods=["GET"]),
    Route("/centre", centre, methods=["GET"]),
    Route("/centre/sessions/{sid:int}", centre_session, methods=["GET"]),
    Route("/compte", account, methods=["GET"]),
]
