"""Accounts: sign up, log in under the rate limit, who am I."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.actions.guards import user_of
from app.actions.rules import Rules
from app.db import Database, Tx
from app.errors import EmailTaken, InvalidCredentials
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


async def signup(database: Database, hashes: Slot, email: str, password: str, first_name: str, last_name: str) -> User:
    # The hash runs outside any transaction, on the bounded pool: it is slow on purpose.
    hashed = await hashes.run(lambda: hash_password(password))
    return await database.write(lambda tx: create_user(tx, email, hashed, first_name, last_name))


async def login(database: Database, rules: Rules, hashes: Slot, email: str, password: str) -> User:
    """`hashes`: a place already taken in the hash pool, so a full pool refuses the login
    before it records a try."""
    key = f"login:{email}"

    def reserve(tx: Tx) -> User | None:
        # Under the account's row lock, count, then record this try as failed until the
        # password proves right: simultaneous tries cannot all pass the count.
        found: User | None = tx.db.execute(select(User).where(col(User.email) == email).with_for_update()).scalar()
        rules.limiter.check(tx.db, key)
        rules.limiter.fail(tx.db, key)
        return found

    user = await database.write(reserve)
    # The hash check runs outside any transaction: it is slow on purpose.
    stored = user.password_hash if user else None
    ok = await hashes.run(lambda: verify_password(stored, password))
    if user is None or not ok:
        raise InvalidCredentials()
    await database.write(lambda tx: rules.limiter.succeed(tx.db, key))
    return user


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
