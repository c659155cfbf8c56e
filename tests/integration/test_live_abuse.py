"""Live sockets against abuse, on real server processes: how many a candidate or a
supervisor may hold, sockets of tests that are over or of joins that were superseded,
presence counted from the current join only, and a supervisor whose access is revoked.

Close codes (README, « Extensions du contrat »): 4408 a newer socket of the same person
replaced this one, 4409 the test was opened on another computer, 4410 the test is over,
4411 the supervisor's access was revoked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.conftest import Cluster, Day, _close, plan_day, sqlite_process
from tests.live import Candidate, SupervisorFeed, cookie_header
from tests.servers import AppProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def small(tmp_path: Path, sqlite_template: Path) -> Iterator[Cluster]:
    """One process on SQLite allowing 2 sockets per supervisor and per candidate."""
    with sqlite_process(tmp_path, sqlite_template, SUPERVISOR_SOCKETS="2", CANDIDATE_SOCKETS="2") as cluster:
        yield cluster


async def open_socket(url: str, origin: str, cookie: str) -> ClientConnection:
    return await connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10)  # type: ignore[arg-type]


async def closed_with(ws: ClientConnection, timeout: float = 10) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; the close code and what came before it."""
    seen: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout):
            async for raw in ws:
                seen.append(json.loads(raw))
    except TimeoutError:
        return None, seen
    except ConnectionClosed:
        pass
    return ws.close_code, seen


async def still_open(ws: ClientConnection, seconds: float = 1.0) -> bool:
    try:
        async with asyncio.timeout(seconds):
            async for _ in ws:
                pass
    except TimeoutError:
        return True
    except ConnectionClosed:
        return False
    return False


async def joined(cluster: Cluster, day: Day, n: int = 0, app: AppProcess | None = None) -> Candidate:
    app = app or cluster.a
    sid = day.session["id"]
    cid = day.ids[f"CANDIDAT{n:03d}"]
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    assert r.status_code == 200, r.text
    c = Candidate(app.url, day.session, f"CANDIDAT{n:03d}", f"Prenom{n}", "2000-01-01")
    assert (await c.join()).status_code == 200
    return c


# ---------------------------------------------------------------- caps


async def test_a_supervisor_holds_a_few_sockets_and_the_newest_wins(small: Cluster) -> None:
    day = await plan_day(small, candidates=1)
    app = small.a
    live = f"{app.ws_url}/api/supervision/sessions/{day.session['id']}/live"
    cookie = cookie_header(day.marie)
    first = await open_socket(live, app.url, cookie)
    await first.recv()
    second = await open_socket(live, app.url, cookie)
    await second.recv()
    third = await open_socket(live, app.url, cookie)
    await third.recv()
    code, _ = await closed_with(first)
    assert code == 4408
    assert first.close_reason and "onglet" in first.close_reason
    assert await still_open(second) and await still_open(third)
    # Another supervisor of the same session is counted apart.
    other = await open_socket(live, app.url, cookie_header(day.pierre))
    await other.recv()
    assert await still_open(second, 0.3) and await still_open(other, 0.3)
    for ws in (second, third, other):
        await ws.close()
    await _close(small)


async def candidate_sockets(cluster: Cluster, candidate: Candidate, count: int) -> list[ClientConnection]:
    """`count` candidate sockets opened with this candidate's cookie, each past its first state."""
    url, cookie = f"{cluster.a.ws_url}/api/candidate/live", cookie_header(candidate.http)
    sockets = []
    for _ in range(count):
        ws = await open_socket(url, cluster.a.url, cookie)
        await ws.recv()
        sockets.append(ws)
    return sockets


async def test_a_candidate_holds_a_few_sockets_and_the_newest_wins(small: Cluster) -> None:
    day = await plan_day(small, candidates=1)
    paul = await joined(small, day)
    sockets = await candidate_sockets(small, paul, 3)
    code, _ = await closed_with(sockets[0])
    assert code == 4408
    assert await still_open(sockets[1]) and await still_open(sockets[2])
    for ws in sockets[1:]:
        await ws.close()
    await paul.close()
    await _close(small)


async def test_a_refused_joins_listeners_cannot_push_the_current_browser_out(small: Cluster) -> None:
    """Someone who knows the code, name and birth date asks to resume, then opens tabs: the
    waiting page's sockets count apart from the current join's, so the candidate's browser
    stays connected and the dashboard keeps flagging the request as suspicious."""
    day = await plan_day(small, candidates=1)
    sid, cid = day.session["id"], day.ids["CANDIDAT000"]
    feed = await SupervisorFeed.open(small.a.ws_url, sid, day.marie, small.a.url)
    paul = await joined(small, day)
    assert (await paul.start()).status_code == 201
    await paul.connect(small.a.ws_url)
    other = Candidate(small.a.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    assert (await other.join()).status_code == 403  # resume requested, listening cookie
    await feed.wait(lambda f: f.candidates[cid]["resume_while_connected"], 10)
    tabs = await candidate_sockets(small, other, 3)
    # The listeners are capped among themselves...
    code, _ = await closed_with(tabs[0])
    assert code == 4408
    # ...and the candidate's own browser is not one of them.
    await asyncio.sleep(1)
    assert paul.ws is not None and paul.ws.close_code is None
    row = feed.candidates[cid]
    assert row["connection"] == "connected" and row["resume_while_connected"]
    for ws in tabs[1:]:
        await ws.close()
    await feed.close()
    await paul.close()
    await other.close()
    await _close(small)


# ---------------------------------------------------------------- over, superseded


async def test_the_socket_of_a_test_that_is_over_is_closed_and_refused(small: Cluster) -> None:
    day = await plan_day(small, candidates=2)
    sid = day.session["id"]
    paul = await joined(small, day)
    assert (await paul.start()).status_code == 201
    url, cookie = f"{small.a.ws_url}/api/candidate/live", cookie_header(paul.http)
    ws = await open_socket(url, small.a.url, cookie)
    await ws.recv()
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{day.ids['CANDIDAT000']}/end-test")
    assert r.status_code == 200
    code, seen = await closed_with(ws)
    # The page is told how it ended, then the socket closes.
    assert code == 4410 and seen[-1]["candidate"]["status"] == "ended_by_supervisor"
    again = await open_socket(url, small.a.url, cookie)
    code, seen = await closed_with(again)
    assert code == 4410 and seen and seen[-1]["candidate"]["status"] == "ended_by_supervisor"
    # A finalised session closes the sockets still open on it.
    lucie = await joined(small, day, 1)
    ws = await open_socket(url, small.a.url, cookie_header(lucie.http))
    await ws.recv()
    assert (await day.staff.post(f"/api/sessions/{sid}/finalize")).status_code == 200
    code, _ = await closed_with(ws)
    assert code == 4410
    await paul.close()
    await lucie.close()
    await _close(small)


async def test_a_superseded_join_loses_its_socket_and_its_presence(cluster: Cluster) -> None:
    """The test resumed on another computer: the old browser's socket is closed (on any
    process) and refused, and it no longer keeps the candidate shown as connected."""
    day = await plan_day(cluster, candidates=1)
    sid, cid = day.session["id"], day.ids["CANDIDAT000"]
    feed = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    old = await joined(cluster, day, app=cluster.b)
    assert (await old.start()).status_code == 201
    await old.connect(cluster.b.ws_url)
    await feed.wait(lambda f: f.candidates[cid]["connection"] == "connected", 10)
    new = Candidate(cluster.a.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    assert (await new.join()).status_code == 403  # resume requested
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/authorize-resume")
    assert r.status_code == 200
    assert (await new.join()).status_code == 200
    assert old.ws is not None
    await asyncio.wait_for(old.ws.wait_closed(), 10)
    assert old.ws.close_code == 4409
    stale = await open_socket(f"{cluster.b.ws_url}/api/candidate/live", cluster.b.url, cookie_header(old.http))
    code, _ = await closed_with(stale)
    assert code == 4409
    # The new browser never connected: once the lease runs out, the supervisors see it lost.
    await feed.wait(lambda f: f.candidates[cid]["connection"] == "lost", 20)
    await feed.close()
    await old.close()
    await new.close()
    await _close(cluster)


async def test_a_stale_browser_cannot_keep_a_candidate_shown_connected(small: Cluster) -> None:
    """Even before the close reaches it, a socket of an older join renews nothing."""
    day = await plan_day(small, candidates=1)
    sid, cid = day.session["id"], day.ids["CANDIDAT000"]
    feed = await SupervisorFeed.open(small.a.ws_url, sid, day.marie, small.a.url)
    old = await joined(small, day)
    # A waiting page of someone else (a refused join listens): it counts for nothing either.
    assert (await old.start()).status_code == 201
    other = Candidate(small.a.url, day.session, "CANDIDAT000", "Prenom0", "2000-01-01")
    assert (await other.join()).status_code == 403
    await other.connect(small.a.ws_url)
    await feed.wait(lambda f: f.candidates[cid]["resume_requested"], 5)
    await asyncio.sleep(0.5)
    assert feed.candidates[cid]["connection"] != "connected"
    await feed.close()
    await old.close()
    await other.close()
    await _close(small)


async def test_resync_requests_are_throttled_per_socket(small: Cluster) -> None:
    day = await plan_day(small, candidates=1)
    feed = await SupervisorFeed.open(small.a.ws_url, day.session["id"], day.marie, small.a.url)
    before = len(feed.messages)
    for _ in range(40):
        await feed.send({"type": "resync", "since": 0})
    await asyncio.sleep(1.5)
    replays = [m for m in feed.messages[before:] if m["type"] == "event"]
    versions = [m["version"] for m in replays]
    # Each full replay restarts at version 1: at most 2 served in 1.5 s, not 40.
    assert 1 <= versions.count(1) <= 2, versions.count(1)
    assert feed.closed is None
    await feed.close()
    await _close(small)


async def test_a_revoked_supervisors_dashboards_close_at_once(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=1)
    sid = day.session["id"]
    marie_id = (await day.marie.get("/api/me")).json()["user"]["id"]
    dashboards = [
        await open_socket(f"{app.ws_url}/api/supervision/sessions/{sid}/live", app.url, cookie_header(day.marie))
        for app in (cluster.a, cluster.b)
    ]
    for ws in dashboards:
        await ws.recv()
    pierre = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    r = await day.staff.delete(f"/api/sessions/{sid}/supervisors/{marie_id}")
    assert r.status_code == 204, r.text
    for ws in dashboards:
        code, _ = await closed_with(ws)
        assert code == 4411 and ws.close_reason and "retiré" in ws.close_reason
    again = await open_socket(f"{cluster.a.ws_url}/api/supervision/sessions/{sid}/live", cluster.a.url, cookie_header(day.marie))
    code, _ = await closed_with(again)
    assert code == 4403
    # The other supervisor carries on, and sees the list without her.
    await pierre.wait(lambda f: [s["name"] for s in f.supervisors] == ["Pierre Curie"], 5)
    assert pierre.closed is None
    await pierre.close()
    await _close(cluster)
