"""Revocable logins (issue 11, finding 9): a login is a row on the server, the cookie only
names it; logging out, ending a session from "Mon compte" or changing the password ends it
everywhere, so a copied cookie stops working. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, text
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.security import LOGIN_COOKIE
from tests.conftest import ORIGIN, World, digest, make_client
from tests.integration.conftest import Cluster, _close, plan_day, sqlite_process
from tests.live import cookie_header

PASSWORD = "motdepasse1"


def stolen(app: Starlette, original: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser holding a copy of the cookie."""
    c = make_client(app)
    c.cookies.set(LOGIN_COOKIE, original.cookies[LOGIN_COOKIE])
    return c


async def login(world: World, email: str, agent: str, password: str = PASSWORD) -> httpx.AsyncClient:
    c = world.client()
    r = await c.post("/api/auth/login", json={"email": email, "password": password}, headers={"User-Agent": agent})
    assert r.status_code == 200, r.text
    return c


def rows(app: Starlette, sql: str, **params: Any) -> list[Any]:
    with app.state.services.db.engine.begin() as conn:
        return list(conn.execute(text(sql), params).all())


@contextmanager
def statements(app: Starlette) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = app.state.services.db.engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_logout_ends_a_copied_cookie_too(world: World) -> None:
    marie = await world.user("marie@testix.fr")
    async with stolen(world.app, marie) as thief:
        assert (await thief.get("/api/me")).status_code == 200
        r = await marie.post("/api/auth/logout")
        assert r.status_code == 204
        assert (await thief.get("/api/me")).status_code == 401
        r = await thief.get("/api/me")
        assert r.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert (await marie.get("/api/me")).status_code == 401
    assert rows(world.app, "SELECT id FROM login_session") == []


async def test_my_sessions_are_listed_and_can_be_ended(world: World) -> None:
    await world.user("marie@testix.fr")
    laptop = await login(world, "marie@testix.fr", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    phone = await login(world, "marie@testix.fr", "Mozilla/5.0 (iPhone) Safari/604.1")
    tablet = await login(world, "marie@testix.fr", "Mozilla/5.0 (iPad) Safari/604.1")
    pierre = await world.user("pierre@testix.fr")
    r = await laptop.get("/api/auth/sessions")
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    sessions = r.json()["sessions"]
    assert len(sessions) == 4  # sign-up, then three logins
    current = [s for s in sessions if s["current"]]
    assert len(current) == 1 and "Firefox" in current[0]["user_agent"]
    assert {"id", "created_at", "last_seen_at", "expires_at", "user_agent", "current"} <= set(current[0])
    phone_id = next(s["id"] for s in sessions if "iPhone" in s["user_agent"])
    # Someone else cannot end it, nor see it: answered like an unknown id.
    before = digest(world.app, exclude=("failed_attempt",))
    r = await pierre.delete(f"/api/auth/sessions/{phone_id}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    assert digest(world.app, exclude=("failed_attempt",)) == before
    assert all("iPhone" not in s["user_agent"] for s in (await pierre.get("/api/auth/sessions")).json()["sessions"])
    for bad in ("0", "abc", "99999999999999", str(2**31)):
        assert (await laptop.delete(f"/api/auth/sessions/{bad}")).status_code == 404
    # The owner ends the phone's session: the phone is logged out, the others stay.
    assert (await laptop.delete(f"/api/auth/sessions/{phone_id}")).status_code == 204
    assert (await phone.get("/api/me")).status_code == 401
    assert (await tablet.get("/api/me")).status_code == 200
    # "End my other sessions": everything but this browser.
    r = await laptop.delete("/api/auth/sessions")
    assert r.status_code == 200 and r.json() == {"ended": 2}
    assert (await tablet.get("/api/me")).status_code == 401
    assert (await laptop.get("/api/me")).status_code == 200
    assert (await pierre.get("/api/me")).status_code == 200
    assert [s["current"] for s in (await laptop.get("/api/auth/sessions")).json()["sessions"]] == [True]
    # Ending one's own current session is a logout.
    own = (await laptop.get("/api/auth/sessions")).json()["sessions"][0]["id"]
    assert (await laptop.delete(f"/api/auth/sessions/{own}")).status_code == 204
    assert (await laptop.get("/api/me")).status_code == 401
    assert (await world.client().get("/api/auth/sessions")).status_code == 401


async def test_a_password_change_ends_every_other_session(world: World) -> None:
    marie = await world.user("marie@testix.fr")
    other = await login(world, "marie@testix.fr", "Autre navigateur")
    before = digest(world.app)
    wrong = await marie.post("/api/auth/password", json={"current_password": "mauvais1", "new_password": "Nouveau-mot2"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "WRONG_PASSWORD"
    assert "mot de passe actuel" in wrong.json()["error"]["message"]
    weak = await marie.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "court"})
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"
    missing = await marie.post("/api/auth/password", json={"new_password": "Nouveau-mot2"})
    assert missing.status_code == 422
    assert digest(world.app) == before
    assert (await world.client().post("/api/auth/password", json={})).status_code == 401
    r = await marie.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "Nouveau-mot2"})
    assert r.status_code == 200 and r.json() == {"ended": 1}
    assert (await other.get("/api/me")).status_code == 401
    assert (await marie.get("/api/me")).status_code == 200
    c = world.client()
    assert (await c.post("/api/auth/login", json={"email": "marie@testix.fr", "password": PASSWORD})).status_code == 401
    assert (await c.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "Nouveau-mot2"})).status_code == 200


async def test_guessing_the_current_password_is_limited(world: World) -> None:
    marie = await world.user("marie@testix.fr")
    for n in range(5):
        r = await marie.post("/api/auth/password", json={"current_password": f"mauvais{n}", "new_password": "Nouveau-mot2"})
        assert r.status_code == 403
    r = await marie.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "Nouveau-mot2"})
    assert r.status_code == 429 and "Retry-After" in r.headers


async def test_the_server_keeps_only_a_hash_of_the_login_key(world: World, settings_env: dict[str, str]) -> None:
    marie = await world.user("marie@testix.fr")
    serializer = URLSafeTimedSerializer(settings_env["SECRET_KEY"], salt="surveillance.login")
    claim = serializer.loads(marie.cookies[LOGIN_COOKIE])
    key = claim["s"]
    assert isinstance(key, str) and len(key) >= 40
    (stored,) = rows(world.app, "SELECT key_hash FROM login_session")
    assert stored[0] == hashlib.sha256(key.encode()).hexdigest() and key not in stored[0]
    # Someone who reads the table cannot log in with what they read.
    forged = serializer.dumps({"u": claim["u"], "s": stored[0]})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=ORIGIN, cookies={LOGIN_COOKIE: forged}) as c:
        assert (await c.get("/api/me")).status_code == 401
    # Nor can another account re-sign this key under its own id (the row names its user).
    pierre = await world.user("pierre@testix.fr")
    pierre_id = (await pierre.get("/api/me")).json()["user"]["id"]
    swapped = serializer.dumps({"u": pierre_id, "s": key})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=ORIGIN, cookies={LOGIN_COOKIE: swapped}) as c:
        assert (await c.get("/api/me")).status_code == 401
    # A cookie of the old stateless form (no key at all) opens nothing.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app), base_url=ORIGIN, cookies={LOGIN_COOKIE: serializer.dumps({"u": claim["u"]})}
    ) as c:
        assert (await c.get("/api/me")).status_code == 401


async def test_an_expired_login_session_opens_nothing(world: World) -> None:
    marie = await world.user("marie@testix.fr")
    assert (await marie.get("/api/me")).status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    rows(world.app, "UPDATE login_session SET expires_at = :t RETURNING id", t=past)
    assert (await marie.get("/api/me")).status_code == 401
    assert (await marie.get("/centre", follow_redirects=False)).status_code == 303


@pytest.mark.parametrize("stale", [False, True])
async def test_one_indexed_lookup_per_request_and_last_seen_once_a_minute(world: World, stale: bool) -> None:
    """A request looks its login up with one SELECT; once a minute it also notes the login's
    last activity, with a write set aside that the request does not wait for."""
    marie = await world.user("marie@testix.fr")
    if stale:
        rows(world.app, "UPDATE login_session SET last_seen_at = :t RETURNING id", t=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61))
    (before,) = rows(world.app, "SELECT last_seen_at FROM login_session")
    with statements(world.app) as seen:
        assert (await marie.get("/api/me")).status_code == 200
        # The note of a stale login is written aside: the request does not wait for it.
        await world.app.state.services.db.settle()
    touching = [s for s in seen if "login_session" in s]
    assert len([s for s in touching if s.startswith("SELECT")]) == 1, touching
    assert "WHERE login_session.key_hash = " in touching[0]
    updates = [s for s in touching if s.startswith("UPDATE")]
    assert len(updates) == (1 if stale else 0), touching
    (after,) = rows(world.app, "SELECT last_seen_at FROM login_session")
    assert (after[0] != before[0]) is stale
    # Static files are not looked up at all.
    with statements(world.app) as seen:
        assert (await marie.get("/static/js/api.js")).status_code == 200
    assert not [s for s in seen if "login_session" in s]


PASSWORD_BODIES: list[tuple[str, bytes, str]] = [
    ("empty", b"{}", "current_password"),
    ("null", b'{"current_password": null, "new_password": "Nouveau-mot2"}', "current_password"),
    ("number", b'{"current_password": 12345678, "new_password": "Nouveau-mot2"}', "current_password"),
    ("list", b'{"current_password": ["motdepasse1"], "new_password": "Nouveau-mot2"}', "current_password"),
    ("bool-new", b'{"current_password": "motdepasse1", "new_password": true}', "new_password"),
    ("object-new", b'{"current_password": "motdepasse1", "new_password": {"a": 1}}', "new_password"),
    ("long-current", b'{"current_password": "' + b"a1" * 101 + b'", "new_password": "Nouveau-mot2"}', "current_password"),
    ("long-new", b'{"current_password": "motdepasse1", "new_password": "' + b"a1" * 101 + b'"}', "new_password"),
    ("no-digit", b'{"current_password": "motdepasse1", "new_password": "seulementdeslettres"}', "new_password"),
    ("short", b'{"current_password": "motdepasse1", "new_password": "a1"}', "new_password"),
    ("not-json", b"current_password=motdepasse1", ""),
    ("array", b'["motdepasse1", "Nouveau-mot2"]', ""),
    ("broken-utf8", b'{"current_password": "\xff\xfe", "new_password": "Nouveau-mot2"}', ""),
]


async def test_bad_password_changes_are_refused_and_change_nothing(world: World) -> None:
    marie = await world.user("marie@testix.fr")
    other = await login(world, "marie@testix.fr", "Autre navigateur")
    before = digest(world.app, exclude=("failed_attempt",))
    for label, raw, field in PASSWORD_BODIES:
        r = await marie.post("/api/auth/password", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (label, r.status_code, r.text)
        error = r.json()["error"]
        assert error["code"] == "INVALID_PAYLOAD" and error["message"], label
        if field:
            assert r.json()["field"] == field, (label, r.json())
    # Ids that are not ids, on both ending routes: answered like an unknown id.
    for bad in ("-1", "1.5", "%00", "１", "²", "1e3", "0x10", " 1"):
        r = await marie.delete(f"/api/auth/sessions/{bad}")
        assert r.status_code in (404, 405), (bad, r.status_code)
        assert r.headers["content-type"].startswith("application/json")
    assert digest(world.app, exclude=("failed_attempt",)) == before
    assert (await other.get("/api/me")).status_code == 200


# ------------------------------------------------------------------- open supervisor sockets


@pytest.fixture
def single(tmp_path: Path, sqlite_template: Path) -> Iterator[Cluster]:
    """One real process; open sockets recheck their login every second."""
    with sqlite_process(tmp_path, sqlite_template, LOGIN_RECHECK_SECONDS="1") as cluster:
        yield cluster


async def closed_within(ws: Any, seconds: float) -> bool:
    """Reads (heartbeats, events) until the server closes the socket, or the delay passes."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


async def test_an_open_dashboard_closes_when_its_login_ends(single: Cluster) -> None:
    day = await plan_day(single, candidates=1)
    app = single.a
    live = f"{app.ws_url}/api/supervision/sessions/{day.session['id']}/live"
    pierre = single.login_to(day.pierre, app)
    thief = single.login_to(day.marie, app)  # a copy of Marie's cookie
    async with (
        connect(live, origin=app.url, additional_headers={"Cookie": cookie_header(thief)}) as stolen,
        connect(live, origin=app.url, additional_headers={"Cookie": cookie_header(pierre)}) as other,
    ):
        assert json.loads(await asyncio.wait_for(stolen.recv(), 5))["type"] == "snapshot"
        assert json.loads(await asyncio.wait_for(other.recv(), 5))["type"] == "snapshot"
        assert (await day.marie.post("/api/auth/logout")).status_code == 204
        started = time.monotonic()
        assert await closed_within(stolen, 6), "the copied cookie's dashboard stayed open"
        assert stolen.close_code == 4401 and "déconnecté" in (stolen.close_reason or "")
        assert time.monotonic() - started < 4
        # Another login's dashboard stays open and keeps hearing the session.
        await asyncio.sleep(1.5)
        assert other.close_code is None
        message = json.loads(await asyncio.wait_for(other.recv(), 20))
        assert message["type"] in ("heartbeat", "event")
    await _close(single)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_login_lookup_is_one_statement_outside_a_transaction(app: Starlette) -> None:
    """Every request with a login cookie looks its login up: on PostgreSQL that one SELECT
    runs without BEGIN and ROLLBACK around it (a third of the round trips), where a read
    that may hold several statements keeps its transaction."""
    from psycopg import pq
    from sqlalchemy.engine import Connection

    db = app.state.services.db

    def status(conn: Connection) -> pq.TransactionStatus:
        conn.execute(text("SELECT 1"))
        return conn.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]

    assert await db.lookup(status) == pq.TransactionStatus.IDLE
    assert await db.read(lambda session: status(session.connection())) == pq.TransactionStatus.INTRANS


async def test_a_request_does_not_wait_for_the_note_of_its_login(world: World) -> None:
    """The note is written after the answer: while another transaction holds the login's row,
    the request is answered, and the note lands once the row is free."""
    marie = await world.user("marie@testix.fr")
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61)
    rows(world.app, "UPDATE login_session SET last_seen_at = :t RETURNING id", t=stale)
    db = world.app.state.services.db
    held = asyncio.Event()
    release = asyncio.Event()

    def hold(tx: Any) -> None:
        tx.conn.execute(text("UPDATE login_session SET user_agent = user_agent"))
        loop.call_soon_threadsafe(held.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)

    loop = asyncio.get_running_loop()
    holder = asyncio.create_task(db.write(hold))
    await held.wait()
    r = await asyncio.wait_for(marie.get("/api/me"), timeout=5)
    assert r.status_code == 200
    (during,) = rows(world.app, "SELECT last_seen_at FROM login_session")
    release.set()
    await holder
    await db.settle()
    (after,) = rows(world.app, "SELECT last_seen_at FROM login_session")
    as_utc = [t if isinstance(t, dt.datetime) else dt.datetime.fromisoformat(str(t)) for t in (during[0], after[0])]
    as_utc = [t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in as_utc]
    assert abs(as_utc[0] - stale) < dt.timedelta(seconds=1)
    assert as_utc[1] > stale + dt.timedelta(seconds=30)
