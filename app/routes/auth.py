"""Accounts: sign up, log in, log out, who am I, my login sessions, my password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import accounts, logins
from app.errors import InvalidPayload
from app.http import (
    current_login,
    delete_login_cookie,
    json_body,
    json_response,
    path_id,
    require_login,
    services_of,
    set_login_cookie,
    text,
    user_id,
)
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


def _new_password(body: dict[str, object], name: str) -> str:
    password = body.get(name)
    if not isinstance(password, str):
        raise InvalidPayload(name, "champ obligatoire.")
    problem = password_problem(password)
    if problem:
        raise InvalidPayload(name, problem + ".")
    return password


async def signup(request: Request) -> Response:
    body = await json_body(request)
    email = _email(body)
    password = _new_password(body, "password")
    first = text(body, "first_name")
    last = text(body, "last_name")
    agent = request.headers.get("user-agent", "")
    user, key = await accounts.signup(services_of(request).db, email, password, first, last, agent)
    response = json_response({"user": user_json(user), "next": safe_next(body.get("next"))}, 201)
    assert user.id is not None
    set_login_cookie(response, request, user.id, key)
    return response


async def login(request: Request) -> Response:
    body = await json_body(request)
    email = text(body, "email", max_length=254).lower()
    password = body.get("password")
    if not isinstance(password, str) or len(password) > 200:
        raise InvalidPayload("password", "champ obligatoire.")
    services = services_of(request)
    agent = request.headers.get("user-agent", "")
    user, key = await accounts.login(services.db, services.rules, email, password, agent)
    response = json_response({"user": user_json(user), "next": safe_next(body.get("next"))})
    assert user.id is not None
    set_login_cookie(response, request, user.id, key)
    return response


async def logout(request: Request) -> Response:
    found = current_login(request)
    if found is not None:
        # The row goes: a copy of this cookie elsewhere stops working too.
        await services_of(request).db.write(lambda tx: logins.end_current(tx, found))
    response = Response(status_code=204)
    delete_login_cookie(response, request)
    return response


async def my_sessions(request: Request) -> Response:
    found = require_login(request)
    sessions = await services_of(request).db.read(lambda db: logins.list_sessions(db, found))
    return json_response({"sessions": sessions})


async def end_session(request: Request) -> Response:
    found = require_login(request)
    sid = path_id(request, "id")
    await services_of(request).db.write(lambda tx: logins.end_session(tx, found, sid))
    response = Response(status_code=204)
    if sid == found.session_id:
        delete_login_cookie(response, request)
    return response


async def end_other_sessions(request: Request) -> Response:
    found = require_login(request)
    ended = await services_of(request).db.write(lambda tx: logins.end_others(tx, found.user_id, keep=found.session_id))
    return json_response({"ended": ended})


async def change_password(request: Request) -> Response:
    found = require_login(request)
    body = await json_body(request)
    current = body.get("current_password")
    if not isinstance(current, str) or not current or len(current) > 200:
        raise InvalidPayload("current_password", "champ obligatoire.")
    new = _new_password(body, "new_password")
    services = services_of(request)
    ended = await accounts.change_password(services.db, services.rules, found, current, new)
    return json_response({"ended": ended})


async def me(request: Request) -> Response:
    uid = user_id(request)
    user, centres = await services_of(request).db.read(lambda db: accounts.whoami(db, uid))
    return json_response({"user": user_json(user), "centres": [{"id": c.id, "name": c.name} for c in centres]})


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/auth/sessions", my_sessions, methods=["GET"]),
    Route("/api/auth/sessions", end_other_sessions, methods=["DELETE"]),
    Route("/api/auth/sessions/{id}", end_session, methods=["DELETE"]),
    Route("/api/auth/password", change_password, methods=["POST"]),
]
