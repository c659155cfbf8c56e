"""Accounts: sign up, log in, log out, who am I."""

from __future__ import annotations

import anyio
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import lifecycle
from app.db import Tx
from app.errors import InvalidPayload, refuse
from app.http import json_body, json_response, services, set_login_cookie, text, user_id
from app.models import Centre, Membership, User
from app.security import LOGIN_COOKIE, hash_password, password_problem, verify_password


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
    hashed = await anyio.to_thread.run_sync(hash_password, password)
    s = services(request)
    user = await s.db.write(lambda tx: lifecycle.signup(tx, email, hashed, first, last))
    response = json_response({"user": user_json(user)}, 201)
    assert user.id is not None
    set_login_cookie(response, request, user.id)
    return response


async def login(request: Request) -> Response:
    body = await json_body(request)
    email = text(body, "email", max_length=254).lower()
    password = body.get("password")
    if not isinstance(password, str) or len(password) > 200:
        raise InvalidPayload("password", "champ obligatoire.")
    s = services(request)
    key = f"login:{email}"

    def reserve(tx: Tx) -> User | None:
        # Under the account's row lock, count, then record this try as failed until the
        # password proves right: simultaneous tries cannot all pass the count.
        found: User | None = tx.db.execute(select(User).where(col(User.email) == email).with_for_update()).scalar()
        s.rules.limiter.check(tx.db, key)
        s.rules.limiter.fail(tx.db, key)
        return found

    user = await s.db.write(reserve)
    # The hash check runs outside any transaction: it is slow on purpose.
    ok = await anyio.to_thread.run_sync(verify_password, user.password_hash if user else None, password)
    if user is None or not ok:
        raise refuse(401, "INVALID_CREDENTIALS", "L'adresse e-mail et/ou le mot de passe saisis sont incorrects.")
    await s.db.write(lambda tx: s.rules.limiter.succeed(tx.db, key))
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

    def load(db: Session) -> tuple[User | None, list[Centre]]:
        user = db.get(User, uid)
        centres = list(
            db.execute(
                select(Centre)
                .join(Membership, col(Membership.centre_id) == col(Centre.id))
                .where(col(Membership.user_id) == uid)
            ).scalars()
        )
        return user, centres

    user, centres = await services(request).db.read(load)
    if user is None:
        raise refuse(401, "NOT_AUTHENTICATED", "Vous devez être connecté.")
    return json_response({"user": user_json(user), "centres": [{"id": c.id, "name": c.name} for c in centres]})


routes = [
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
]
