"""Hygiene (issue 11, finding 11): nothing a candidate or a supervisor typed reaches the
logs, the demo stays off real databases and has no fixed password, the server bounds its
connections and the time a client may take to send its headers, and /metrics answers
only to the addresses allowed. Real databases and real uvicorn processes."""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from app import logs
from app.db import Tx
from app.models import User
from tests.conftest import ORIGIN
from tests.servers import VENV_BIN, AppProcess

SECRET_EMAIL = "delarue.sophie.2001-07-04@testix.fr"
SECRET_NAME = "Zébulon-Secret"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "surveillance"), *args],
        # Read in French, whatever the developer's terminal speaks.
        env={**os.environ, "LC_ALL": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _count_users(url: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text('SELECT count(*) FROM "user"')).scalar_one())
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ SQL in logs


async def test_sql_parameters_and_driver_details_stay_out_of_logs(app: Starlette) -> None:
    db = app.state.services.db

    def add(tx: Tx) -> None:
        tx.db.add(User(email=SECRET_EMAIL, password_hash="x", first_name=SECRET_NAME, last_name="DELARUE"))
        tx.db.flush()

    await db.write(add)
    with pytest.raises(DBAPIError) as caught:
        await db.write(add)  # the same e-mail again: a unique violation carrying our values
    # The engine hides the bound values from the exception text...
    assert SECRET_NAME not in str(caught.value)
    # ...and what a log line says of an exception names its type and where, never the values
    # (PostgreSQL's DETAIL repeats the e-mail: "Key (email)=(…) already exists").
    for formatter in (logs.JsonFormatter(), logs.PlainFormatter()):
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(formatter)
        logger = logging.getLogger("surveillance.test-hygiene")
        logger.addHandler(handler)
        try:
            logger.error("unhandled error", exc_info=caught.value)
        finally:
            logger.removeHandler(handler)
        line = out.getvalue()
        assert "IntegrityError" in line and "INSERT INTO" in line, line
        assert SECRET_EMAIL not in line and SECRET_NAME not in line and "DELARUE" not in line, line


# --------------------------------------------------------------------------------- the demo


def test_demo_refuses_a_database_that_is_not_sqlite_unless_forced(pg_database: str) -> None:
    from tests.conftest import _truncate

    _truncate(pg_database)
    env = {"DATABASE_URL": pg_database, "SECRET_KEY": "demo-" + "d" * 32}
    refused = _cli(env, "demo")
    assert refused.returncode == 2
    assert "SQLite" in refused.stderr and "--force" in refused.stderr, refused.stderr
    assert _count_users(pg_database) == 0
    forced = _cli(env, "demo", "--force")
    assert forced.returncode == 0, forced.stderr
    assert _count_users(pg_database) == 1


def test_the_demo_account_gets_a_generated_password_shown_once(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "DATA_DIR": str(tmp_path), "LOG_PLAIN": "1"}
    first = _cli(env, "demo")
    assert first.returncode == 0, first.stderr
    found = re.search(r"Mot de passe\s+:\s+(\S+)\s+\(affiché une seule fois\)", first.stdout)
    assert found, first.stdout
    password = found.group(1)
    assert password != "Testix2021" and len(password) >= 12
    again = _cli(env, "demo")
    assert again.returncode == 0 and password not in again.stdout
    assert "--new-password" in again.stdout
    app = AppProcess(env, log_dir=tmp_path).start()
    try:
        with httpx.Client(base_url=app.url, headers={"Origin": app.url}) as c:
            old = c.post("/api/auth/login", json={"email": "surveillant@testix.fr", "password": "Testix2021"})
            assert old.status_code == 401
            ok = c.post("/api/auth/login", json={"email": "surveillant@testix.fr", "password": password})
            assert ok.status_code == 200, ok.text
    finally:
        app.kill()
    renewed = _cli(env, "demo", "--new-password")
    fresh = re.search(r"Mot de passe\s+:\s+(\S+)\s+\(affiché une seule fois\)", renewed.stdout)
    assert fresh and fresh.group(1) != password


# ------------------------------------------------------------------------------- /metrics


def _from(app: Starlette, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 4321)), base_url=ORIGIN)


async def test_metrics_answer_only_allowed_addresses(app: Starlette) -> None:
    for host, status in [("127.0.0.1", 200), ("::1", 200), ("10.0.0.7", 404), ("192.168.1.20", 404), ("8.8.8.8", 404)]:
        async with _from(app, host) as c:
            r = await c.get("/metrics")
            assert r.status_code == status, (host, r.text[:200])
            if status == 404:
                assert r.json()["error"]["code"] == "NOT_FOUND"
                assert "surveillance_" not in r.text


async def test_metrics_allowed_networks_are_configurable(settings_env: dict[str, str]) -> None:
    from app.main import create_app
    from app.settings import ConfigurationError, load_settings

    application = create_app(load_settings({**settings_env, "METRICS_ALLOWED": "10.0.0.0/8, 192.168.1.20"}))
    async with application.router.lifespan_context(application):
        for host, status in [("10.2.3.4", 200), ("192.168.1.20", 200), ("192.168.1.21", 404), ("127.0.0.1", 404)]:
            async with _from(application, host) as c:
                assert (await c.get("/metrics")).status_code == status, host
    with pytest.raises(ConfigurationError, match="METRICS_ALLOWED"):
        load_settings({**settings_env, "METRICS_ALLOWED": "partout"})


# --------------------------------------------------------------------- connections and headers


def _recv_closed(sock: socket.socket, within: float) -> bool:
    """True when the server closes the connection within the delay."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_slow_headers_are_cut_and_connections_are_bounded(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "DATA_DIR": str(tmp_path),
        "HEADER_TIMEOUT_SECONDS": "1",
    }
    app = AppProcess(env, log_dir=tmp_path).start()
    try:
        # Slowloris: a request whose headers never end, and a connection that says nothing.
        dribbling = socket.create_connection(("127.0.0.1", app.port))
        dribbling.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        silent = socket.create_connection(("127.0.0.1", app.port))
        started = time.monotonic()
        assert _recv_closed(dribbling, 5) and _recv_closed(silent, 5)
        assert time.monotonic() - started < 4
        # A normal client is not affected.
        assert httpx.get(app.url + "/healthz").status_code == 200
    finally:
        app.kill()
    env.update(HEADER_TIMEOUT_SECONDS="30", LIMIT_CONCURRENCY="3")
    app = AppProcess(env, log_dir=tmp_path).start()
    try:
        held = [socket.create_connection(("127.0.0.1", app.port)) for _ in range(3)]
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.3)
        r = httpx.get(app.url + "/healthz")
        assert r.status_code == 503
        for s in held:
            s.close()
        time.sleep(0.3)
        assert httpx.get(app.url + "/healthz").status_code == 200
    finally:
        app.kill()
