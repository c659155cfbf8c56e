"""Login sessions: a login is a row, the cookie only names it.

The signed login cookie carries the user id and a random key (secrets.token_urlsafe);
the table keeps the key's SHA-256. Every request with a login cookie costs one lookup by
that hash (a unique index); last_seen_at is written at most once a minute. Deleting the
row (logout, "end my other sessions", a password change) logs that browser out, wherever
the cookie was copied.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlmodel import Session, col

from app.db import Database, Tx
from app.errors import NotFound
from app.models import LoginSession, User, utcnow
from app.security import LOGIN_MAX_AGE, LoginClaim

log = logging.getLogger("surveillance.logins")

LIFETIME = dt.timedelta(seconds=LOGIN_MAX_AGE)
SEEN_EVERY = dt.timedelta(seconds=60)
KEY_BYTES = 32


@dataclass(frozen=True)
class Login:
    user_id: int
    session_id: int
    # The account's chosen language, found in the same lookup (None: never chosen).
    locale: str | None = None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _agent(user_agent: str) -> str:
    # Shown back to its owner in "Mon compte" only; printable and bounded.
    return "".join(ch for ch in user_agent if ch.isprintable())[:200]


def open_session(tx: Tx, user_id: int, user_agent: str) -> str:
    """A new login for this user; returns the key for the cookie (never stored)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    now = utcnow()
    # Forget logins that can no longer be used, this user's and anyone's: the index on
    # expires_at keeps it cheap, and logins are rare next to the other requests.
    tx.db.execute(delete(LoginSession).where(col(LoginSession.expires_at) <= now))
    tx.db.add(
        LoginSession(
            key_hash=key_hash(key),
            user_id=user_id,
            user_agent=_agent(user_agent),
            created_at=now,
            last_seen_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return key


# Built once: every request with a login cookie runs it, and building it cost more than
# running it.
_FIND = (
    select(
        col(LoginSession.id),
        col(LoginSession.user_id),
        col(LoginSession.expires_at),
        col(LoginSession.last_seen_at),
        col(User.locale),
    )
    .join(User, col(User.id) == col(LoginSession.user_id))
    .where(col(LoginSession.key_hash) == bindparam("p_key"))
)


_SEEN = update(LoginSession).where(col(LoginSession.id) == bindparam("p_id")).values(last_seen_at=bindparam("p_now"))


async def authenticate(db: Database, claim: LoginClaim) -> Login | None:
    """The login a verified cookie names, if it still exists, is this user's and has not expired."""
    hashed = key_hash(claim.key)
    row = await db.lookup(lambda conn: conn.execute(_FIND, {"p_key": hashed}).first())
    now = utcnow()
    if row is None or row.user_id != claim.user_id or row.expires_at <= now:
        return None
    if now - row.last_seen_at >= SEEN_EVERY:
        # Only a display value: the request does not wait for it (a round trip and a commit
        # on an action's path), and a busy database must not log anyone out.
        values = {"p_id": row.id, "p_now": now}
        db.aside(lambda tx: tx.conn.execute(_SEEN, values), "last_seen not updated")
    return Login(user_id=row.user_id, session_id=row.id, locale=row.locale)


def list_sessions(db: Session, login: Login) -> list[dict[str, Any]]:
    found = db.execute(
        select(LoginSession)
        .where(col(LoginSession.user_id) == login.user_id, col(LoginSession.expires_at) > utcnow())
        .order_by(col(LoginSession.last_seen_at).desc(), col(LoginSession.id).desc())
    ).scalars()
    return [
        {
            "id": row.id,
            "current": row.id == login.session_id,
            "user_agent": row.user_agent,
            "created_at": row.created_at.isoformat(),
            "last_seen_at": row.last_seen_at.isoformat(),
            "expires_at": row.expires_at.isoformat(),
        }
        for row in found
    ]


def end_session(tx: Tx, login: Login, session_id: int) -> None:
    """End one of this user's logins; another user's is answered like an unknown id."""
    ended = tx.db.execute(
        delete(LoginSession).where(col(LoginSession.id) == session_id, col(LoginSession.user_id) == login.user_id)
    )
    if not getattr(ended, "rowcount", 0):
        raise NotFound()


def end_others(tx: Tx, user_id: int, keep: int | None) -> int:
    """End every login of this user but `keep`; returns how many were ended."""
    query = delete(LoginSession).where(col(LoginSession.user_id) == user_id)
    if keep is not None:
        query = query.where(col(LoginSession.id) != keep)
    return int(getattr(tx.db.execute(query), "rowcount", 0) or 0)


def end_current(tx: Tx, login: Login) -> None:
    tx.db.execute(delete(LoginSession).where(col(LoginSession.id) == login.session_id))


def open_among(db: Session, ids: list[int]) -> set[int]:
    """Which of these logins still exist and have not expired (one lookup for all the
    dashboards of a process; see app/logouts.py)."""
    if not ids:
        return set()
    found = db.execute(
        select(col(LoginSession.id)).where(col(LoginSession.id).in_(ids), col(LoginSession.expires_at) > utcnow())
    ).scalars()
    return set(found)
