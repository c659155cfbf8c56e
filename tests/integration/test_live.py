"""Live supervision across real uvicorn processes: in-process broker (one process, SQLite)
and Redis pub/sub (two processes sharing PostgreSQL)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.conftest import Cluster, _close, http_state, plan_day
from tests.live import Candidate, SupervisorFeed, comparable
from tests.servers import RedisProcess

pytestmark = pytest.mark.slow


async def test_every_change_reaches_every_supervisor_in_order(cluster: Cluster) -> None:
    day = await plan_day(cluster)
    sid = day.session["id"]
    feed_a = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    feed_b = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    # Pierre (process B) confirms presence; candidates act through process B.
    changed_at: dict[str, float] = {}
    for name, cid in day.ids.items():
        r = await day.pierre.post(
            f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True}
        )
        assert r.status_code == 200
        changed_at[name] = time.monotonic()
    people = [Candidate(cluster.b.url, day.session, name, f"Prenom{int(name[-3:])}", "2000-01-01") for name in day.ids]
    for p in people:
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        await p.answer()
        await p.answer()
    r = await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{day.ids['CANDIDAT001']}/end-test")
    assert r.status_code == 200

    version, state = await http_state(day)
    counts = (await day.marie.get(f"/api/supervision/sessions/{sid}")).json()["counts"]
    assert counts == {"enrolled": 4, "present": 4, "in_progress": 3, "finished": 1}
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: f.version >= version, 5)
        # Strictly increasing and contiguous from the snapshot on: nothing missing, nothing twice.
        assert feed.versions == list(range(feed.first_version + 1, version + 1))
        assert comparable(feed.candidates) == state
        # The counters come with each event: the last one's are the database's.
        assert feed.counts == counts
    # Each presence change reached the other process's supervisor quickly (generous bound).
    first_presence = feed_b.first_version + 1
    assert feed_a.received_at[first_presence] - changed_at["CANDIDAT000"] < 1.0
    await feed_a.close()
    await feed_b.close()
    for p in people:
        await p.close()
    await _close(cluster)


async def test_resync_after_a_gap_ends_equal_to_the_database(cluster: Cluster) -> None:
    day = await plan_day(cluster)
    sid = day.session["id"]
    feed = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    for cid in day.ids.values():
        await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    version, state = await http_state(day)
    await feed.wait(lambda f: f.version >= version)
    # The client pretends it missed the last three events and asks again.
    feed.version -= 3
    feed.versions = feed.versions[:-3]
    await feed.send({"type": "resync", "since": feed.version})
    await feed.wait(lambda f: f.version >= version)
    assert comparable(feed.candidates) == state
    assert feed.versions[-3:] == [version - 2, version - 1, version]
    # A resync from long ago gets the replay too (or a fresh snapshot past the limit).
    await feed.send({"type": "resync", "since": 0})
    await asyncio.sleep(0.3)
    assert comparable(feed.candidates) == state
    # Garbage does not kill the socket.
    await feed.send({"type": "resync", "since": "hier"})
    await feed.ws.send("pas du json")
    await asyncio.sleep(0.2)
    assert feed.closed is None
    errors = [m for m in feed.messages if m["type"] == "error"]
    assert errors and errors[0]["error"]["code"] == "INVALID_MESSAGE"
    await feed.close()
    await _close(cluster)


async def test_the_candidate_hears_its_own_changes_at_once(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=2)
    sid = day.session["id"]
    paul = Candidate(cluster.a.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    other = day.ids["CANDIDAT001"]
    r = await paul.join()
    assert r.status_code == 403  # not yet confirmed: the page listens and waits
    await paul.connect(cluster.a.ws_url)
    await paul.wait_message(lambda m: m["type"] == "candidate" and m["candidate"]["authorized_to_start"] is False)
    await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{other}/presence", json={"authorized": True})
    await day.pierre.post(
        f"/api/supervision/sessions/{sid}/candidates/{day.ids['CANDIDAT000']}/presence", json={"authorized": True}
    )
    await paul.wait_message(lambda m: m["type"] == "candidate" and m["candidate"]["authorized_to_start"] is True)
    assert all(m["candidate"]["id"] == day.ids["CANDIDAT000"] for m in paul.messages if m.get("candidate"))
    assert (await paul.join()).status_code == 200
    assert (await paul.start()).status_code == 201
    await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{day.ids['CANDIDAT000']}/end-test")
    await paul.wait_message(lambda m: m["type"] == "candidate" and m["candidate"]["status"] == "ended_by_supervisor")
    await paul.close()
    await _close(cluster)


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
async def test_redis_restart_loses_nothing(cluster: Cluster) -> None:
    assert cluster.redis is not None
    day = await plan_day(cluster)
    sid = day.session["id"]
    feed_a = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    feed_b = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    ids = list(day.ids.values())
    await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{ids[0]}/presence", json={"authorized": True})
    cluster.redis.stop()
    # During the outage changes keep committing.
    for cid in ids[1:]:
        r = await day.pierre.post(
            f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True}
        )
        assert r.status_code == 200
    await asyncio.sleep(1.5)
    cluster.redis = RedisProcess(cluster.redis.port).start()
    await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{ids[0]}/presence", json={"authorized": False})
    version, state = await http_state(day)
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: f.version >= version, 15)
        assert feed.versions == list(range(feed.first_version + 1, version + 1))
        assert comparable(feed.candidates) == state
    await feed_a.close()
    await feed_b.close()
    await _close(cluster)


@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
async def test_killed_process_shows_its_candidates_lost(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=1)
    sid = day.session["id"]
    cid = day.ids["CANDIDAT000"]
    feed = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    paul = Candidate(cluster.b.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    assert (await paul.join()).status_code == 200
    await paul.connect(cluster.b.ws_url)
    await feed.wait(lambda f: f.candidates[cid]["connection"] == "connected", 5)
    killed_at = time.monotonic()
    cluster.b.kill()
    await feed.wait(lambda f: f.candidates[cid]["connection"] == "lost", 15)
    assert time.monotonic() - killed_at < 15
    # The candidate's page reconnects to the surviving process: back to "connected".
    await paul.close()
    back = Candidate(cluster.a.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    back.http.cookies.update(paul.http.cookies)
    await back.connect(cluster.a.ws_url)
    await feed.wait(lambda f: f.candidates[cid]["connection"] == "connected", 5)
    await feed.close()
    await back.close()
    await _close(cluster)


async def test_a_supervisor_entering_again_leaves_every_dashboard_equal_to_the_database(cluster: Cluster) -> None:
    """Marie entered first, Pierre second; Marie types the session password again. The
    supervisors' list (its order too) on Pierre's open dashboard stays the database's."""
    day = await plan_day(cluster, candidates=1)
    sid = day.session["id"]
    feed = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    await feed.wait(lambda f: [s["name"] for s in f.supervisors] == ["Marie Curie", "Pierre Curie"])
    r = await day.marie.post(
        "/api/supervision/access",
        json={"session_id": sid, "supervisor_password": day.session["supervisor_password"]},
    )
    assert r.status_code == 204
    # Whatever the dashboard was told, it ends where the database is, at the same version.
    deadline = time.monotonic() + 10
    while True:
        snap = (await day.marie.get(f"/api/supervision/sessions/{sid}")).json()
        await feed.wait(lambda f, v=snap["version"]: f.version >= v, 10)  # type: ignore[misc]
        if feed.version == snap["version"] and feed.supervisors == snap["supervisors"]:
            break
        assert time.monotonic() < deadline, (feed.supervisors, snap["supervisors"])
        await asyncio.sleep(0.1)
    assert [s["name"] for s in snap["supervisors"]] == ["Marie Curie", "Pierre Curie"]
    await feed.close()
    await _close(cluster)
