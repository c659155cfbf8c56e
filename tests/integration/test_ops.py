"""What an operator relies on, against a real `surveillance serve` process: health and
readiness (with Redis stopped, PostgreSQL connections killed, the database cut off behind a
TCP relay), Prometheus metrics, JSON logs with request ids and supervisor actions, the
configuration checked at start, and the deployment files (compose, nginx) valid."""

from __future__ import annotations

import concurrent.futures
import contextlib
import gzip
import http.server
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import brotli
import httpx
import psycopg
import pytest
import yaml
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin

from app.settings import load_settings
from realtime.sentinel import parse_sentinel_url
from tests.conftest import PG_ADMIN_URL, _pg_url
from tests.live import Candidate, SupervisorFeed
from tests.servers import ROOT, VENV_BIN, PostgresServer, RedisProcess, free_port, postgres_bindir

pytestmark = pytest.mark.slow

PASSWORD = "motdepasse1"
SECRET = "ops-tests-" + "o" * 32


class TcpProxy:
    """A real TCP relay in front of PostgreSQL. `cut()` drops every connection through it and
    refuses new ones, as a dead network or database host would; `restore()` listens again on
    the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def url(self, database_url: str) -> str:
        """The same database, reached through the relay."""
        parts = urlsplit(database_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = (credentials + "@" if credentials else "") + f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the accept() blocked in the other thread; close() alone may not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            dropped, self._open = self._open, set()
        for s in dropped:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.start()


class JsonLoggingApp:
    """`surveillance serve` with its default JSON logs captured in a file
    (tests.servers.AppProcess asks for plain logs)."""

    def __init__(self, env: dict[str, str], log: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.env = env
        self.log = log
        self.host = host
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> JsonLoggingApp:
        env = {k: v for k, v in {**os.environ, **self.env}.items() if k != "LOG_PLAIN"}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "surveillance"), "serve", "--host", self.host, "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            assert time.monotonic() < deadline, "app not ready"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@dataclass
class Stack:
    app: JsonLoggingApp
    redis: RedisProcess
    proxy: TcpProxy
    direct_url: str  # the same database, not through the relay
    env: dict[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    name = f"surveillance_ops_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    pg = urlsplit(PG_ADMIN_URL)
    proxy = TcpProxy((pg.hostname or "127.0.0.1", pg.port or 5432)).start()
    redis = RedisProcess().start()
    env = {
        "DATABASE_URL": proxy.url(_pg_url(name)),
        "REDIS_URL": redis.url,
        "SECRET_KEY": SECRET,
        "SUPERVISOR_HEARTBEAT_SECONDS": "1",
    }
    app = JsonLoggingApp(env, tmp_path_factory.mktemp("ops") / "app.log")
    made = Stack(app, redis, proxy, _pg_url(name), env)
    try:
        app.start()
        yield made
    finally:
        app.stop()
        redis.stop()
        made.redis.stop()  # the Redis a test restarted in place of the first, if any
        proxy.cut()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def readyz(stack: Stack) -> httpx.Response:
    return httpx.get(stack.app.url + "/readyz", timeout=10)


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@dataclass
class Day:
    session: dict[str, Any]
    marie: httpx.AsyncClient
    marie_id: int
    ids: list[int]


async def plan_day(stack: Stack, clients: list[httpx.AsyncClient]) -> Day:
    url = stack.app.url
    tag = uuid.uuid4().hex[:6]

    async def signup(email: str) -> httpx.AsyncClient:
        c = httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=20)
        clients.append(c)
        r = await c.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD, "first_name": "Op", "last_name": "Test"}
        )
        assert r.status_code == 201, r.text
        return c

    staff = await signup(f"staff-{tag}@testix.fr")
    subprocess.run(
        [str(VENV_BIN / "surveillance"), "centre", "create", f"Centre {tag}", "--admin", f"staff-{tag}@testix.fr"],
        env={**os.environ, **stack.env, "DATABASE_URL": stack.direct_url},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    centre = (await staff.get("/api/me")).json()["centres"][0]["id"]
    body = {"address": "Centre", "room": "Salle 3", "examiner": "M. Test", "date": "2021-12-28", "time": "11:00"}
    session = (await staff.post(f"/api/centres/{centre}/sessions", json=body)).json()["session"]
    for i in range(2):
        r = await staff.post(
            f"/api/sessions/{session['id']}/candidates",
            json={"last_name": f"CANDIDAT{i:03d}", "first_name": f"Prenom{i}", "birthdate": "2000-01-01"},
        )
        assert r.status_code == 201, r.text
    ids = [c["id"] for c in (await staff.get(f"/api/sessions/{session['id']}")).json()["candidates"]]
    marie = await signup(f"marie-{tag}@testix.fr")
    r = await marie.post(
        "/api/supervision/access",
        json={"session_id": session["id"], "supervisor_password": session["supervisor_password"]},
    )
    assert r.status_code == 204, r.text
    return Day(session, marie, (await marie.get("/api/me")).json()["user"]["id"], ids)


# ------------------------------------------------------------------- health and readiness


def test_healthz_and_readyz(stack: Stack) -> None:
    r = httpx.get(stack.app.url + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = readyz(stack)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


# ------------------------------------------------------------------------------ metrics

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_prometheus(text: str) -> dict[str, float]:
    """The text exposition format, checked line by line: HELP and TYPE before each family's
    samples, every sample well-formed. Returns {"name{labels}": value}."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helped: set[str] = set()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}
            assert name in helped and name not in types, line
            types[name] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"malformed sample: {line!r}"
            name = m[1]
            family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
            assert family in types, f"sample before its TYPE: {line!r}"
            value = float(m[3])
            assert not math.isnan(value)
            key = name + (m[2] or "")
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = value
    return samples


async def test_metrics_count_sockets_events_and_fanout_latency(stack: Stack) -> None:
    clients: list[httpx.AsyncClient] = []
    day = await plan_day(stack, clients)
    url, ws = stack.app.url, stack.app.url.replace("http", "ws")

    def metrics() -> dict[str, float]:
        r = httpx.get(url + "/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        return parse_prometheus(r.text)

    before = metrics()
    assert before['surveillance_sockets_open{kind="supervisor"}'] == 0
    assert before['surveillance_sockets_open{kind="candidate"}'] == 0

    feed = await SupervisorFeed.open(ws, day.session["id"], day.marie, url)
    sid, cid = day.session["id"], day.ids[0]
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    assert r.status_code == 200
    paul = Candidate(url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    assert (await paul.join()).status_code == 200
    await paul.connect(ws)
    await feed.wait(lambda f: f.candidates[cid]["connection"] == "connected")

    # A delivery's latency is recorded once its frame is written, which may be just after
    # the client read it: wait for the second one rather than read the counter too soon.
    until(lambda: metrics()["surveillance_fanout_latency_seconds_count"] >= 2, 5, "fan-out latency not recorded")
    during = metrics()
    assert during['surveillance_sockets_open{kind="supervisor"}'] == 1
    assert during['surveillance_sockets_open{kind="candidate"}'] == 1
    published = during["surveillance_events_published_total"] - before["surveillance_events_published_total"]
    assert published >= 2  # the presence, the candidate's connection (and the supervisor coming online)
    count = during["surveillance_fanout_latency_seconds_count"]
    assert count >= 2 and count > before["surveillance_fanout_latency_seconds_count"]
    buckets = sorted(
        (float(k.split('le="')[1].rstrip('"}')), v)
        for k, v in during.items()
        if k.startswith("surveillance_fanout_latency_seconds_bucket")
    )
    assert buckets[-1] == (math.inf, count)
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    assert 0 <= during["surveillance_fanout_latency_seconds_sum"] < count * 5

    await feed.close()
    await paul.close()
    until(
        lambda: (
            metrics()['surveillance_sockets_open{kind="supervisor"}'] == 0
            and metrics()['surveillance_sockets_open{kind="candidate"}'] == 0
        ),
        5,
        "sockets still counted after they closed",
    )
    for c in clients:
        await c.aclose()


# --------------------------------------------------------------------------------- logs


async def test_json_logs_with_request_ids_and_supervisor_actions(stack: Stack) -> None:
    clients: list[httpx.AsyncClient] = []
    day = await plan_day(stack, clients)
    sid, cid = day.session["id"], day.ids[1]
    base = f"/api/supervision/sessions/{sid}/candidates/{cid}"

    # A caller's id is echoed and logged; a missing or malformed one is replaced.
    r = await day.marie.post(base + "/presence", json={"authorized": True}, headers={"X-Request-Id": "ops-presence-1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "ops-presence-1"
    r = await day.marie.post(base + "/end-test", headers={"X-Request-Id": "ops-end-1"})
    assert r.status_code == 409  # not started: refused, and logged as a request
    r = await day.marie.post(
        base + "/presence", json={"authorized": False}, headers={"X-Request-Id": 'bad id/"x"' + "y" * 80}
    )
    generated = r.headers["x-request-id"]
    assert r.status_code == 200 and re.fullmatch(r"[0-9a-f]{16}", generated)
    assert re.fullmatch(r"[0-9a-f]{16}", (await day.marie.get("/api/me")).headers["x-request-id"])

    lines = stack.app.lines()  # every line of the process's output is one JSON object
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error", "critical"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]) for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's own lines too

    def by_request(rid: str) -> list[dict[str, Any]]:
        return [line for line in lines if line.get("request_id") == rid]

    confirm = by_request("ops-presence-1")
    assert {
        "logger": "surveillance.supervision",
        "action": "confirm_presence",
        "session_id": sid,
        "candidate_id": cid,
        "actor": day.marie_id,
    }.items() <= next(line for line in confirm if line["message"] == "supervisor action").items()
    request = next(line for line in confirm if line["message"] == "request")
    assert request["method"] == "POST" and request["path"] == base + "/presence" and request["status"] == 200
    assert isinstance(request["duration_ms"], int | float)
    refused = by_request("ops-end-1")
    assert [(line["message"], line["status"]) for line in refused] == [("request", 409)]
    withdraw = by_request(generated)
    assert [line.get("action") for line in withdraw if line["message"] == "supervisor action"] == ["withdraw_presence"]
    # The supervisor's access was logged too, with its session and actor.
    assert any(
        line.get("action") == "access" and line.get("session_id") == sid and line.get("actor") == day.marie_id
        for line in lines
    )
    # Nothing sensitive in the logs: no session password, no access code, no cookie.
    text = stack.app.log.read_text()
    assert day.session["supervisor_password"] not in text and day.session["access_code"] not in text
    assert day.marie.cookies and not any(value in text for value in day.marie.cookies.values())
    for c in clients:
        await c.aclose()


# ------------------------------------------------------------------ outages and recovery


def test_readyz_follows_the_broker(stack: Stack) -> None:
    stack.redis.stop()
    try:
        until(lambda: readyz(stack).status_code == 503, 10, "still ready without Redis")
        r = readyz(stack)
        assert r.json() == {"status": "unavailable", "checks": {"database": "ok", "broker": "unavailable"}}
        assert httpx.get(stack.app.url + "/healthz").status_code == 200  # alive: do not restart it
    finally:
        stack.redis = RedisProcess(stack.redis.port).start()
    until(lambda: readyz(stack).status_code == 200, 15, "not ready again after Redis came back")


def test_readyz_follows_the_database(stack: Stack) -> None:
    # Every connection the app holds killed by the server: the pool notices and reconnects.
    with psycopg.connect(stack.direct_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert readyz(stack).status_code == 200
    assert (
        httpx.post(stack.app.url + "/api/auth/login", json={"email": "x@y.fr", "password": "nope"}).status_code == 401
    )

    # The database host gone: not ready, state-reading requests answer 503, the process lives.
    stack.proxy.cut()
    try:
        until(lambda: readyz(stack).status_code == 503, 10, "still ready without the database")
        assert readyz(stack).json() == {"status": "unavailable", "checks": {"database": "unavailable", "broker": "ok"}}
        r = httpx.post(stack.app.url + "/api/auth/login", json={"email": "x@y.fr", "password": "nope"}, timeout=10)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert httpx.get(stack.app.url + "/healthz").status_code == 200
    finally:
        stack.proxy.restore()
    until(lambda: readyz(stack).status_code == 200, 10, "not ready again after the database came back")
    assert (
        httpx.post(stack.app.url + "/api/auth/login", json={"email": "x@y.fr", "password": "nope"}).status_code == 401
    )


# ----------------------------------------------------------------- configuration at start

CONFIG_ERRORS = [
    pytest.param(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"},
        ["serve"],
        ["SECRET_KEY", "obligatoire", "required"],
        id="postgresql-without-secret-key",
    ),
    pytest.param({}, ["serve", "--workers", "2"], ["REDIS_URL", "--workers", "requires"], id="workers-without-redis"),
    pytest.param({"DATABASE_URL": "mysql://db/x"}, ["serve"], ["DATABASE_URL", "unsupported"], id="unknown-database"),
    pytest.param({"REDIS_URL": "http://redis:6379"}, ["serve"], ["REDIS_URL", "redis://"], id="redis-url-scheme"),
    pytest.param({"SECRET_KEY": "court"}, ["serve"], ["SECRET_KEY", "16"], id="short-secret-key"),
    pytest.param({"TEST_MINUTES": "deux"}, ["serve"], ["TEST_MINUTES", "entier", "integer"], id="not-a-number"),
    pytest.param(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test", "SECRET_KEY": SECRET},
        ["db", "upgrade"],
        ["DATABASE_URL", "injoignable", "unreachable"],
        id="database-unreachable",
    ),
]


@pytest.mark.parametrize(("env", "args", "expected"), CONFIG_ERRORS)
def test_configuration_is_checked_at_start(
    env: dict[str, str], args: list[str], expected: list[str], tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    base["LC_ALL"] = "C.UTF-8"  # the messages are read in French, whatever the developer's terminal speaks
    # An empty working folder: no stray .env, and proof that nothing was created on refusal.
    done = subprocess.run(
        [str(VENV_BIN / "surveillance"), *args],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("Erreur : ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    for word in expected:
        assert word in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("surveillance.db*"))


# ----------------------------------------------------------------------- deployment files


def test_docker_compose_file_validates(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is installed by scripts/test"
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "APP_REPLICAS", "HTTP_PORT"}}

    def config(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [compose, "-f", str(ROOT / "docker-compose.yml"), "config", *args],
            env={**base, **env},
            cwd=tmp_path,  # no .env of the developer's
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = config(SECRET_KEY="k" * 48)
    assert done.returncode == 0, done.stderr
    assert "replicas: 2" in done.stdout and "FORWARDED_ALLOW_IPS" in done.stdout
    services = config("--services", SECRET_KEY="k" * 48)
    assert set(services.stdout.split()) == {"postgres", "redis", "migrate", "app", "nginx"}
    scaled = config(SECRET_KEY="k" * 48, APP_REPLICAS="4", HTTP_PORT="9090")
    assert "replicas: 4" in scaled.stdout and "9090" in scaled.stdout
    # Without the shared key, compose refuses to start anything and says why.
    refused = config()
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr


def test_high_availability_compose_file_validates(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is installed by scripts/test"
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "APP_REPLICAS", "HTTP_PORT"}}

    def config(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [compose, "-f", str(ROOT / "docker-compose.ha.yml"), "config", *args],
            env={**base, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = config(SECRET_KEY="k" * 48)
    assert done.returncode == 0, done.stderr
    services = config("--services", SECRET_KEY="k" * 48)
    assert set(services.stdout.split()) == {
        "postgres-primary",
        "postgres-standby",
        "redis-master",
        "redis-replica",
        "redis-sentinel-1",
        "redis-sentinel-2",
        "redis-sentinel-3",
        "migrate",
        "app",
        "nginx",
    }
    assert "synchronous_commit=on" in done.stdout
    # The URLs the apps get are ones the app accepts: both PostgreSQL hosts, the three sentinels.
    env = dict(
        line.strip().split(": ", 1)
        for line in done.stdout.splitlines()
        if line.strip().startswith(("DATABASE_URL: ", "REDIS_URL: "))
    )
    settings = load_settings({**env, "SECRET_KEY": "k" * 48})
    assert "host=postgres-primary:5432&host=postgres-standby:5432" in settings.database_url
    assert "target_session_attrs=read-write" in settings.database_url
    assert parse_sentinel_url(env["REDIS_URL"]).sentinels == tuple((f"redis-sentinel-{i}", 26379) for i in (1, 2, 3))
    for script in (ROOT / "deploy" / "ha").glob("*.sh"):
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, (script, checked.stderr)
    refused = config()
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr


def test_high_availability_postgres_scripts_make_a_synchronous_pair() -> None:
    """What docker-compose.ha.yml's two PostgreSQL services do on their first start, with the
    installed server instead of Docker: the image's setup (initdb, a socket-only server started
    with the service's own arguments, CREATE DATABASE, deploy/ha/primary-init.sh), the real
    primary, then deploy/ha/standby-entrypoint.sh. The setup finishes (no commit waits for a
    standby that cannot connect yet), the standby is the synchronous one, and once promoted it
    takes writes on its own."""
    command = yaml.safe_load((ROOT / "docker-compose.ha.yml").read_text())["services"]["postgres-primary"]["command"]
    assert command[0] == "postgres"
    bindir = postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="surveillance-ha-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, standby = root / "primary", root / "standby"
    (root / "bin").mkdir()
    (root / "bin" / "su-exec").write_text('#!/bin/sh\nshift\nexec "$@"\n')  # already the postgres user
    (root / "bin" / "su-exec").chmod(0o755)
    # Two containers, two addresses, one port: the primary on 127.0.0.2, the standby on localhost.
    env = {
        **os.environ,
        "PATH": f"{root / 'bin'}:{bindir}:{os.environ['PATH']}",
        "HOME": str(root),
        "PGPORT": str(free_port()),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": "surveillance",
        "REPLICATION_PASSWORD": "r3pl:ic\\4tion",  # a colon and a backslash: escaped in the passfile
        "PRIMARY_HOST": "127.0.0.2",
    }
    servers: list[subprocess.Popen[bytes]] = []
    as_postgres = PostgresServer.as_postgres()

    def run(*args: str, timeout: float = 60, **more: str) -> str:
        try:
            done = subprocess.run(  # type: ignore[call-overload]
                args, env={**env, **more}, capture_output=True, text=True, timeout=timeout, **as_postgres
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"{args[0]} still waiting after {timeout} s: a commit waiting for a synchronous standby?")
        assert done.returncode == 0, done.stdout + done.stderr
        return str(done.stdout).strip()

    def sql(socket_dir: Path | str, statement: str) -> str:
        return run(str(bindir / "psql"), "-h", str(socket_dir), "-d", "surveillance", "-Atc", statement, timeout=20)

    def serve(*args: str, **more: str) -> None:
        log = open(root / "servers.log", "ab")  # noqa: SIM115
        servers.append(subprocess.Popen(args, env={**env, **more}, stdout=log, stderr=log, **as_postgres))  # type: ignore[call-overload]

    try:
        run(str(bindir / "initdb"), "-D", str(primary), "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        # The image's first-start setup, on a socket-only server given the service's arguments.
        setup = [*command[1:], "-c", "listen_addresses=", "-c", f"unix_socket_directories={root}"]
        options = " ".join(map(shlex.quote, setup))
        run(str(bindir / "pg_ctl"), "-D", str(primary), "-o", options, "-l", str(root / "setup.log"), "-w", "start")
        run(str(bindir / "psql"), "-h", str(root), "-d", "postgres", "-c", 'CREATE DATABASE "surveillance"', timeout=20)
        run(str(ROOT / "deploy" / "ha" / "primary-init.sh"), timeout=20, PGDATA=str(primary), PGHOST=str(root))
        run(str(bindir / "pg_ctl"), "-D", str(primary), "-m", "fast", "-w", "stop")

        serve(str(bindir / "postgres"), "-D", str(primary), *command[1:],
              "-c", "listen_addresses=127.0.0.2", "-c", f"unix_socket_directories={root}")  # fmt: skip
        serve(str(ROOT / "deploy" / "ha" / "standby-entrypoint.sh"), PGDATA=str(standby))

        def shows(socket_dir: Path | str, statement: str, expected: str) -> Callable[[], bool]:
            def check() -> bool:
                assert all(s.poll() is None for s in servers), (root / "servers.log").read_text()[-3000:]
                with contextlib.suppress(AssertionError):
                    return sql(socket_dir, statement) == expected
                return False

            return check

        standing = "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'"
        until(shows(root, standing, "sync"), 60, "the standby streaming as the synchronous one")
        sql(root, "CREATE TABLE probe (n int); INSERT INTO probe VALUES (1)")
        replica_socket = "/var/run/postgresql"  # the standby's default, as in the image
        until(shows(replica_socket, "SELECT count(*) FROM probe", "1"), 30, "the write on the standby")
        # The replication password is in no command line and no setting, only in a file of
        # the postgres user's own.
        password = env["REPLICATION_PASSWORD"]
        assert password not in Path(f"/proc/{servers[1].pid}/cmdline").read_text()
        assert password not in (standby / "postgresql.auto.conf").read_text()
        assert sql(replica_socket, "SHOW primary_conninfo").find(password) == -1
        assert (root / "replication.pgpass").stat().st_mode & 0o077 == 0

        # The primary is gone; promoted, the standby takes writes alone, waiting for nobody.
        servers[0].send_signal(signal.SIGINT)
        servers[0].wait(30)
        run(str(bindir / "pg_ctl"), "promote", "-w", "-D", str(standby))
        sql(replica_socket, "INSERT INTO probe VALUES (2)")
        assert sql(replica_socket, "SELECT sum(n) FROM probe") == "3"
    finally:
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)  # fast shutdown
                server.wait(30)
        if (primary / "postmaster.pid").exists():
            stop = [str(bindir / "pg_ctl"), "-D", str(primary), "-m", "immediate", "stop"]
            subprocess.run(stop, env=env, capture_output=True, timeout=30, **as_postgres)  # type: ignore[call-overload]
        shutil.rmtree(root, ignore_errors=True)


def test_nginx_configuration_of_compose_is_valid(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    user = ["-g", "user nobody nogroup;"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(ROOT / "deploy" / "nginx.conf"), *user],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


class FakeDockerDns:
    """A real DNS server on UDP, answering A queries for one name the way Docker's embedded
    DNS answers for a compose service: one address per running replica."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.addresses: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(Exception):  # a malformed query gets no answer
                self.sock.sendto(self.answer(query), peer)

    def answer(self, query: bytes) -> bytes:
        labels, i = [], 12
        while query[i]:
            labels.append(query[i + 1 : i + 1 + query[i]].decode())
            i += 1 + query[i]
        qtype = int.from_bytes(query[i + 1 : i + 3], "big")
        question = query[12 : i + 5]
        found = ".".join(labels).lower() == self.name and qtype == 1
        addresses = list(self.addresses) if found else []
        flags = 0x8180 if found else 0x8183  # a response, recursion available; else NXDOMAIN
        header = query[:2] + flags.to_bytes(2, "big") + b"\x00\x01" + len(addresses).to_bytes(2, "big") + b"\x00" * 4
        records = b"".join(
            b"\xc0\x0c\x00\x01\x00\x01" + (1).to_bytes(4, "big") + b"\x00\x04" + socket.inet_aton(a) for a in addresses
        )
        return header + question + records

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _status(url: str) -> int:
    # A loaded machine answers slowly, not wrongly: a short timeout would read as a failure.
    try:
        return httpx.get(url, timeout=30).status_code
    except httpx.HTTPError:
        return 0


def _access(folder: Path) -> list[str]:
    path = folder / "access.log"
    return path.read_text().splitlines() if path.exists() else []


def _upstreams(folder: Path) -> list[str]:
    """The upstream of each request, from the access log format of deploy/nginx.conf."""
    return [line.split('"')[3] for line in _access(folder) if "/readyz" in line]


def _compose_nginx_conf(folder: Path, dns_port: int, app_port: int, lb_port: int) -> Path:
    """deploy/nginx.conf with only its addresses changed (listen port, resolver, pid, log and
    temp paths), to run for real outside Docker."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in [
        ("resolver 127.0.0.11 ", f"resolver 127.0.0.1:{dns_port} "),
        ("http://app:8000", f"http://app:{app_port}"),
        ("listen 8080;", f"listen 127.0.0.1:{lb_port};"),
        ("pid /var/run/nginx.pid;", f"pid {folder}/nginx.pid;"),
        ("access_log /dev/stdout main;", f"access_log {folder}/access.log main;"),
        ("error_log /dev/stderr warn;", f"error_log {folder}/error.log info;"),
        ("http {", "http {\n" + "".join(f"    {k}_temp_path {folder}/{k};\n" for k in TEMP_PATHS)),
    ]:
        assert old in conf, old
        conf = conf.replace(old, new)
    (folder / "nginx.conf").write_text(conf)
    return folder / "nginx.conf"


def _start_nginx(folder: Path, conf: Path) -> subprocess.Popen[bytes]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    # One -g: nginx keeps only the last, and without "daemon off" it would fork away from us.
    directives = "daemon off;" + (" user nobody nogroup;" if os.geteuid() == 0 else "")
    os.chmod(folder, 0o755)  # workers may run as nobody
    return subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(conf), "-g", directives],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_compose_balancer_follows_replicas_through_dns(stack: Stack, tmp_path: Path) -> None:
    """deploy/nginx.conf, run for real outside Docker: only its addresses change (listen port,
    resolver, pid, log and temp paths). nginx asks the DNS for "app" at request time, so a
    replica added later gets traffic without a reload, and a killed one is skipped."""
    hosts = ["127.0.0.2", "127.0.0.3"]  # two "containers", one port, as in compose
    port = next(p for p in (free_port() for _ in range(50)) if all(_bindable(h, p) for h in hosts))
    dns = FakeDockerDns("app")
    dns.addresses = hosts[:1]
    replicas = [JsonLoggingApp(stack.env, tmp_path / f"app-{h}.log", host=h, port=port) for h in hosts]
    lb_port = free_port()
    conf = _compose_nginx_conf(tmp_path, dns.port, port, lb_port)
    proc = None
    try:
        for replica in replicas:
            replica.start()
        proc = _start_nginx(tmp_path, conf)
        lb = f"http://127.0.0.1:{lb_port}"
        until(lambda: _status(lb + "/healthz") == 200, 30, "nginx not answering")

        def served(count: int) -> set[str]:
            mark = len(_upstreams(tmp_path))
            for _ in range(count):
                assert httpx.get(lb + "/readyz", timeout=10).status_code == 200
            return set(_upstreams(tmp_path)[mark:])

        assert served(10) == {f"{hosts[0]}:{port}"}
        # "docker compose up --scale app=2": the DNS now names both; within nginx's
        # valid=5s both get requests, with no reload.
        dns.addresses = hosts
        until(lambda: len(served(10)) == 2, 60, "the new replica never got a request")
        # Websockets go through with their upgrade: the app itself answers (no login: 4401).
        live = lb.replace("http", "ws") + "/api/supervision/sessions/1/live"
        with ws_connect(live, origin=Origin(lb)) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        # A replica killed before the DNS catches up: its turns go to the other one.
        assert replicas[0].proc is not None
        replicas[0].proc.kill()
        replicas[0].proc.wait(5)
        statuses = [_status(lb + "/readyz") for _ in range(10)]
        assert statuses == [200] * 10, (tmp_path / "error.log").read_text()[-3000:] + "\n".join(_access(tmp_path)[-12:])
        # The metrics stay off the public port.
        assert _status(lb + "/metrics") == 404
        # nginx gives each request an id, the app answers with it and logs it.
        r = httpx.post(lb + "/api/auth/login", json={"email": "x@y.fr", "password": "nope"}, timeout=30)
        rid = r.headers["x-request-id"]
        assert r.status_code == 401 and re.fullmatch(r"[0-9a-f]{32}", rid)
        # nginx writes its access line once the answer is sent, as the app its log: wait for both.
        until(lambda: any(line.endswith(" " + rid) for line in _access(tmp_path)), 30, "the request id is not in nginx's log")
        until(
            lambda: any(line.get("request_id") == rid and line.get("status") == 401 for line in replicas[1].lines()),
            30,
            "the request id is not in the replica's log",
        )
        # The doors open without an account have a rate per client address at nginx too
        # (limit_req): a burst past it is answered by nginx, in the API's error shape.
        # 100 at once: past the burst of 40 (2 more per second). All 100 are sent together,
        # each from its own thread and client made beforehand: sent as threads free up, a
        # loaded machine spread them over seconds, enough for the rate to let more through.
        # (503: the app's own password-hash pool was full, also a refusal.)
        ready = threading.Barrier(100)

        def login(n: int) -> httpx.Response:
            with httpx.Client(timeout=60) as client:
                ready.wait(60)
                return client.post(lb + "/api/auth/login", json={"email": f"x{n}@y.fr", "password": "nope"})

        with concurrent.futures.ThreadPoolExecutor(100) as pool:
            burst = list(pool.map(login, range(100)))
        refused = [r for r in burst if r.status_code == 429]
        assert len(refused) >= 40, [r.status_code for r in burst]
        assert all(r.status_code in (401, 429, 503) for r in burst)
        assert refused[0].json()["error"]["code"] == "TOO_MANY_REQUESTS"
        assert "Réessayez" in refused[0].json()["error"]["message"]
        assert refused[0].headers["Retry-After"].isdecimal()
        # Pages and the rest of the API are not held back by it.
        assert _status(lb + "/readyz") == 200 and _status(lb + "/connexion") == 200
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        for replica in replicas:
            replica.stop()
        dns.close()


class PlainUpstream:
    """An HTTP server in place of an app replica that compresses nothing, as an app that has
    not negotiated (or an older one) would: /module.js as text/javascript, the type the app
    serves its modules with; /encoded.js already brotli-encoded, as the app sends its own."""

    SOURCE = b'import { a } from "./a.js";\n' + b"export const lines = [\n" + b'  "une ligne de module",\n' * 200 + b"];\n"

    def __init__(self) -> None:
        source = self.SOURCE

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                encoded = self.path == "/encoded.js"
                body = brotli.compress(source) if encoded else source
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                if encoded:
                    self.send_header("Content-Encoding", "br")
                    self.send_header("Vary", "Accept-Encoding")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_compose_balancer_compresses_javascript(tmp_path: Path) -> None:
    """deploy/nginx.conf run for real: a text/javascript body that reaches it uncompressed
    leaves gzipped (the type the app serves its modules with), and a body the app has
    already encoded goes through untouched."""
    upstream = PlainUpstream()
    dns = FakeDockerDns("app")
    dns.addresses = ["127.0.0.1"]
    lb_port = free_port()
    proc = _start_nginx(tmp_path, _compose_nginx_conf(tmp_path, dns.port, upstream.port, lb_port))
    lb = f"http://127.0.0.1:{lb_port}"
    try:
        until(lambda: _status(lb + "/module.js") == 200, 10, "nginx not answering")
        with httpx.Client(timeout=10) as client, client.stream(
            "GET", lb + "/module.js", headers={"Accept-Encoding": "gzip"}
        ) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip", r.headers
        assert r.headers["content-type"].startswith("text/javascript")
        assert "Accept-Encoding" in r.headers["vary"]
        assert gzip.decompress(raw) == PlainUpstream.SOURCE and len(raw) < len(PlainUpstream.SOURCE) / 5
        # Not asked: not compressed.
        plain = httpx.get(lb + "/module.js", headers={"Accept-Encoding": "identity"}, timeout=10)
        assert "content-encoding" not in plain.headers and plain.content == PlainUpstream.SOURCE
        # The app's own brotli body is passed on as it is, not encoded twice.
        with httpx.Client(timeout=10) as client, client.stream(
            "GET", lb + "/encoded.js", headers={"Accept-Encoding": "gzip, br"}
        ) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "br"
        assert brotli.decompress(raw) == PlainUpstream.SOURCE
    finally:
        proc.terminate()
        proc.wait(10)
        upstream.close()
        dns.close()
