"""Fixtures against the real app: a real database (SQLite file or the PostgreSQL on
127.0.0.1:5432), the real Starlette app with its lifespan, and HTTP clients."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.applications import Starlette

from app import migrate
from app.actions import centres
from app.main import create_app
from app.settings import Settings, load_settings
from tests import contract

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
ORIGIN = "http://testserver"
TABLES = [
    "session_event",
    "incident_report",
    "alert",
    "answer",
    "supervisor_access",
    "candidate",
    "exam_session",
    "membership",
    "centre",
    "failed_attempt",
    "login_session",
    "user",
]


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    migrate.upgrade(load_settings({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "t" * 32}))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throw-away PostgreSQL database for the run, migrated once."""
    name = f"surveillance_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    migrate.upgrade(load_settings({"DATABASE_URL": url, "SECRET_KEY": "t" * 32}))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(autouse=True)
def event_contract(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: every event it logged, and every websocket message its clients saw,
    matches the schema of app/schema/messages.json (see tests/contract.py)."""
    contract.VIOLATIONS.clear()
    yield
    found = list(contract.VIOLATIONS)
    contract.VIOLATIONS.clear()
    for url in request.node.stash.get(contract.DATABASES, []):
        found += contract.event_log_problems(url)
    if found:
        pytest.fail("websocket contract broken:\n" + "\n".join(found[:20]), pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path, sqlite_template: Path) -> str:
    if backend == "sqlite":
        target = tmp_path / "surveillance.db"
        shutil.copy(sqlite_template, target)
        url = f"sqlite:///{target}"
    else:
        url = request.getfixturevalue("pg_database")
        _truncate(url)
    contract.watch(request.node, url)
    return url


@pytest.fixture
def settings_env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": "secret-" + "k" * 32, "LOG_PLAIN": "1"}


@pytest.fixture
def settings(settings_env: dict[str, str]) -> Settings:
    return load_settings(settings_env)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def make_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=ORIGIN, headers={"Origin": ORIGIN}, timeout=30
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


class World:
    """Builds the people and sessions of a test through the public API (and the CLI's
    domain call for centres, which have no HTTP route)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.services = app.state.services
        self.clients: list[httpx.AsyncClient] = []

    def client(self) -> httpx.AsyncClient:
        c = make_client(self.app)
        self.clients.append(c)
        return c

    async def user(self, email: str, first: str = "Marie", last: str = "Curie") -> httpx.AsyncClient:
        c = self.client()
        r = await c.post(
            "/api/auth/signup", json={"email": email, "password": "motdepasse1", "first_name": first, "last_name": last}
        )
        assert r.status_code == 201, r.text
        return c

    async def centre(self, name: str, admin_email: str) -> int:
        centre = await self.services.db.write(lambda tx: centres.create_centre(tx, name, admin_email))
        return int(centre.id)

    async def session(self, staff: httpx.AsyncClient, centre_id: int, **fields: Any) -> dict[str, Any]:
        body = {"address": "Centre de Testix", "room": "Salle 3", "examiner": "Surveillant Test", "date": "2021-12-28", "time": "11:00"}
        body.update(fields)
        r = await staff.post(f"/api/centres/{centre_id}/sessions", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json()["session"])

    async def close(self) -> None:
        for c in self.clients:
            await c.aclose()


@pytest.fixture
async def world(app: Starlette) -> AsyncIterator[World]:
    w = World(app)
    yield w
    await w.close()


def digest(app: Starlette, exclude: tuple[str, ...] = ("failed_attempt", "login_session")) -> str:
    """A fingerprint of every row of every table: equal before and after means nothing changed.
    Login sessions are left out by default: their last_seen_at moves on reads."""
    engine = app.state.services.db.engine
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table in TABLES:
            if table in exclude:
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')).all()
            h.update(f"{table}:{rows!r}".encode())
    return h.hexdigest()


async def event_log(app: Starlette, session_id: int) -> list[tuple[int, str, str | None, int | None]]:
    engine = app.state.services.db.engine
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT version, type, actor_name, candidate_id FROM session_event WHERE session_id = :s ORDER BY version"),
            {"s": session_id},
        ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]
