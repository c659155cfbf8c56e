"""Accounts: sign up, log in, log out, who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import accounts
from app.errors import InvalidPayload
from app.http import is_text, json_body, json_response, services_of, set_login_cookie, spend_budget, text, user_id
from app.models import User
from app.security import LOGIN_COOKIE, password_problem
from app.views import me_view


def user_json(user: User) -> dict[str, object]:
    return dict(me_view(user, [])["user"])


def _lowered_email(body: dict[str, object]) -> str:
    # Lower case can be longer than what was typed ('İ' becomes two characters).
    email = text(body, "email", max_length=254).lower()
    if len(email) > 254:
        raise InvalidPayload("email", "254 caractères au maximum.")
    return email


def _password(body: dict[str, object]) -> str:
    password = body.get("password")
    if not isinstance(password, str) or len(password) > 200:
        raise InvalidPayload("password", "champ obligatoire.")
    if not is_text(password):
        raise InvalidPayload("password", "caractères non autorisés.")
    return password


def _email(body: dict[str, object]) -> str:
    email = _lowered_email(body)
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidPayload("email", "adresse e-mail invalide.")
    return email


async def signup(request: Request) -> Response:
    await spend_budget(request, "signup")
    body = await json_body(request)
    email = _email(body)
    password = _password(body)
    problem = password_problem(password)
    if problem:
        raise InvalidPayload("password", problem + ".")
    first = text(body, "first_name")
    last = text(body, "last_name")
    services = services_of(request)
    async with services.hashes.reserve() as slot:
        user = await accounts.signup(services.db, slot, email, password, first, last)
    response = json_response({"user": user_json(user)}, 201)
    assert user.id is not None
    set_login_cookie(response, request, user.id)
    return response


async def login(request: Request) -> Response:
    await spend_budget(request, "login")
    body = await json_body(request)
    email = _lowered_email(body)
    password = _password(body)
    services = services_of(request)
    async with services.hashes.reserve() as slot:
        user = await accounts.login(services.db, services.rules, slot, email, password)
    response = json_response({"user": user_json(user)})
    assert user.id is not None
    set_login_cookie(response, request, user.id)
    return response


async def logout(request: Request) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(LOGIN_COOKIE, httponly=True, samesite="lax")
    return response


async def me(request: Request) -> Response:
    uid = user_id(request)
    user, centres = await services_of(request).db.read(lambda db: accounts.whoami(db, uid))
    return json_response(me_view(user, centres))


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
]
