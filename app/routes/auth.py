"""Accounts: sign up, log in, log out, who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import accounts
from app.errors import InvalidPayload
from app.http import delete_login_cookie, json_body, json_response, services_of, set_login_cookie, text, user_id
from app.models import User
from app.redirects import safe_next
from app.security import password_problem


def user_json(user: User) -> dict[str, object]:
    return {"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name}


def _email(body: dict[str, object]) -> str:
    email = text(body, "email", max_length=254).lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidPayload("email", "adresse e-mail invalide.")
    return email


async def signup(request: Request) -> Response:
    body = await json_body(request)
    email = _email(body)
    password = body.get("password")
    if not isinstance(password, str):
        raise InvalidPayload("password", "champ obligatoire.")
    problem = password_problem(password)
    if problem:
        raise InvalidPayload("password", problem + ".")
    first = text(body, "first_name")
    last = text(body, "last_name")
    user = await accounts.signup(services_of(request).db, email, password, first, last)
    response = json_response({"user": user_json(user), "next": safe_next(body.get("next"))}, 201)
    assert user.id is not None
    set_login_cookie(response, request, user.id)
    return response


async def login(request: Request) -> Response:
    body = await json_body(request)
    email = text(body, "email", max_length=254).lower()
    password = body.get("password")
    if not isinstance(password, str) or len(password) > 200:
        raise InvalidPayload("password", "champ obligatoire.")
    services = services_of(request)
    user = await accounts.login(services.db, services.rules, email, password)
    response = json_response({"user": user_json(user), "next": safe_next(body.get("next"))})
    assert user.id is not None
    set_login_cookie(response, request, user.id)
    return response


async def logout(request: Request) -> Response:
    response = Response(status_code=204)
    delete_login_cookie(response, request)
    return response


async def me(request: Request) -> Response:
    uid = user_id(request)
    user, centres = await services_of(request).db.read(lambda db: accounts.whoami(db, uid))
    return json_response({"user": user_json(user), "centres": [{"id": c.id, "name": c.name} for c in centres]})


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
]
