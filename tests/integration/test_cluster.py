"""The scale-out shape without Docker: `scripts/cluster` (nginx in front of two app processes)
on a PostgreSQL database of the test's own and a Redis of the test's own.

A supervisor goes through nginx (HTTP and websocket) while candidates hit the app processes
directly; then the process under the supervisor's socket is killed (SIGKILL), or stopped
(SIGTERM) while requests wait inside their transaction."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import psycopg
import pytest
from websockets.exceptions import InvalidHandshake

from tests.conftest import PG_ADMIN_URL, _pg_url
from tests.live import Candidate, SupervisorFeed, comparable
from tests.servers import ROOT, VENV_BIN, RedisProcess, free_port
from vocabulary import Action

pytestmark = pytest.mark.slow

SCRIPT = ROOT / "scripts" / "cluster"
PASSWORD = "motdepasse1"
APPS = 2


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _consecutive_free_ports(count: int) -> int:
    """scripts/cluster puts its apps on APP_BASE_PORT, APP_BASE_PORT + 1, …"""
    for _ in range(200):
        base = random.randrange(20_000, 40_000)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited: only its parent has not reaped it yet.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still running after {timeout}s")
        time.sleep(0.05)


@dataclass
class Cluster:
    """scripts/cluster driven as an operator would: start, status, stop, with its state folder."""

    state: Path
    env: dict[str, str]
    base_port: int
    nginx_port: int
    database_url: str

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(SCRIPT), *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(
                f"scripts/cluster {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    @property
    def ports(self) -> list[int]:
        return [self.base_port + i for i in range(APPS)]

    @property
    def lb(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def lb_ws(self) -> str:
        return f"ws://127.0.0.1:{self.nginx_port}"

    def pid(self, port: int) -> int:
        return int((self.state / f"app-{port}.pid").read_text())

    def cli(self, *args: str) -> None:
        subprocess.run(
            [str(VENV_BIN / "surveillance"), *args], env=self.env, cwd=self.state, check=True, capture_output=True
        )

    def log(self, port: int) -> str:
        return (self.state / f"app-{port}.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    name = f"surveillance_cluster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    redis = RedisProcess().start()
    state = tmp_path_factory.mktemp("cluster")
    base, nginx_port = _consecutive_free_ports(APPS), free_port()
    env = {
        **os.environ,
        "CLUSTER_DIR": str(state),
        "CLUSTER_APPS": str(APPS),
        "APP_BASE_PORT": str(base),
        "NGINX_PORT": str(nginx_port),
        "CLUSTER_TIMEOUT": "30",
        "DATABASE_URL": _pg_url(name),
        "REDIS_URL": redis.url,
        "SECRET_KEY": "cluster-tests-" + "c" * 32,
        # Passed through to the apps by scripts/cluster's environment.
        "SUPERVISOR_HEARTBEAT_SECONDS": "1",
        "CANDIDATE_LEASE_SECONDS": "4",
    }
    c = Cluster(state, env, base, nginx_port, _pg_url(name))
    try:
        c.run("start")
        yield c
    finally:
        pids = [int(p.read_text()) for p in state.glob("*.pid") if p.read_text().strip().isdecimal()]
        c.run("stop", check=False)
        redis.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # `stop` leaves nothing behind: no app, no nginx master.
    for pid in pids:
        _wait_gone(pid, 5)


# ----------------------------------------------------------------------------- the day


@dataclass
class Day:
    session: dict[str, Any]
    marie: httpx.AsyncClient  # supervisor, through nginx
    ids: dict[str, int]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def sid(self) -> int:
        return int(self.session["id"])

    def candidate(self, base: str, last: str) -> Candidate:
        return Candidate(base, self.session, last, "Prenom" + str(int(last[-3:])), "2000-01-01")

    def on(self, base: str) -> httpx.AsyncClient:
        """Marie's login on another address: cookies are signed with the shared key."""
        c = httpx.AsyncClient(base_url=base, headers={"Origin": base}, timeout=30)
        c.cookies.update(self.marie.cookies)
        self.clients.append(c)
        return c

    async def act(self, path: str, **body: Any) -> dict[str, Any]:
        r = await self.marie.post(f"/api/supervision/sessions/{self.sid}/candidates/{path}", json=body or None)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def close(self) -> None:
        for c in self.clients:
            await c.aclose()


async def plan_day(c: Cluster, candidates: int) -> Day:
    """Through nginx, as the centre's staff and the supervisor would; the centre with the CLI."""
    tag = uuid.uuid4().hex[:6]
    clients: list[httpx.AsyncClient] = []

    async def signup(email: str, first: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=c.lb, headers={"Origin": c.lb}, timeout=30)
        clients.append(client)
        r = await client.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD, "first_name": first, "last_name": "Test"}
        )
        assert r.status_code == 201, r.text
        return client

    staff = await signup(f"staff-{tag}@testix.fr", "Alice")
    c.cli("centre", "create", f"Centre {tag}", "--admin", f"staff-{tag}@testix.fr")
    centre = (await staff.get("/api/me")).json()["centres"][0]["id"]
    r = await staff.post(
        f"/api/centres/{centre}/sessions",
        json={
            "address": "Centre de Testix",
            "room": "Salle 3",
            "examiner": "M. Test",
            "date": "2021-12-28",
            "time": "11:00",
        },
    )
    assert r.status_code == 201, r.text
    session = r.json()["session"]
    rows = "".join(f"CANDIDAT{i:03d};Prenom{i};01/01/2000;\n" for i in range(candidates))
    r = await staff.post(
        f"/api/sessions/{session['id']}/candidates/import",
        content=("nom;prenom;date_naissance;temps_majore\n" + rows).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    ids = {x["last_name"]: x["id"] for x in (await staff.get(f"/api/sessions/{session['id']}")).json()["candidates"]}
    await signup(f"marie-{tag}@testix.fr", "Marie")
    # Marie logs in on the supervisor's page, through nginx, then types the session's codes.
    marie = httpx.AsyncClient(base_url=c.lb, headers={"Origin": c.lb}, timeout=30)
    clients.append(marie)
    r = await marie.post("/api/auth/login", json={"email": f"marie-{tag}@testix.fr", "password": PASSWORD})
    assert r.status_code == 200, r.text
    r = await marie.post(
        "/api/supervision/access",
        json={"session_id": session["id"], "supervisor_password": session["supervisor_password"]},
    )
    assert r.status_code == 204, r.text
    return Day(session, marie, ids, clients)


# ------------------------------------------------------------------- the page's live feed


class PageFeed:
    """The dashboard's live feed (static/js/live.js) in Python: on close, reconnect through the
    balancer with the same jittered backoff, and start again from the snapshot it sends."""

    def __init__(self, c: Cluster, day: Day) -> None:
        self.c = c
        self.day = day
        self.feed: SupervisorFeed | None = None
        self.closes: list[int | None] = []
        self.connections = 0
        self._stopped = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> PageFeed:
        self.feed = await self._open()
        self._task = asyncio.create_task(self._keep())
        return self

    async def _open(self) -> SupervisorFeed:
        feed = await SupervisorFeed.open(self.c.lb_ws, self.day.sid, self.day.marie, self.c.lb)
        self.connections += 1
        return feed

    async def _keep(self) -> None:
        attempt = 0
        while not self._stopped:
            assert self.feed is not None
            await self.feed.wait(lambda f: f.closed is not None, 3600)
            self.closes.append(self.feed.closed)
            while not self._stopped:
                ceiling = min(10.0, 0.5 * 2**attempt)
                await asyncio.sleep(ceiling / 2 + random.random() * ceiling / 2)
                attempt += 1
                try:
                    self.feed = await self._open()
                except (OSError, InvalidHandshake, TimeoutError, AssertionError):
                    continue  # 502 from nginx while no app answers, refused, or closed before the snapshot
                attempt = 0
                break

    @property
    def current(self) -> SupervisorFeed:
        assert self.feed is not None
        return self.feed

    async def wait_reconnected(self, connections: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.connections < connections or self.current.version < 0:
            assert time.monotonic() < deadline, f"no reconnection after {timeout}s (closes: {self.closes})"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.feed is not None:
            await self.feed.close()


def db_version(c: Cluster, sid: int) -> int:
    with psycopg.connect(c.database_url) as conn:
        row = conn.execute("SELECT version FROM exam_session WHERE id = %s", (sid,)).fetchone()
    assert row is not None
    return int(row[0])


# What the presence sweeps log on their own, whenever a lease runs out or a socket comes back.
LEASE_ACTIONS = {Action.CONNECTED, Action.CONNECTION_LOST, Action.SUPERVISOR_ONLINE, Action.SUPERVISOR_OFFLINE}


def events_since(c: Cluster, sid: int, version: int) -> tuple[list[int], list[str]]:
    """The candidates whose presence was confirmed after `version`, one entry per event,
    and the actions of every other event since."""
    with psycopg.connect(c.database_url) as conn:
        rows = conn.execute(
            "SELECT candidate_id, payload FROM session_event WHERE session_id = %s AND version > %s ORDER BY version",
            (sid, version),
        ).fetchall()
    actions = [(cid, json.loads(payload)["action"]) for cid, payload in rows]
    confirmed = [cid for cid, action in actions if action == Action.PRESENCE_CONFIRMED]
    return confirmed, [action for _, action in actions if action != Action.PRESENCE_CONFIRMED]


async def settled(page: PageFeed, day: Day, timeout: float = 20) -> dict[str, Any]:
    """Wait until the page shows exactly the database: same version (read in the database
    itself) and the same candidates as the HTTP snapshot. Leases running out may add events
    meanwhile, so a mismatch is retried until it stays put."""
    deadline = time.monotonic() + timeout
    while True:
        snap = (await day.marie.get(f"/api/supervision/sessions/{day.sid}")).json()
        feed, target = page.current, int(snap["version"])
        with contextlib.suppress(AssertionError):
            await feed.wait(lambda f, v=target: f.version >= v, max(deadline - time.monotonic(), 0.1))  # type: ignore[misc]
        if (
            page.current is feed
            and feed.version == snap["version"] == db_version(page.c, day.sid)
            and comparable(feed.candidates) == comparable(snap["candidates"])
        ):
            return dict(snap)
        if time.monotonic() > deadline:
            raise AssertionError(f"page at version {feed.version}, database at {snap['version']}")
        await asyncio.sleep(0.2)


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------------------ the tests


def test_cluster_script_is_idempotent_and_reports_status(cluster: Cluster) -> None:
    again = cluster.run("start")
    assert again.stdout.count("already running") == APPS + 1  # every app and nginx
    status = cluster.run("status")
    assert status.stdout.count(" ready") == APPS and "nginx" in status.stdout
    r = httpx.get(cluster.lb + "/readyz", timeout=5)
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "broker": "ok"}
    # The request id travels through nginx to the app and back.
    assert (
        httpx.get(cluster.lb + "/healthz", headers={"X-Request-Id": "lb-check-1"}).headers["x-request-id"]
        == "lb-check-1"
    )
    # Each app serves its metrics on its own port; the balancer does not expose a random one's.
    assert httpx.get(cluster.lb + "/metrics").status_code == 404
    assert httpx.get(f"http://127.0.0.1:{cluster.ports[0]}/metrics").status_code == 200


async def test_supervisor_through_nginx_survives_sigkill_of_its_app(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=4)
    apps = [f"http://127.0.0.1:{p}" for p in cluster.ports]
    page = await PageFeed(cluster, day).start()
    for cid in day.ids.values():
        await day.act(f"{cid}/presence", authorized=True)
    # Candidates go straight to the app processes, two on each.
    where = {last: apps[i % APPS] for i, last in enumerate(sorted(day.ids))}
    people = {last: day.candidate(base, last) for last, base in where.items()}
    for p in people.values():
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        await p.answer()
    await settled(page, day)

    # Which process holds the supervisor's socket is nginx's choice: kill one; if the socket
    # lives on, it was the other, so bring the first back and kill the second.
    victim = None
    for port in cluster.ports:
        pid = cluster.pid(port)
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5)
        with contextlib.suppress(AssertionError):
            await page.current.wait(lambda f: f.closed is not None, 3)
        if page.current.closed is not None:
            victim = port
            break
        assert cluster.run("status", check=False).returncode == 3  # an app is down
        cluster.run("start")
    assert victim is not None, "killing every app left the supervisor's socket open"
    await eventually(lambda: bool(page.closes), 5, "the page did not notice the closed socket")
    assert page.closes == [1006]  # no close frame: the process just vanished
    survivor = apps[cluster.ports.index(victim) - 1]

    # While the page reconnects, candidates on the surviving process keep answering and the
    # supervisor keeps acting through nginx, which skips the dead process.
    for last, p in people.items():
        if where[last] == survivor:
            await p.answer()
    ended = day.ids[next(last for last in sorted(day.ids) if where[last] == survivor)]
    assert (await day.act(f"{ended}/end-test"))["candidate"]["status"] == "ended_by_supervisor"

    await page.wait_reconnected(2, 20)
    snap = await settled(page, day)
    by_id = {x["id"]: x for x in snap["candidates"]}
    assert by_id[ended]["status"] == "ended_by_supervisor"
    for last in people:
        assert by_id[day.ids[last]]["progress"]["answered"] == (2 if where[last] == survivor else 1)

    # The dead process comes back with `start`, and live events flow again, in order.
    assert cluster.run("status", check=False).returncode == 3
    cluster.run("start")
    assert cluster.run("status").returncode == 0
    before = page.current.version
    other = next(cid for cid in day.ids.values() if cid != ended)
    await day.act(f"{other}/end-test")
    await settled(page, day)
    assert page.current.version > before
    assert page.current.versions == list(range(page.current.first_version + 1, page.current.version + 1))

    await page.close()
    for p in people.values():
        await p.close()
    await day.close()


async def test_sigterm_closes_sockets_with_1012_and_finishes_requests_in_flight(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=5)
    victim_port = cluster.ports[0]
    victim = f"http://127.0.0.1:{victim_port}"
    ids = [day.ids[last] for last in sorted(day.ids)]
    page = await PageFeed(cluster, day).start()
    # Marie also watches straight from the victim, and candidate 0 listens on it.
    direct = await SupervisorFeed.open(f"ws://127.0.0.1:{victim_port}", day.sid, day.on(victim), victim)
    await day.act(f"{ids[0]}/presence", authorized=True)
    paul = day.candidate(victim, "CANDIDAT000")
    assert (await paul.join()).status_code == 200
    await paul.connect(f"ws://127.0.0.1:{victim_port}")
    await settled(page, day)
    version = db_version(cluster, day.sid)

    on_victim = day.on(victim)
    with psycopg.connect(cluster.database_url) as lock:
        # Hold the session's row lock: every change of this session now waits inside its
        # transaction on the victim process.
        lock.execute("SELECT id FROM exam_session WHERE id = %s FOR UPDATE", (day.sid,))
        writes = [
            asyncio.create_task(
                on_victim.post(
                    f"/api/supervision/sessions/{day.sid}/candidates/{cid}/presence", json={"authorized": True}
                )
            )
            for cid in ids[1:]
        ]

        pid = cluster.pid(victim_port)
        pg_port = urlsplit(cluster.database_url).port or 5432

        def waiting() -> int:
            # The victim's own database connections only: the other process's lease sweep
            # may wait on the same row, and must not be taken for one of our writes.
            ports = [
                c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.raddr and c.raddr.port == pg_port
            ]
            with psycopg.connect(cluster.database_url) as probe:
                # The first waits for our transaction, the others queue behind it on the row.
                row = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND client_port = ANY(%s)",
                    (ports,),
                ).fetchone()
            return int(row[0]) if row else 0

        # Generous: on a loaded machine the requests may take seconds to reach the lock.
        deadline = time.monotonic() + 60
        while waiting() < len(writes):
            assert time.monotonic() < deadline, "the writes never reached the lock"
            await asyncio.sleep(0.05)

        os.kill(pid, signal.SIGTERM)
        # uvicorn's shutdown: every websocket closed at once with 1012 (service restart) …
        await direct.wait(lambda f: f.closed is not None, 15)
        assert direct.closed == 1012
        assert paul.ws is not None
        await eventually(
            lambda: paul.ws is not None and paul.ws.close_code is not None, 15, "candidate socket still open"
        )
        assert paul.ws.close_code == 1012
        # … no new connection accepted …
        async with httpx.AsyncClient() as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get(victim + "/healthz")
        # … but the requests inside a transaction are not cut: they wait for the lock.
        await asyncio.sleep(0.5)
        assert not any(w.done() for w in writes)
        assert _alive(pid)
        lock.rollback()

    answers = await asyncio.wait_for(asyncio.gather(*writes), 15)
    assert [a.status_code for a in answers] == [200] * len(writes)
    assert all(a.json()["candidate"]["authorized_to_start"] for a in answers)
    _wait_gone(pid, 15)
    log = cluster.log(victim_port)
    assert "Finished server process" in log
    assert "timeout graceful shutdown exceeded" not in log

    # Every change committed, one version each, and the page (reconnected if its socket was
    # on the victim, with 1012 then) shows exactly that. Paul's socket went with the victim:
    # once his lease runs out (seconds, sooner than this on a loaded machine) a sweep may
    # log him lost, and that is the only other event allowed.
    confirmed, others = events_since(cluster, day.sid, version)
    assert sorted(confirmed) == sorted(ids[1:])
    assert set(others) <= LEASE_ACTIONS, others
    snap = await settled(page, day)
    assert all(x["authorized_to_start"] for x in snap["candidates"])
    assert set(page.closes) <= {1012}

    cluster.run("start")
    assert cluster.run("status").returncode == 0
    await page.close()
    await direct.close()
    await paul.close()
    await day.close()
