"""Accounts: sign up, log in, log out, who am I, my login sessions, my password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import i18n
from app.actions import accounts, logins
from app.errors import InvalidPayload
from app.http import (
    current_login,
    delete_login_cookie,
    is_text,
    json_body,
    json_response,
    path_id,
    require_login,
    services_of,
    set_lang_cookie,
    set_login_cookie,
    spend_budget,
    text,
    user_id,
)
from app.i18n import N_
from app.models import User
from app.redirects import safe_next
from app.security import password_problem
from app.views import me_view


def user_json(user: User) -> dict[str, object]:
    return dict(me_view(user, [])["user"])


def _lowered_email(body: dict[str, object]) -> str:
    # Lower case can be longer than what was typed ('İ' becomes two characters).
    email = text(body, "email", max_length=254).lower()
    if len(email) > 254:
        raise InvalidPayload("email", N_("254 caractères au maximum."))
    return email


def _password(body: dict[str, object], name: str = "password") -> str:
    password = body.get(name)
    if not isinstance(password, str) or len(password) > 200:
        raise InvalidPayload(name, N_("champ obligatoire."))
    if not is_text(password):
        raise InvalidPayload(name, N_("caractères non autorisés."))
    return password


def _new_password(body: dict[str, object], name: str) -> str:
    password = _password(body, name)
    problem = password_problem(password)
    if problem:
        raise InvalidPayload(name, problem)
    return password


def _email(body: dict[str, object]) -> str:
    email = _lowered_email(body)
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidPayload("email", N_("adresse e-mail invalide."))
    return email


async def signup(request: Request) -> Response:
    await spend_budget(request, "signup")
    body = await json_body(request)
    email = _email(body)
    password = _new_password(body, "password")
    first = text(body, "first_name")
    last = text(body, "last_name")
    agent = request.headers.get("user-agent", "")
    services = services_of(request)
    async with services.hashes.reserve() as slot:
        user, key = await accounts.signup(services.db, slot, email, password, first, last, agent)
    response = json_response({"user": user_json(user), "next": safe_next(body.get("next"))}, 201)
    assert user.id is not None
    set_login_cookie(response, request, user.id, key)
    return response


async def login(request: Request) -> Response:
    await spend_budget(request, "login")
    body = await json_body(request)
    email = _lowered_email(body)
    password = _password(body)
    services = services_of(request)
    agent = request.headers.get("user-agent", "")
    async with services.hashes.reserve() as slot:
        user, key = await accounts.login(services.db, services.rules, slot, email, password, agent)
    response = json_response({"user": user_json(user), "next": safe_next(body.get("next"))})
    assert user.id is not None
    set_login_cookie(response, request, user.id, key)
    if i18n.supported(user.locale):
        # The account's language follows it to this browser, and stays after logging out.
        set_lang_cookie(response, request, str(user.locale))
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
    login_id = path_id(request, "id")
    await services_of(request).db.write(lambda tx: logins.end_session(tx, found, login_id))
    response = Response(status_code=204)
    if login_id == found.session_id:
        delete_login_cookie(response, request)
    return response


async def end_other_sessions(request: Request) -> Response:
    found = require_login(request)
    ended = await services_of(request).db.write(lambda tx: logins.end_others(tx, found.user_id, keep=found.session_id))
    return json_response({"ended": ended})


async def change_password(request: Request) -> Response:
    found = require_login(request)
    body = await json_body(request)
    current = _password(body, "current_password")
    new = _new_password(body, "new_password")
    services = services_of(request)
    async with services.hashes.reserve() as slot:
        ended = await accounts.change_password(services.db, services.rules, slot, found, current, new)
    return json_response({"ended": ended})


async def me(request: Request) -> Response:
    uid = user_id(request)
    user, centres = await services_of(request).db.read(lambda db: accounts.whoami(db, uid))
    return json_response(me_view(user, centres))


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/sessions", my_sessions, methods=["GET"]),
    Route("/api/auth/sessions", end_other_sessions, methods=["DELETE"]),
    Route("/api/auth/sessions/{id}", end_session, methods=["DELETE"]),
    Route("/api/auth/password", change_password, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
]
