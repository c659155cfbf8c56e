"""HTML pages. Each arrives with its first state rendered from the same reads the JSON API
and the websockets use; the page's script takes over from there."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app import labels
from app.actions import accounts, centres, reports, supervision
from app.errors import DomainError, NotAuthenticated, SessionFinalized
from app.http import optional_user_id, services_of
from app.i18n import N_, gettext
from app.redirects import safe_next
from app.views import me_view

# Only messages the pages themselves name travel in a URL, never free text:
# someone could otherwise craft a link that makes the app say anything.
ACCESS_NOTICES = {
    "acces": N_("Vous n'avez pas accès à la surveillance de cette session. Saisissez son numéro et son mot de passe."),
    "quitte": N_("Vous avez quitté la surveillance de la session."),
    "finalisee": N_("Cette session est finalisée : la surveillance est terminée."),
    "retire": N_("Votre accès à la surveillance de cette session a été retiré par le centre de certification."),
}


async def _me(request: Request) -> dict[str, Any] | None:
    uid = optional_user_id(request)
    if uid is None:
        return None
    try:
        user, centres = await services_of(request).db.read(lambda db: accounts.whoami(db, uid))
    except NotAuthenticated:  # a valid cookie for an account that no longer exists
        return None
    return me_view(user, centres)


async def _render(request: Request, template: str, *, private: bool = False, **context: Any) -> Response:
    # The page carries who is logged in (header, scripts): no script asks /api/me for it.
    me = await _me(request)
    if private and me is None:
        return _to_login(request)
    context.update(me=me, logged_in=me is not None)
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
    return await _render(request, "home.html")


async def login(request: Request) -> Response:
    return await _render(request, "login.html", next=safe_next(request.query_params.get("next")))


async def signup(request: Request) -> Response:
    return await _render(request, "signup.html", next=safe_next(request.query_params.get("next")))


async def supervision_access(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    prefill = request.query_params.get("session", "")
    prefill = prefill if prefill.isdecimal() and len(prefill) < 10 else ""
    info = request.query_params.get("info", "")
    notice = ACCESS_NOTICES.get(info)
    # Sent here from a finalised session's dashboard: its supervisors keep the procès-verbal.
    verbal = None
    if info == "finalisee" and prefill:
        uid, sid = optional_user_id(request) or 0, int(prefill)
        if await services_of(request).db.read(lambda db: reports.verbal_ready(db, sid, uid)):
            verbal = sid
    return await _render(
        request,
        "supervision_access.html",
        private=True,
        prefill=prefill,
        notice=gettext(notice) if notice else "",
        verbal=verbal,
    )


async def supervision_session(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    sid = _session_id(request)
    if sid is None:
        return RedirectResponse("/surveillance?info=acces", status_code=303)
    services = services_of(request)
    uid = optional_user_id(request) or 0
    # The same snapshot the live feed sends first: the page shows it at once, and its script
    # starts from it (its version) instead of from an empty screen.
    try:
        snapshot = await services.db.read(lambda db: supervision.snapshot(db, sid, uid, services.rules))
    except NotAuthenticated:
        return _to_login(request)
    except SessionFinalized:
        return RedirectResponse(f"/surveillance?session={sid}&info=finalisee", status_code=303)
    except DomainError:
        return RedirectResponse(f"/surveillance?session={sid}&info=acces", status_code=303)
    return await _render(request, "supervision_session.html", session_id=sid, private=True, snapshot=snapshot)


async def supervision_help(request: Request) -> Response:
    # The guide's summary: public, it holds nothing about any session.
    return await _render(request, "supervision_help.html")


async def certification(request: Request) -> Response:
    return await _render(request, "certification.html")


async def centre(request: Request) -> Response:
    uid = optional_user_id(request)
    if uid is None:
        return _to_login(request)
    services = services_of(request)
    try:
        listing = await services.db.read(lambda db: centres.listing(db, uid))
    except NotAuthenticated:
        return _to_login(request)
    return await _render(request, "centre.html", private=True, listing=listing)


async def account(request: Request) -> Response:
    return await _render(request, "account.html", private=True)


async def centre_session(request: Request) -> Response:
    if optional_user_id(request) is None:
        return _to_login(request)
    sid = _session_id(request)
    if sid is None:
        return RedirectResponse("/centre", status_code=303)
    services = services_of(request)
    uid = optional_user_id(request) or 0
    try:
        detail = await services.db.read(lambda db: centres.session_detail(db, sid, uid, services.rules))
    except NotAuthenticated:
        return _to_login(request)
    except DomainError as exc:
        # Not a member of its centre, or no such session: the page says so, in its own words.
        response = await _render(request, "centre_session.html", private=True, session_id=sid, refusal=exc.text)
        if response.status_code == 200:
            response.status_code = exc.status
        return response
    return await _render(request, "centre_session.html", private=True, session_id=sid, **detail)


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
