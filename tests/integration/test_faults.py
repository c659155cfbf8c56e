"""Faults on exam day: Redis gone for 30 s, database connections cut. Nothing committed is
lost, nothing is half-applied, and everyone ends equal to the database."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import create_engine, text

from tests.integration.conftest import Cluster, _close, assert_room_intact, http_state, keep_answering, plan_day, seat
from tests.live import Candidate, SupervisorFeed
from tests.servers import RedisProcess

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
async def test_redis_down_for_30_seconds(cluster: Cluster) -> None:
    assert cluster.redis is not None
    day = await plan_day(cluster, candidates=6)
    sid = day.session["id"]
    feed_a = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    feed_b = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    people = await seat(cluster, day)

    stop = asyncio.Event()
    answered: dict[str, int] = {}
    answering = asyncio.create_task(keep_answering(people, stop, answered))
    await asyncio.sleep(2)
    cluster.redis.stop()
    outage_started = time.monotonic()
    before = dict(answered)
    await asyncio.sleep(30)
    # Candidates kept answering during the outage.
    assert sum(answered.values()) > sum(before.values())
    cluster.redis = RedisProcess(cluster.redis.port).start()
    assert time.monotonic() - outage_started >= 30
    await asyncio.sleep(3)
    stop.set()
    await answering
    await assert_room_intact(day, [feed_a, feed_b], people, answered)
    await feed_a.close()
    await feed_b.close()
    await _close(cluster)


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
async def test_database_connections_cut(cluster: Cluster) -> None:
    """Every answer during the cut is either applied (200) or refused with a clear 503,
    never half-applied, and the app recovers by itself."""
    day = await plan_day(cluster, candidates=2)
    sid = day.session["id"]
    cids = list(day.ids.values())
    people = []
    for name, cid in day.ids.items():
        await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
        p = Candidate(cluster.a.url, day.session, name, f"Prenom{int(name[-3:])}", "2000-01-01")
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        people.append(p)
    admin = create_engine(cluster.env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    statuses: list[int] = []
    ok = {cid: 0 for cid in cids}

    async def answer_loop(p: Candidate, cid: int) -> None:
        for _ in range(12):
            state = (await p.http.get("/api/candidate/test")).json()
            if "question" not in state or state["question"] is None:
                statuses.append(503)
                await asyncio.sleep(0.05)
                continue
            r = await p.http.post("/api/candidate/answers", json={"question_id": state["question"]["id"], "answer": 0})
            statuses.append(r.status_code)
            if r.status_code == 200:
                ok[cid] += 1
            else:
                assert r.status_code == 503 and r.json()["error"]["code"] == "SERVICE_UNAVAILABLE", r.text
            await asyncio.sleep(0.05)

    async def cutter() -> None:
        for _ in range(6):
            await asyncio.sleep(0.1)
            with admin.begin() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )

    await asyncio.gather(*(answer_loop(p, cid) for p, cid in zip(people, cids, strict=True)), cutter())
    admin.dispose()
    # Recovered: the next answers go through, and the database holds exactly what was acknowledged.
    for p in people:
        await p.answer()
    _, state = await http_state(day)
    for cid in cids:
        assert state[cid]["progress"]["answered"] == ok[cid] + 1
    assert 200 in statuses
    for p in people:
        await p.close()
    await _close(cluster)
