"""Accounts: sign up, log in under the rate limit, change one's password, who am I.

Signing up and logging in open a login session (`logins`) and return its key for the
cookie; a password change ends every other login of the account."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.actions import logins
from app.actions.guards import user_of
from app.actions.rules import Rules
from app.db import Database, Tx
from app.errors import EmailTaken, InvalidCredentials, WrongPassword
from app.hashing import Slot
from app.models import Centre, Membership, User
from app.security import hash_password, verify_password


def create_user(tx: Tx, email: str, password_hash: str, first_name: str, last_name: str) -> User:
    email = email.strip().lower()
    if tx.db.execute(select(col(User.id)).where(col(User.email) == email)).first():
        raise EmailTaken()
    user = User(email=email, password_hash=password_hash, first_name=first_name, last_name=last_name)
    tx.db.add(user)
    try:
        tx.db.flush()
    except IntegrityError:
        raise EmailTaken() from None
    return user


async def signup(
    database: Database, hashes: Slot, email: str, password: str, first_name: str, last_name: str, user_agent: str
) -> tuple[User, str]:
    """The new account, logged in: (user, login key for the cookie)."""
    # The hash runs outside any transaction, on the bounded pool: it is slow on purpose.
    hashed = await hashes.run(lambda: hash_password(password))

    def create(tx: Tx) -> tuple[User, str]:
        user = create_user(tx, email, hashed, first_name, last_name)
        assert user.id is not None
        return user, logins.open_session(tx, user.id, user_agent)

    return await database.write(create)


async def _proved(
    database: Database, rules: Rules, hashes: Slot, key: str, account: ColumnElement[bool], password: str
) -> User | None:
    """The account if `password` is its own, under the rate limit of `key`; None otherwise.
    The caller records the success (`rules.limiter.succeed`) in its own write."""

    def reserve(tx: Tx) -> User | None:
        # Under the account's row lock, count, then record this try as failed until the
        # password proves right: simultaneous tries cannot all pass the count.
        found: User | None = tx.db.execute(select(User).where(account).with_for_update()).scalar()
        rules.limiter.check(tx.db, key)
        rules.limiter.fail(tx.db, key)
        return found

    user = await database.write(reserve)
    # The hash check runs outside any transaction, on the bounded pool: it is slow on purpose.
    stored = user.password_hash if user else None
    ok = await hashes.run(lambda: verify_password(stored, password))
    return user if ok else None


async def login(
    database: Database, rules: Rules, hashes: Slot, email: str, password: str, user_agent: str
) -> tuple[User, str]:
    """(user, login key for the cookie), under the per-account rate limit. `hashes`: a place
    already taken in the hash pool, so a full pool refuses the login before it records a try."""
    key = f"login:{email}"
    user = await _proved(database, rules, hashes, key, col(User.email) == email, password)
    if user is None:
        raise InvalidCredentials()
    uid = user.id
    assert uid is not None

    def welcome(tx: Tx) -> str:
        rules.limiter.succeed(tx.db, key)
        return logins.open_session(tx, uid, user_agent)

    return user, await database.write(welcome)


async def change_password(
    database: Database, rules: Rules, hashes: Slot, login: logins.Login, current: str, new: str
) -> int:
    """Set a new password once the current one is proved; every other login of the account
    ends (whoever else was logged in with the old password). Returns how many ended."""
    # Someone at an unlocked computer must not guess the password either: the same budget
    # as logins, per account.
    key = f"password:{login.user_id}"
    if await _proved(database, rules, hashes, key, col(User.id) == login.user_id, current) is None:
        raise WrongPassword()
    hashed = await hashes.run(lambda: hash_password(new))

    def change(tx: Tx) -> int:
        rules.limiter.succeed(tx.db, key)
        tx.db.execute(update(User).where(col(User.id) == login.user_id).values(password_hash=hashed))
        return logins.end_others(tx, login.user_id, keep=login.session_id)

    return await database.write(change)


def whoami(db: Session, user_id: int) -> tuple[User, list[Centre]]:
    """The user and the centres they are a member of."""
    user = user_of(db, user_id)
    centres = list(
        db.execute(
            select(Centre)
            .join(Membership, col(Membership.centre_id) == col(Centre.id))
            .where(col(Membership.user_id) == user_id)
        ).scalars()
    )
    return user, centres


def set_locale(tx: Tx, user_id: int, locale: str) -> None:
    """Remember the account's language: applied wherever it logs in next (app.middleware.Logins)."""
    tx.db.execute(update(User).where(col(User.id) == user_id).values(locale=locale))
