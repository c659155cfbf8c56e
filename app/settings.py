"""One typed settings object, read from the environment once and validated at start."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values


class ConfigurationError(Exception):
    """A setting is missing or wrong; the message says which, in French and English."""


# The settings table, Datasette style: every knob, its default and why it exists.
# Environment variables are the upper-case names.
DEFAULTS: dict[str, tuple[Any, str]] = {
    "database_url": (None, "SQLite file in the working folder when unset"),
    "redis_url": (None, "Redis pub/sub across processes; unset: in-process broker"),
    "secret_key": (None, "signs cookies; generated and kept beside the SQLite file when unset"),
    "allowed_origins": ((), "extra origins allowed on state changes and websockets"),
    "data_dir": (".", "where the default SQLite file and generated secret live"),
    "test_minutes": (105, "time limit of a certification test, before extra time"),
    "questions_per_test": (16, "questions drawn for each candidate"),
    "rate_limit_attempts": (5, "failed code entries allowed per target and window"),
    "rate_limit_window_seconds": (300, "window of the code-entry rate limit"),
    "candidate_lease_seconds": (10, "a candidate socket silent this long shows as lost"),
    "supervisor_heartbeat_seconds": (15.0, "server heartbeat on the supervisor socket"),
    "replay_limit": (1000, "past this many missed events a client gets a fresh snapshot"),
    "socket_queue_size": (256, "events buffered per socket before a slow one is closed"),
    "db_pool_size": (20, "database connections (and worker threads) per process"),
    "cookie_secure": (False, "mark cookies Secure (set behind HTTPS)"),
    "ws_deflate": (False, "permessage-deflate on websockets (more memory and CPU per socket)"),
    "log_json": (True, "structured JSON logs"),
}


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    allowed_origins: tuple[str, ...] = ()
    data_dir: Path = Path(".")
    test_minutes: int = 105
    questions_per_test: int = 16
    rate_limit_attempts: int = 5
    rate_limit_window_seconds: int = 300
    candidate_lease_seconds: int = 10
    supervisor_heartbeat_seconds: float = 15.0
    replay_limit: int = 1000
    socket_queue_size: int = 256
    db_pool_size: int = 20
    cookie_secure: bool = False
    ws_deflate: bool = False
    log_json: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def normalise_database_url(url: str) -> str:
    """Accept plain URLs and pick the driver ourselves (psycopg 3 for PostgreSQL)."""
    if url.startswith(("postgres://", "postgresql://")):
        rest = url.split("://", 1)[1]
        return "postgresql+psycopg://" + rest
    if url.startswith("sqlite:") or url.startswith("postgresql+"):
        return url
    raise ConfigurationError(
        f"DATABASE_URL non reconnue : {url!r} (attendu sqlite:///chemin ou postgresql://…) / unsupported DATABASE_URL"
    )


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the environment (and a .env file), fill the defaults, validate."""
    env: dict[str, str] = {}
    if environ is None:
        env.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
        env.update(os.environ)
    else:
        env.update(environ)

    data_dir = Path(env.get("DATA_DIR", "."))
    raw_db = env.get("DATABASE_URL", "").strip()
    database_url = normalise_database_url(raw_db or f"sqlite:///{data_dir / 'surveillance.db'}")
    origins = tuple(o.strip().rstrip("/") for o in env.get("ALLOWED_ORIGINS", "").split(",") if o.strip())

    def number(name: str, default: int) -> int:
        raw = env.get(name.upper())
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ConfigurationError(f"{name.upper()} doit être un nombre entier / must be an integer") from None

    def decimal(name: str, default: float) -> float:
        raw = env.get(name.upper())
        if raw is None or raw == "":
            return default
        try:
            return float(raw)
        except ValueError:
            raise ConfigurationError(f"{name.upper()} doit être un nombre / must be a number") from None

    secret = env.get("SECRET_KEY", "").strip()
    if not secret:
        if not database_url.startswith("sqlite"):
            raise ConfigurationError(
                "SECRET_KEY est obligatoire avec PostgreSQL : tous les processus doivent signer "
                "les cookies avec la même clé. / SECRET_KEY is required with PostgreSQL."
            )
        secret = _secret_beside_sqlite(data_dir)

    settings = Settings(
        database_url=database_url,
        redis_url=env.get("REDIS_URL", "").strip() or None,
        secret_key=secret,
        allowed_origins=origins,
        data_dir=data_dir,
        test_minutes=number("test_minutes", 105),
        questions_per_test=number("questions_per_test", 16),
        rate_limit_attempts=number("rate_limit_attempts", 5),
        rate_limit_window_seconds=number("rate_limit_window_seconds", 300),
        candidate_lease_seconds=number("candidate_lease_seconds", 10),
        supervisor_heartbeat_seconds=decimal("supervisor_heartbeat_seconds", 15.0),
        replay_limit=number("replay_limit", 1000),
        socket_queue_size=number("socket_queue_size", 256),
        db_pool_size=number("db_pool_size", 20),
        cookie_secure=_bool(env.get("COOKIE_SECURE", "")),
        ws_deflate=_bool(env.get("WS_DEFLATE", "")),
        log_json=not _bool(env.get("LOG_PLAIN", "")),
    )
    if overrides:
        settings = settings.with_(**overrides)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if len(settings.secret_key) < 16:
        raise ConfigurationError("SECRET_KEY doit faire au moins 16 caractères / must be ≥ 16 characters")
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError("REDIS_URL doit commencer par redis:// / must start with redis://")
    for origin in settings.allowed_origins:
        parts = urlsplit(origin)
        # An origin is scheme://host[:port]: with a path or without a host it would never match.
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ConfigurationError(f"ALLOWED_ORIGINS : origine invalide {origin!r} / invalid origin")
    if settings.questions_per_test < 1 or settings.test_minutes < 1:
        raise ConfigurationError("Durée et nombre de questions doivent être positifs / must be positive")
    from app.questions import load_bank  # the bank is package data, read once and cached

    bank = len(load_bank())
    if settings.questions_per_test > bank:
        raise ConfigurationError(
            f"QUESTIONS_PER_TEST ({settings.questions_per_test}) dépasse les {bank} questions de la banque / "
            "exceeds the question bank"
        )
    for name in ("rate_limit_attempts", "rate_limit_window_seconds", "db_pool_size", "socket_queue_size"):
        if getattr(settings, name) < 1:
            raise ConfigurationError(f"{name.upper()} doit être au moins 1 / must be at least 1")
    if settings.supervisor_heartbeat_seconds <= 0:
        raise ConfigurationError("SUPERVISOR_HEARTBEAT_SECONDS doit être positif / must be positive")


def _secret_beside_sqlite(data_dir: Path) -> str:
    """One process on SQLite: keep a generated key so cookies survive restarts."""
    path = data_dir / "surveillance.secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written whole to a private file, then linked into place: a second process starting
    # at the same moment either wins the link or reads the complete key, never half of it.
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".surveillance.secret.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_text().strip()
