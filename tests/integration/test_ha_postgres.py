"""PostgreSQL primary switch mid-exam: a primary with a synchronous streaming standby, an app
process pointed at both (libpq's host list, target_session_attrs=read-write), candidates
answering. The primary dies (SIGKILL of every server process) and the standby is promoted,
as a failover manager would after noticing.

Every answer acknowledged before the kill is on the new primary; requests in the gap get
503 SERVICE_UNAVAILABLE and are not applied; the supervisor's socket stays open and ends
equal to the database; the time to recovery is reported."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from app import migrate
from app.questions import by_id
from app.settings import load_settings
from tests.integration.conftest import LIVE_ENV, Cluster, _close, http_state, plan_day, seat
from tests.live import Candidate, SupervisorFeed, comparable
from tests.servers import AppProcess, PostgresPair, PostgresServer

pytestmark = pytest.mark.slow

DB = "surveillance"
UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans quelques secondes."


@pytest.fixture
def pg_pair(tmp_path: Path) -> Iterator[tuple[Cluster, PostgresPair]]:
    def prepare(primary: PostgresServer) -> None:
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DB}"')
        migrate.upgrade(load_settings({"DATABASE_URL": primary.url(DB), "SECRET_KEY": "t" * 32}))

    pair = PostgresPair()
    app: AppProcess | None = None
    try:
        pair.start(prepare)
        env = {**os.environ, **LIVE_ENV, "DATABASE_URL": pair.url(DB), "QUESTIONS_PER_TEST": "36"}
        env.pop("REDIS_URL", None)
        app = AppProcess(env, log_dir=tmp_path).start()
        yield Cluster([app], env), pair
    finally:
        if app is not None:
            app.kill()
        pair.stop()


@dataclass
class Attempt:
    candidate_id: int
    question_id: str
    started: float
    ended: float
    status: int


async def test_primary_killed_standby_promoted(
    pg_pair: tuple[Cluster, PostgresPair], record_property: pytest.RecordProperty
) -> None:
    cluster, pair = pg_pair
    day = await plan_day(cluster, candidates=4)
    sid = day.session["id"]
    feed = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    people = list(zip(await seat(cluster, day), day.ids.values(), strict=True))

    attempts: list[Attempt] = []
    refused_reads = 0
    stop = asyncio.Event()

    def unavailable(r: object) -> None:
        import httpx

        assert isinstance(r, httpx.Response)
        assert r.status_code == 503, r.text
        assert r.json() == {"error": {"code": "SERVICE_UNAVAILABLE", "message": UNAVAILABLE}}

    async def answer(p: Candidate, cid: int) -> None:
        # What candidate.js does: read the current question and answer it; when the read
        # fails the page still shows the last question and the candidate submits it again.
        # A refused answer is never assumed applied or not: the next good read decides.
        nonlocal refused_reads
        question: dict[str, str] | None = None
        while not stop.is_set():
            r = await p.http.get("/api/candidate/test")
            if r.status_code == 200:
                question = r.json()["question"]
                assert question is not None, "ran out of questions: raise QUESTIONS_PER_TEST or slow down"
            else:
                unavailable(r)
                refused_reads += 1
            if question is None:
                await asyncio.sleep(0.1)
                continue
            started = time.monotonic()
            r = await p.http.post(
                "/api/candidate/answers", json={"question_id": question["id"], "answer": by_id(question["id"]).answer}
            )
            attempts.append(Attempt(cid, question["id"], started, time.monotonic(), r.status_code))
            if r.status_code == 200:
                question = r.json()["question"]  # the next one, as the page shows it
            else:
                unavailable(r)
            await asyncio.sleep(0.25)

    answering = asyncio.gather(*(answer(p, cid) for p, cid in people))
    await asyncio.sleep(2.5)
    pair.primary.kill()
    killed_at = time.monotonic()
    # A failover manager (Patroni, repmgr, an operator) notices and promotes the standby.
    await asyncio.sleep(2)
    promote_issued = time.monotonic()
    await asyncio.to_thread(pair.promote)  # returns once the standby accepts writes
    promoted_at = time.monotonic()

    deadline = promoted_at + 30
    while not any(a.status == 200 and a.started > promoted_at for a in attempts):
        assert time.monotonic() < deadline, "no answer accepted after the promotion"
        await asyncio.sleep(0.05)
    back = min(a.ended for a in attempts if a.status == 200 and a.started > killed_at)
    await asyncio.sleep(3)
    stop.set()
    await answering

    gap = [a for a in attempts if a.status == 503]
    print(
        f"\npostgresql failover: writes back {back - killed_at:.2f} s after the kill, "
        f"{back - promote_issued:.2f} s after `pg_ctl promote` was issued; "
        f"{len(gap)} answers and {refused_reads} reads got 503"
    )
    record_property("pg_recovery_after_kill_seconds", round(back - killed_at, 2))
    record_property("pg_recovery_after_promote_seconds", round(back - promote_issued, 2))
    assert gap, "no request fell in the gap"
    assert all(a.started < promoted_at + 1 for a in gap), "503s long after the promotion: the app did not reconnect"

    # The new primary holds every acknowledged answer; an answer refused with 503 is there
    # only if it was in flight when the primary died (committed and replicated, reply lost).
    with psycopg.connect(pair.standby.url(DB)) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        stored = {(c, q) for c, q in conn.execute("SELECT candidate_id, question_id FROM answer")}
    acknowledged = {(a.candidate_id, a.question_id) for a in attempts if a.status == 200}
    in_doubt = {(a.candidate_id, a.question_id) for a in gap if a.started < killed_at}
    assert acknowledged <= stored, f"acknowledged answers lost: {acknowledged - stored}"
    assert stored - acknowledged <= in_doubt, f"answers applied though refused: {stored - acknowledged - in_doubt}"
    assert len([a for a in attempts if a.status == 200 and a.ended < killed_at]) > 0

    # The supervisor's socket stayed open through the switch and ends equal to the database.
    version, state = await http_state(day)
    await feed.wait(lambda f: f.version >= version, 15)
    assert feed.closed is None
    assert feed.versions == list(range(feed.first_version + 1, version + 1))
    assert comparable(feed.candidates) == state
    for p, cid in people:
        assert state[cid]["progress"]["answered"] == len([1 for c, _ in stored if c == cid])
        assert p.ws is not None and p.ws.close_code is None
        await p.close()
    await feed.close()
    await _close(cluster)
