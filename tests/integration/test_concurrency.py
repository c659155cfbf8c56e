"""Races through the real app on SQLite and PostgreSQL.

Several httpx clients fire at the same instant with `asyncio.gather`; the app runs its
database work in a thread pool, so the requests really overlap. Whatever the
interleaving, each rule must hold: one change and one event per real change, versions
contiguous, a resume authorisation used once, a start and a withdrawn presence never
both accepted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.conftest import World, event_log
from tests.integration.conftest import Cluster, _close, http_state, plan_day
from tests.live import Candidate, SupervisorFeed, comparable

TRIALS = 100
BIRTH = "2000-01-01"


def roster(count: int, prefix: str = "CANDIDAT") -> bytes:
    lines = ["nom;prenom;date_naissance;temps_majore"]
    lines += [f"{prefix}{i:03d};Prénom{i:03d};01/01/2000;" for i in range(count)]
    return ("\n".join(lines) + "\n").encode()


class Room:
    """One session with `count` candidates, two supervisors with access, and the staff."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.session: dict[str, Any] = {}
        self.ids: list[int] = []

    async def open(self, count: int, tag: str = "a") -> Room:
        w = self.world
        self.staff = await w.user(f"staff-{tag}@c.fr", "Alice", "Martin")
        centre = await w.centre(f"Centre {tag}", f"staff-{tag}@c.fr")
        self.session = await w.session(self.staff, centre)
        r = await self.staff.post(
            f"/api/sessions/{self.sid}/candidates/import", content=roster(count), headers={"Content-Type": "text/csv"}
        )
        assert r.status_code == 201, r.text
        detail = (await self.staff.get(f"/api/sessions/{self.sid}")).json()
        self.ids = [c["id"] for c in detail["candidates"]]
        self.marie = await w.user(f"marie-{tag}@c.fr", "Marie", "Curie")
        self.pierre = await w.user(f"pierre-{tag}@c.fr", "Pierre", "Curie")
        for sup in (self.marie, self.pierre):
            body = {"session_id": self.sid, "supervisor_password": self.session["supervisor_password"]}
            assert (await sup.post("/api/supervision/access", json=body)).status_code == 204
        return self

    @property
    def sid(self) -> int:
        return int(self.session["id"])

    def action(self, who: httpx.AsyncClient, cid: int, name: str, **body: Any) -> Any:
        path = f"/api/supervision/sessions/{self.sid}/candidates/{cid}/{name}"
        return who.post(path, json=body) if body else who.post(path)

    async def join(
        self, index: int, client: httpx.AsyncClient | None = None
    ) -> tuple[httpx.AsyncClient, httpx.Response]:
        c = client or self.world.client()
        body = {
            "session_id": self.sid,
            "access_code": self.session["access_code"],
            "first_name": f"Prénom{index:03d}",
            "last_name": f"CANDIDAT{index:03d}",
            "birthdate": BIRTH,
        }
        return c, await c.post("/api/candidate/join", json=body)

    async def confirm_and_join(self, index: int) -> httpx.AsyncClient:
        r = await self.action(self.marie, self.ids[index], "presence", authorized=True)
        assert r.status_code == 200, r.text
        c, r = await self.join(index)
        assert r.status_code == 200 and r.json()["next"] == "consent", r.text
        return c

    async def start(self, index: int) -> httpx.AsyncClient:
        c = await self.confirm_and_join(index)
        r = await c.post("/api/candidate/start", json={"consent": True})
        assert r.status_code == 201, r.text
        return c

    async def candidate(self, cid: int) -> dict[str, Any]:
        snap = (await self.marie.get(f"/api/supervision/sessions/{self.sid}")).json()
        return dict(next(c for c in snap["candidates"] if c["id"] == cid))

    async def assert_log_contiguous(self) -> list[tuple[int, str, str | None, int | None]]:
        log = await event_log(self.world.app, self.sid)
        assert [v for v, *_ in log] == list(range(1, len(log) + 1))
        snap = (await self.marie.get(f"/api/supervision/sessions/{self.sid}")).json()
        assert snap["version"] == len(log)
        return log


def events_for(log: list[tuple[int, str, str | None, int | None]], cid: int) -> int:
    return sum(1 for _, kind, _, candidate in log if kind == "candidate.updated" and candidate == cid)


async def test_two_supervisors_authorise_then_end_the_same_test_at_once(world: World) -> None:
    room = await Room(world).open(TRIALS)
    for i in range(TRIALS):
        await room.start(i)
    for i, cid in enumerate(room.ids):
        before = len(await event_log(world.app, room.sid))
        first, second = await asyncio.gather(
            room.action(room.marie, cid, "authorize-resume"), room.action(room.pierre, cid, "authorize-resume")
        )
        assert (first.status_code, second.status_code) == (200, 200), (i, first.text, second.text)
        log = await event_log(world.app, room.sid)
        assert len(log) == before + 1, f"trial {i}: {len(log) - before} events for one authorisation"
        assert log[-1][3] == cid and log[-1][2] in ("Marie Curie", "Pierre Curie")

        first, second = await asyncio.gather(
            room.action(room.marie, cid, "end-test"), room.action(room.pierre, cid, "end-test")
        )
        assert (first.status_code, second.status_code) == (200, 200), (i, first.text, second.text)
        assert first.json()["candidate"]["status"] == second.json()["candidate"]["status"] == "ended_by_supervisor"
        log = await event_log(world.app, room.sid)
        assert len(log) == before + 2, f"trial {i}: {len(log) - before - 1} events for one end"
        view = await room.candidate(cid)
        assert view["status"] == "ended_by_supervisor" and view["resume_requested"] is False
    log = await room.assert_log_contiguous()
    assert all(events_for(log, cid) == 1 + 1 + 1 + 2 for cid in room.ids)  # enrol, presence, start, authorise, end


async def test_two_supervisors_act_on_different_candidates_at_once(world: World) -> None:
    """Each change is kept and gets its own version, even when they commit together."""
    room = await Room(world).open(2 * 30)
    for cid in room.ids[1::2]:
        assert (await room.action(room.marie, cid, "presence", authorized=True)).status_code == 200
    for trial in range(30):
        a, b = room.ids[2 * trial], room.ids[2 * trial + 1]
        r1, r2, r3 = await asyncio.gather(
            room.action(room.marie, a, "presence", authorized=True),
            room.action(room.pierre, b, "presence", authorized=False),
            room.action(room.pierre, a, "presence", authorized=True),
        )
        assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 200], (trial, r1.text, r2.text, r3.text)
    log = await room.assert_log_contiguous()
    for trial in range(30):
        a, b = room.ids[2 * trial], room.ids[2 * trial + 1]
        assert events_for(log, a) == 2  # enrolled, then confirmed once by whichever came first
        assert events_for(log, b) == 3  # enrolled, confirmed, withdrawn
        assert (await room.candidate(a))["authorized_to_start"] is True


async def test_one_resume_authorisation_lets_exactly_one_of_two_joins_in(world: World) -> None:
    room = await Room(world).open(1)
    original = await room.start(0)
    cid = room.ids[0]
    winners: Counter[str] = Counter()
    for trial in range(40):
        r = await room.action(room.pierre, cid, "authorize-resume")
        assert r.status_code == 200, r.text
        left, right = world.client(), world.client()
        (_, a), (_, b) = await asyncio.gather(room.join(0, left), room.join(0, right))
        outcomes = sorted((r.status_code, r.json().get("next") or r.json()["error"]["code"]) for r in (a, b))
        assert outcomes == [(200, "test"), (403, "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION")], (trial, a.text, b.text)
        winner, loser = (left, right) if a.status_code == 200 else (right, left)
        winners["left" if winner is left else "right"] += 1
        # Only the winner holds the test; the loser and every older browser are shut out.
        assert (await winner.get("/api/candidate/test")).status_code == 200
        assert (await loser.get("/api/candidate/test")).status_code == 401
        assert (await original.get("/api/candidate/test")).status_code == 401
        original = winner
        view = await room.candidate(cid)
        assert view["resume_requested"] is True and view["status"] == "in_progress"
    await room.assert_log_contiguous()
    assert sum(winners.values()) == 40


async def test_presence_withdrawn_while_the_candidate_starts(world: World) -> None:
    """One of the two legal orders each time, never both accepted."""
    trials = 50
    room = await Room(world).open(trials)
    orders: Counter[str] = Counter()
    for i in range(trials):
        c = await room.confirm_and_join(i)
        cid = room.ids[i]
        withdraw, start = await asyncio.gather(
            room.action(room.pierre, cid, "presence", authorized=False),
            c.post("/api/candidate/start", json={"consent": True}),
        )
        view = await room.candidate(cid)
        if start.status_code == 201:
            assert withdraw.status_code == 409 and withdraw.json()["error"]["code"] == "CANDIDATE_ALREADY_STARTED"
            assert view["status"] == "in_progress" and view["authorized_to_start"] is False
            orders["started first"] += 1
        else:
            assert start.status_code == 403, start.text
            assert start.json()["error"]["code"] == "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION"
            assert withdraw.status_code == 200 and withdraw.json()["candidate"]["authorized_to_start"] is False
            assert view["status"] == "not_started" and view["authorized_to_start"] is False
            orders["withdrawn first"] += 1
    log = await room.assert_log_contiguous()
    assert sum(orders.values()) == trials
    # Each candidate: enrolled, confirmed, then exactly one of started / withdrawn.
    assert all(events_for(log, cid) == 3 for cid in room.ids)


async def test_a_burst_of_answers_and_supervisor_actions_keeps_versions_contiguous(world: World) -> None:
    """Candidates answering, supervisors confirming and a repeated answer, all at once."""
    room = await Room(world).open(24)
    runners = [await room.start(i) for i in range(12)]
    states = [(await c.get("/api/candidate/test")).json() for c in runners]

    def answer(c: httpx.AsyncClient, state: dict[str, Any]) -> Any:
        return c.post("/api/candidate/answers", json={"question_id": state["question"]["id"], "answer": 0})

    calls = [answer(c, s) for c, s in zip(runners, states, strict=True)]
    calls += [answer(c, s) for c, s in zip(runners, states, strict=True)]  # the double click
    calls += [room.action(room.marie, cid, "presence", authorized=True) for cid in room.ids[12:]]
    results = await asyncio.gather(*calls)
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    log = await room.assert_log_contiguous()
    for c, cid in zip(runners, room.ids[:12], strict=True):
        assert (await c.get("/api/candidate/test")).json()["candidate"]["progress"]["answered"] == 1
        assert events_for(log, cid) == 4  # enrolled, confirmed, started, one answer


async def test_finalising_while_supervisors_act_leaves_nothing_after_the_end(world: World) -> None:
    """Finalisation closes the session: no change may be recorded after its event, and
    nobody is left in progress."""
    room = await Room(world).open(0)
    centre = (await room.staff.get("/api/me")).json()["centres"][0]["id"]
    for trial in range(20):
        session = await world.session(room.staff, centre, room=f"Salle {trial}")
        sid = session["id"]
        csv = roster(6)
        r = await room.staff.post(
            f"/api/sessions/{sid}/candidates/import", content=csv, headers={"Content-Type": "text/csv"}
        )
        assert r.status_code == 201, r.text
        body = {"session_id": sid, "supervisor_password": session["supervisor_password"]}
        assert (await room.marie.post("/api/supervision/access", json=body)).status_code == 204
        ids = [c["id"] for c in (await room.staff.get(f"/api/sessions/{sid}")).json()["candidates"]]
        base = f"/api/supervision/sessions/{sid}/candidates"
        calls = [room.marie.post(f"{base}/{cid}/presence", json={"authorized": True}) for cid in ids]
        calls.insert(trial % 7, room.staff.post(f"/api/sessions/{sid}/finalize"))
        results = await asyncio.gather(*calls)
        assert all(r.status_code in (200, 403) for r in results), [r.text for r in results]
        log = await event_log(world.app, sid)
        assert [v for v, *_ in log] == list(range(1, len(log) + 1))
        assert log[-1][1] == "session.updated", f"trial {trial}: a change was recorded after finalisation: {log[-3:]}"
        refused = [r for r in results if r.status_code == 403]
        assert all(r.json()["error"]["code"] == "SESSION_FINALIZED" for r in refused)


async def test_twenty_candidates_answering_at_the_same_instant_reach_every_supervisor(cluster: Cluster) -> None:
    """Real server processes (SQLite and one process; PostgreSQL, two processes and Redis):
    the 20 candidates of a session send their answer at the same instant. Every answer is
    acknowledged, each is one version of the session's log with no hole, and every
    supervisor, whichever process holds their socket, receives all twenty, in order."""
    count = 20
    day = await plan_day(cluster, candidates=count)
    sid = day.session["id"]
    feeds = [
        await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url),
        await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url),
    ]
    people: list[Candidate] = []
    for i, (name, cid) in enumerate(sorted(day.ids.items())):
        r = await day.marie.post(
            f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True}
        )
        assert r.status_code == 200, r.text
        # Spread over the processes: the answers race on the session's lock from both.
        p = Candidate((cluster.a if i % 2 else cluster.b).url, day.session, name, f"Prenom{i}", "2000-01-01")
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        people.append(p)
    questions = [(await p.http.get("/api/candidate/test")).json()["question"]["id"] for p in people]
    before, _ = await http_state(day)

    answers = await asyncio.gather(
        *(
            p.http.post("/api/candidate/answers", json={"question_id": q, "answer": 0})
            for p, q in zip(people, questions, strict=True)
        )
    )

    assert [r.status_code for r in answers] == [200] * count, [r.text for r in answers if r.status_code != 200]
    assert all(r.json()["candidate"]["progress"]["answered"] == 1 for r in answers)
    version, state = await http_state(day)
    assert version == before + count
    engine = create_engine(cluster.env["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT version, candidate_id FROM session_event WHERE session_id = :s ORDER BY version"), {"s": sid}
        ).all()
    engine.dispose()
    assert [v for v, _ in logged] == list(range(1, version + 1))
    # One version per answer, one answer per candidate.
    assert sorted(cid for v, cid in logged if v > before) == sorted(day.ids.values())
    for feed in feeds:
        await feed.wait(lambda f: f.version >= version, 10)
        assert feed.versions == list(range(feed.first_version + 1, version + 1))
        answered = {
            m["candidate"]["id"]
            for m in feed.messages
            if m.get("type") == "event" and m["version"] > before and m.get("action") == "answered"
        }
        assert answered == set(day.ids.values())
        assert comparable(feed.candidates) == state
    for feed in feeds:
        await feed.close()
    for p in people:
        await p.close()
    await _close(cluster)
