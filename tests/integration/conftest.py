"""Real server processes for integration tests: one process on the in-process broker
and SQLite, or two processes sharing PostgreSQL through a test-owned Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import contract
from tests.conftest import _truncate
from tests.live import Candidate, SupervisorFeed, comparable
from tests.servers import VENV_BIN, AppProcess, RedisProcess

PASSWORD = "motdepasse1"
LIVE_ENV = {
    "SECRET_KEY": "live-tests-" + "s" * 32,
    "SUPERVISOR_HEARTBEAT_SECONDS": "1",
    "CANDIDATE_LEASE_SECONDS": "6",
    # Room control's expiry sweep, each second so a test can see a test end by expiry.
    "EXPIRY_SWEEP_SECONDS": "1",
}


@dataclass
class Cluster:
    apps: list[AppProcess]
    env: dict[str, str]
    redis: RedisProcess | None = None
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def a(self) -> AppProcess:
        return self.apps[0]

    @property
    def b(self) -> AppProcess:
        return self.apps[-1]

    def http(self, app: AppProcess) -> httpx.AsyncClient:
        c = httpx.AsyncClient(base_url=app.url, headers={"Origin": app.url}, timeout=20)
        self.clients.append(c)
        return c

    async def user(self, app: AppProcess, email: str, first: str, last: str) -> httpx.AsyncClient:
        c = self.http(app)
        r = await c.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD, "first_name": first, "last_name": last}
        )
        assert r.status_code == 201, r.text
        return c

    def login_to(self, client: httpx.AsyncClient, app: AppProcess) -> httpx.AsyncClient:
        """The same account on another process: cookies are signed with the shared key."""
        c = self.http(app)
        c.cookies.update(client.cookies)
        return c

    def cli(self, *args: str) -> None:
        subprocess.run([str(VENV_BIN / "surveillance"), *args], env={**self.env}, check=True, capture_output=True)


@contextlib.contextmanager
def sqlite_process(tmp_path: Path, sqlite_template: Path, **settings: str) -> Iterator[Cluster]:
    """One real process on its own copy of the migrated SQLite database, with LIVE_ENV and
    `settings` (by environment name) on top."""
    db = tmp_path / "live.db"
    shutil.copy(sqlite_template, db)
    env = {**os.environ, **LIVE_ENV, "DATABASE_URL": f"sqlite:///{db}", **settings}
    app = AppProcess(env, log_dir=tmp_path).start()
    try:
        yield Cluster([app], env)
    finally:
        app.kill()


@pytest.fixture(params=["memory", "redis"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Cluster]:
    env = {**os.environ, **LIVE_ENV}
    redis = None
    if request.param == "memory":
        db = tmp_path / "live.db"
        shutil.copy(sqlite_template, db)
        env["DATABASE_URL"] = f"sqlite:///{db}"
        apps = [AppProcess(env, log_dir=tmp_path)]
    else:
        url = request.getfixturevalue("pg_database")
        _truncate(url)
        redis = RedisProcess().start()
        env.update({"DATABASE_URL": url, "REDIS_URL": redis.url})
        apps = [AppProcess(env, log_dir=tmp_path), AppProcess(env, log_dir=tmp_path)]
    contract.watch(request.node, env["DATABASE_URL"])
    for app in apps:
        app.start()
    c = Cluster(apps, env, redis)
    yield c
    for app in apps:
        app.kill()
    # A test may have replaced the Redis it stopped with a new one on the same port.
    for server in {id(r): r for r in (redis, c.redis) if r is not None}.values():
        server.stop()


async def _close(cluster: Cluster) -> None:
    for c in cluster.clients:
        await c.aclose()


@dataclass
class Day:
    session: dict[str, Any]
    staff: httpx.AsyncClient
    marie: httpx.AsyncClient
    pierre: httpx.AsyncClient
    ids: dict[str, int]


async def plan_day(cluster: Cluster, candidates: int = 4) -> Day:
    staff = await cluster.user(cluster.a, "admin@testix.fr", "Alice", "Martin")
    cluster.cli("centre", "create", "Centre de Testix", "--admin", "admin@testix.fr")
    r = await staff.post(
        "/api/centres/1/sessions",
        json={
            "address": "Centre de Testix",
            "room": "Salle 3",
            "examiner": "Surveillant Test",
            "date": "2021-12-28",
            "time": "11:00",
        },
    )
    session = r.json()["session"]
    rows = "".join(f"CANDIDAT{i:03d};Prenom{i};01/01/2000;\n" for i in range(candidates))
    r = await staff.post(
        f"/api/sessions/{session['id']}/candidates/import",
        content=("nom;prenom;date_naissance;temps_majore\n" + rows).encode(),
    )
    assert r.status_code == 201, r.text
    detail = (await staff.get(f"/api/sessions/{session['id']}")).json()
    ids = {c["last_name"]: c["id"] for c in detail["candidates"]}
    marie = await cluster.user(cluster.a, "marie@testix.fr", "Marie", "Curie")
    pierre = await cluster.user(cluster.b, "pierre@testix.fr", "Pierre", "Curie")
    for sup in (marie, pierre):
        r = await sup.post(
            "/api/supervision/access",
            json={"session_id": session["id"], "supervisor_password": session["supervisor_password"]},
        )
        assert r.status_code == 204
    return Day(session, staff, marie, pierre, ids)


async def http_state(day: Day) -> tuple[int, dict[int, dict[str, Any]]]:
    snap = (await day.marie.get(f"/api/supervision/sessions/{day.session['id']}")).json()
    return snap["version"], comparable(snap["candidates"])


async def seat(cluster: Cluster, day: Day) -> list[Candidate]:
    """Every candidate of the day confirmed present, joined, started and listening, on the
    cluster's processes in turn."""
    sid = day.session["id"]
    people = []
    for i, (name, cid) in enumerate(day.ids.items()):
        r = await day.marie.post(
            f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True}
        )
        assert r.status_code == 200, r.text
        app = cluster.apps[i % len(cluster.apps)]
        p = Candidate(app.url, day.session, name, f"Prenom{int(name[-3:])}", "2000-01-01")
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        await p.connect(app.ws_url)
        people.append(p)
    return people


async def keep_answering(people: list[Candidate], stop: asyncio.Event, answered: dict[str, int]) -> None:
    """Each candidate answers every 1.5 s until `stop`; `answered` keeps the count each was told."""

    async def one(p: Candidate) -> None:
        while not stop.is_set():
            state = await p.answer()
            answered[p.identity["last_name"]] = state["candidate"]["progress"]["answered"]
            if state["question"] is None:
                return
            await asyncio.sleep(1.5)

    await asyncio.gather(*(one(p) for p in people))


async def assert_room_intact(
    day: Day, feeds: list[SupervisorFeed], people: list[Candidate], answered: dict[str, int]
) -> None:
    """After a fault: every supervisor's socket stayed open and shows the database, with no
    version missed, and each candidate has the count of answers they were acknowledged.
    Closes the candidates."""
    version, state = await http_state(day)
    for feed in feeds:
        await feed.wait(lambda f: f.version >= version, 15)
        assert feed.versions == list(range(feed.first_version + 1, version + 1))
        assert comparable(feed.candidates) == state
        assert feed.closed is None
    for p in people:
        assert state[day.ids[p.identity["last_name"]]]["progress"]["answered"] == answered[p.identity["last_name"]]
        await p.close()
