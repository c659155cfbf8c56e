"""Passwords, signed cookies, same-origin checks and the code-entry rate limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from app.errors import TooManyAttempts
from app.i18n import N_
from app.models import Attempt, utcnow

# argon2id, memory-hard; parameters kept moderate so a login costs ~50 ms on 2 cores.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this when the e-mail is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("surveillance-dummy-password-1")

LOGIN_COOKIE = "surveillance_login"
CANDIDATE_COOKIE = "surveillance_candidat"
# Over HTTPS the names carry this prefix: the browser then accepts them only with Secure,
# Path=/ and no Domain, so a sibling subdomain or a plain-HTTP page cannot plant one.
HOST_PREFIX = "__Host-"
LOGIN_MAX_AGE = 14 * 24 * 3600
CANDIDATE_MAX_AGE = 24 * 3600


def cookie_name(base: str, secure: bool) -> str:
    return HOST_PREFIX + base if secure else base


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored or _DUMMY_HASH, password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, as a msgid (translated where it is shown)."""
    if len(password) < 8:
        return N_("le mot de passe doit contenir au moins 8 caractères.")
    if len(password) > 200:
        return N_("le mot de passe est trop long.")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return N_("le mot de passe doit contenir au moins une lettre et un chiffre.")
    return None


@dataclass(frozen=True)
class LoginClaim:
    """What a verified login cookie says: whose, and the key of its login session."""

    user_id: int
    key: str


@dataclass(frozen=True)
class CandidateClaim:
    """Which join a candidate's browser holds: `token` numbers the join (-1: a refused
    join, allowed to listen only), `secret` proves the cookie was issued by that join."""

    candidate_id: int
    session_id: int
    token: int
    secret: str = ""


def new_join_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    """What the database keeps of a join's secret: a stolen backup opens no test."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(stored: str | None, secret: str) -> bool:
    if stored is None:
        return False
    return hmac.compare_digest(stored.encode(), secret_digest(secret).encode())


def claim_proves_join(claim: CandidateClaim, join_token: int, stored_secret: str | None) -> bool:
    """Whether this cookie holds the candidate's newest join. A join made before secrets
    existed (nothing stored) is still honoured by its token alone, until the next join."""
    if claim.token != join_token or claim.token < 1:
        return False
    if stored_secret is None:
        return not claim.secret
    return secret_matches(stored_secret, claim.secret)


class _Verified:
    """Cookie values already verified, with the time they were signed: a candidate's browser
    sends the same cookie with every answer, and checking its signature again (key
    derivation, HMAC, base64, JSON) cost a tenth of the answer's HTTP handling. A value is
    looked up by its exact text, so only what passed the check once is ever found."""

    LIMIT = 8192

    def __init__(self, serializer: URLSafeTimedSerializer) -> None:
        self.serializer = serializer
        self._seen: dict[str, tuple[Any, int]] = {}

    def loads(self, value: str, max_age: int) -> Any:
        found = self._seen.get(value)
        if found is None:
            data, signed = self.serializer.loads(value, max_age=max_age, return_timestamp=True)
            found = (data, int(signed.timestamp()))
            if len(self._seen) >= self.LIMIT:
                self._seen.clear()  # simpler than an LRU, and a miss only costs one check
            self._seen[value] = found
        data, signed_at = found
        age = int(time.time()) - signed_at
        if age > max_age or age < 0:
            raise SignatureExpired("expired")
        return data


class Signer:
    """Signs cookie values with SECRET_KEY; a cookie from another key fails verification."""

    def __init__(self, secret_key: str) -> None:
        self._login = URLSafeTimedSerializer(secret_key, salt="surveillance.login")
        self._candidate = URLSafeTimedSerializer(secret_key, salt="surveillance.candidate")
        self._login_verified = _Verified(self._login)
        self._candidate_verified = _Verified(self._candidate)

    def login(self, user_id: int, key: str) -> str:
        return self._login.dumps({"u": user_id, "s": key})

    def candidate(self, claim: CandidateClaim) -> str:
        data: dict[str, Any] = {"c": claim.candidate_id, "s": claim.session_id, "t": claim.token}
        if claim.secret:
            data["k"] = claim.secret
        return self._candidate.dumps(data)

    def read_login(self, value: str | None) -> LoginClaim | None:
        data = _loads(self._login_verified, value, LOGIN_MAX_AGE)
        if data is None or not isinstance(data.get("u"), int):
            return None
        key = data.get("s")
        # A cookie of the old stateless form (no key) names no login: it opens nothing.
        if not isinstance(key, str) or not 20 <= len(key) <= 100:
            return None
        return LoginClaim(user_id=data["u"], key=key)

    def read_candidate(self, value: str | None) -> CandidateClaim | None:
        data = _loads(self._candidate_verified, value, CANDIDATE_MAX_AGE)
        if data is None:
            return None
        c, s, t, k = data.get("c"), data.get("s"), data.get("t"), data.get("k", "")
        if not (isinstance(c, int) and isinstance(s, int) and isinstance(t, int)):
            return None
        if not isinstance(k, str) or len(k) > 64:
            return None
        return CandidateClaim(candidate_id=c, session_id=s, token=t, secret=k)


def _loads(verified: _Verified, value: str | None, max_age: int) -> dict[str, Any] | None:
    if not value or len(value) > 512:
        return None
    try:
        data = verified.loads(value, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return data if isinstance(data, dict) else None


def own_origins(headers: Mapping[str, str], scheme: str) -> set[str]:
    host = headers.get("host", "")
    forwarded_proto = headers.get("x-forwarded-proto")
    schemes = {scheme, forwarded_proto or scheme}
    # Behind a proxy the browser's scheme may differ from ours; ws/wss map to http/https.
    mapped = {"ws": "http", "wss": "https"}
    return {f"{mapped.get(s, s)}://{host}" for s in schemes if s}


def origin_allowed(headers: Mapping[str, str], scheme: str, allowed: tuple[str, ...]) -> bool:
    """Same-origin check for state changes and websockets: Origin, else Referer."""
    origin = headers.get("origin")
    if not origin:
        referer = headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    origin = origin.rstrip("/")
    return origin in own_origins(headers, scheme) or origin in allowed


def stored_key(key: str) -> str:
    """What the attempts table stores for a key: its digest, 64 characters whatever was
    typed (a 254-character e-mail overflowed the column on PostgreSQL)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class RateLimiter:
    """At most N failed entries per target and window, counted in the database so every
    process shares the count and an attacker gains nothing by spreading addresses."""

    def __init__(self, attempts: int, window_seconds: int) -> None:
        self.attempts = attempts
        self.window = dt.timedelta(seconds=window_seconds)

    def check(self, db: Session, key: str) -> None:
        key = stored_key(key)
        since = utcnow() - self.window
        count, oldest = db.execute(
            select(func.count(col(Attempt.id)), func.min(col(Attempt.at))).where(
                col(Attempt.key) == key, col(Attempt.at) > since
            )
        ).one()
        if count >= self.attempts and oldest is not None:
            retry_at = oldest + self.window
            seconds = max(1, math.ceil((retry_at - utcnow()).total_seconds()))
            minutes = max(1, math.ceil(seconds / 60))
            raise TooManyAttempts(seconds, minutes)

    def fail(self, db: Session, key: str) -> None:
        db.add(Attempt(key=stored_key(key)))
        # Keep the table small: forget what no longer counts.
        db.execute(delete(Attempt).where(col(Attempt.at) < utcnow() - self.window * 2))

    def succeed(self, db: Session, key: str) -> None:
        """Forget one try of this key: the one a right entry recorded before it was judged."""
        key = stored_key(key)
        newest = db.execute(select(func.max(Attempt.id)).where(col(Attempt.key) == key)).scalar()
        if newest is not None:
            db.execute(delete(Attempt).where(col(Attempt.id) == newest))
