"""Room control through HTTP, on SQLite and PostgreSQL: pause and resume (one candidate and
the room), time adjustment and its arithmetic, bulk actions all or nothing, messages, the
join window and the expiry of tests left open, and every refusal with nothing changed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from sqlalchemy import event, text
from sqlmodel import Session
from starlette.applications import Starlette

from app import views
from app.actions.room import messages_for
from app.models import utcnow
from app.questions import by_id
from tests.conftest import World, digest, event_log
from tests.integration.test_concurrency import Room as RaceRoom
from tests.integration.test_logins import statements

CSV = (
    "nom;prenom;date_naissance;temps_majore\n"
    "ALPHA;Ana;01/01/2000;\n"
    "BRAVO;Bob;02/02/2000;33\n"
    "CHARLIE;Chloé;03/03/2000;\n"
    "DELTA;Dan;04/04/2000;\n"
)
BIRTHS = {"Ana": ("ALPHA", "2000-01-01"), "Bob": ("BRAVO", "2000-02-02"), "Chloé": ("CHARLIE", "2000-03-03"),
          "Dan": ("DELTA", "2000-04-04")}


@dataclass
class Room:
    session: dict[str, Any]
    staff: httpx.AsyncClient
    marie: httpx.AsyncClient
    ids: dict[str, int]
    browsers: dict[str, httpx.AsyncClient]

    @property
    def sid(self) -> int:
        return int(self.session["id"])

    def url(self, tail: str) -> str:
        return f"/api/supervision/sessions/{self.sid}{tail}"

    def cand(self, first: str, tail: str) -> str:
        return self.url(f"/candidates/{self.ids[first]}{tail}")


async def join(c: httpx.AsyncClient, session: dict[str, Any], first: str) -> httpx.Response:
    last, birth = BIRTHS[first]
    return await c.post(
        "/api/candidate/join",
        json={"session_id": session["id"], "access_code": session["access_code"], "first_name": first,
              "last_name": last, "birthdate": birth},
    )


async def open_room(world: World, started: tuple[str, ...] = ("Ana", "Bob", "Chloé"), **session: Any) -> Room:
    """Four enrolled, Marie supervising, the given candidates' tests started."""
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    s = await world.session(staff, centre, **session)
    r = await staff.post(f"/api/sessions/{s['id']}/candidates/import", content=CSV.encode())
    assert r.status_code == 201, r.text
    ids = {c["first_name"]: c["id"] for c in (await staff.get(f"/api/sessions/{s['id']}")).json()["candidates"]}
    marie = await world.user("marie@testix.fr", "Marie", "Curie")
    r = await marie.post("/api/supervision/access", json={"session_id": s["id"], "supervisor_password": s["supervisor_password"]})
    assert r.status_code == 204
    room = Room(s, staff, marie, ids, {})
    for first in started:
        assert (await marie.post(room.cand(first, "/presence"), json={"authorized": True})).status_code == 200
        browser = world.client()
        assert (await join(browser, s, first)).status_code == 200
        assert (await browser.post("/api/candidate/start", json={"consent": True})).status_code == 201
        room.browsers[first] = browser
    return room


def run_sql(app: Starlette, sql: str, **params: Any) -> None:
    with app.state.services.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def started_at(app: Starlette, candidate_id: int) -> dt.datetime:
    with app.state.services.db.engine.connect() as conn:
        raw = conn.execute(text("SELECT started_at FROM candidate WHERE id = :i"), {"i": candidate_id}).scalar_one()
    moment = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def refused(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]


# ------------------------------------------------------------------ pause and time


async def test_pause_ten_minutes_and_fifteen_more_with_extra_time(world: World) -> None:
    room = await open_room(world, started=("Bob",))
    bob = room.browsers["Bob"]
    r = await room.marie.post(room.cand("Bob", "/pause"), json={"message": "Changement de poste"})
    assert r.status_code == 200, r.text
    paused = r.json()["candidate"]
    assert paused["paused"] is True and paused["paused_since"] and paused["pause_message"] == "Changement de poste"

    # While paused: the page gets the pause, not the question, and the clock stands still.
    state = (await bob.get("/api/candidate/test")).json()
    assert state["question"] is None and state["candidate"]["paused"] is True
    first_left = state["time_left_seconds"]
    r = await bob.post("/api/candidate/answers", json={"question_id": "q01", "answer": 0})
    await refused(r, 409, "TEST_PAUSED")

    # The pause lasted ten minutes (the database says so; waiting them is not a test).
    run_sql(world.app, "UPDATE candidate SET paused_since = paused_since - INTERVAL '10 minutes' WHERE id = :i"
            if world.services.db.engine.dialect.name == "postgresql"
            else "UPDATE candidate SET paused_since = datetime(paused_since, '-10 minutes') WHERE id = :i",
            i=room.ids["Bob"])
    # The clock stopped when the pause began: ten minutes earlier now, so ten more minutes left.
    assert abs((await bob.get("/api/candidate/test")).json()["time_left_seconds"] - (first_left + 600)) <= 1

    r = await room.marie.post(room.cand("Bob", "/resume"))
    assert r.status_code == 200, r.text
    r = await room.marie.post(room.cand("Bob", "/adjust-time"), json={"minutes": 15, "reason": "Panne de courant"})
    assert r.status_code == 200, r.text
    view = r.json()["candidate"]
    start = started_at(world.app, room.ids["Bob"])
    # 105 min × 1.33 of extra time, + 15 min adjusted, + the 10 min of pause.
    expected = start + dt.timedelta(minutes=105 * 133 / 100) + dt.timedelta(minutes=15) + dt.timedelta(minutes=10)
    assert view["theoretical_end_at"] == views.iso(expected)
    assert view["paused"] is False and view["paused_since"] is None and view["time_adjustment_minutes"] == 15

    state = (await bob.get("/api/candidate/test")).json()
    assert state["candidate"]["theoretical_end_at"] == views.iso(expected)
    assert state["candidate"]["time_adjustment_minutes"] == 15 and state["candidate"]["paused"] is False
    left = (expected - utcnow()).total_seconds()
    assert abs(state["time_left_seconds"] - left) <= 2
    assert state["question"] is not None
    q = state["question"]
    r = await bob.post("/api/candidate/answers", json={"question_id": q["id"], "answer": by_id(q["id"]).answer})
    assert r.status_code == 200, r.text

    snap = (await room.marie.get(room.url(""))).json()
    assert next(c for c in snap["candidates"] if c["id"] == room.ids["Bob"])["theoretical_end_at"] == views.iso(expected)
    log = await event_log(world.app, room.sid)
    mine = [(a, cid) for _, t, a, cid in log if a == "Marie Curie" and cid == room.ids["Bob"]]
    assert len(mine) >= 4  # presence, pause, resume, adjustment: each with its actor
    recent = [e["action"] for e in snap["recent_events"]]
    assert recent[-3:] == ["paused", "unpaused", "time_adjusted"]
    adjusted = next(e for e in snap["recent_events"] if e["action"] == "time_adjusted")
    assert adjusted["adjustment"] == {"minutes": 15, "reason": "Panne de courant", "total": 15}
    assert adjusted["actor"] == {"name": "Marie Curie"}
    # The adjustment is in the session's record as an incident report, with its reason and author.
    recorded = [r for r in snap["reports"] if r["origin"] == "time_adjustment"]
    assert [(r["candidate_id"], r["comment"], r["author"]["name"]) for r in recorded] == [
        (room.ids["Bob"], "Temps ajusté de +15 min : Panne de courant", "Marie Curie")
    ]
    assert adjusted["report"] == recorded[0]


async def test_adjusting_time_moves_the_overtime_flag(world: World) -> None:
    """« Temps écoulé » follows the adjustment at once, in the view every screen gets."""
    room = await open_room(world, started=("Ana",))
    shift = (
        "UPDATE candidate SET started_at = started_at - INTERVAL '2 hours' WHERE id = :i"
        if world.services.db.engine.dialect.name == "postgresql"
        else "UPDATE candidate SET started_at = datetime(started_at, '-2 hours') WHERE id = :i"
    )
    run_sql(world.app, shift, i=room.ids["Ana"])

    def ana(snapshot: dict[str, Any]) -> dict[str, Any]:
        return next(c for c in snapshot["candidates"] if c["id"] == room.ids["Ana"])

    assert ana((await room.marie.get(room.url(""))).json())["overtime"] is True
    r = await room.marie.post(room.cand("Ana", "/adjust-time"), json={"minutes": 30, "reason": "Panne de courant"})
    assert r.status_code == 200 and r.json()["candidate"]["overtime"] is False
    state = (await room.browsers["Ana"].get("/api/candidate/test")).json()
    assert state["candidate"]["overtime"] is False and 14 * 60 < state["time_left_seconds"] <= 15 * 60
    r = await room.marie.post(room.cand("Ana", "/adjust-time"), json={"minutes": -30, "reason": "Erreur de saisie"})
    assert r.status_code == 200 and r.json()["candidate"]["overtime"] is True
    assert (await room.browsers["Ana"].get("/api/candidate/test")).json()["time_left_seconds"] == 0
    events = (await room.marie.get(room.url(""))).json()["recent_events"]
    assert [e["candidate"]["overtime"] for e in events if e["action"] == "time_adjusted"] == [False, True]


async def test_room_pause_pauses_only_tests_in_progress(world: World) -> None:
    room = await open_room(world, started=("Ana", "Bob"))
    # Chloé's presence is confirmed but she has not started.
    assert (await room.marie.post(room.cand("Chloé", "/presence"), json={"authorized": True})).status_code == 200
    before = len(await event_log(world.app, room.sid))
    r = await room.marie.post(room.url("/pause"), json={"message": "Alarme incendie"})
    assert r.status_code == 200, r.text
    assert sorted(c["first_name"] for c in r.json()["candidates"]) == ["Ana", "Bob"]
    log = await event_log(world.app, room.sid)
    assert [v for v, *_ in log[before:]] == [before + 1, before + 2]

    chloe = world.client()
    assert (await join(chloe, room.session, "Chloé")).status_code == 200
    assert (await chloe.post("/api/candidate/start", json={"consent": True})).status_code == 201
    state = (await chloe.get("/api/candidate/test")).json()
    assert state["candidate"]["paused"] is False and state["question"] is not None
    ana = (await room.browsers["Ana"].get("/api/candidate/test")).json()
    assert ana["candidate"]["paused"] is True and ana["candidate"]["pause_message"] == "Alarme incendie"

    # A reload of Ana's page after a supervisor's authorisation still shows the pause.
    assert (await room.marie.post(room.cand("Ana", "/authorize-resume"))).status_code == 200
    again = world.client()
    r = await join(again, room.session, "Ana")
    assert r.status_code == 200 and r.json()["candidate"]["paused"] is True
    assert (await again.get("/api/candidate/test")).json()["question"] is None

    r = await room.marie.post(room.url("/resume"))
    assert sorted(c["first_name"] for c in r.json()["candidates"]) == ["Ana", "Bob"]
    await refused(await room.marie.post(room.url("/resume")), 409, "NO_TEST_PAUSED")


async def test_pause_resume_adjust_refusals_change_nothing(world: World) -> None:
    room = await open_room(world, started=("Ana", "Bob"))
    m = room.marie
    # Bob finished early: his test ended by the supervisor.
    assert (await m.post(room.cand("Bob", "/end-test"))).status_code == 200
    other = await world.user("other@testix.fr", "Oscar", "Autre")
    staff_b = await world.user("admin@b.fr", "Bruno", "B")
    centre_b = await world.centre("Centre B", "admin@b.fr")
    s2 = await world.session(staff_b, centre_b)
    r = await staff_b.post(f"/api/sessions/{s2['id']}/candidates", json={"last_name": "ZED", "first_name": "Zoé",
                                                                          "birthdate": "2000-01-01"})
    zoe = r.json()["candidate"]["id"]
    before = digest(world.app)
    cases = [
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 121, "reason": "x"}), 422, "MINUTES_OUT_OF_RANGE"),
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": -31, "reason": "x"}), 422, "MINUTES_OUT_OF_RANGE"),
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 0, "reason": "x"}), 422, "MINUTES_OUT_OF_RANGE"),
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": "10", "reason": "x"}), 422, "INVALID_PAYLOAD"),
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 10}), 422, "REASON_REQUIRED"),
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 10, "reason": "  "}), 422, "REASON_REQUIRED"),
        (m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 10, "reason": "x" * 301}), 422, "REASON_TOO_LONG"),
        (m.post(room.cand("Bob", "/adjust-time"), json={"minutes": 10, "reason": "x"}), 409, "TEST_ALREADY_FINISHED"),
        (m.post(room.cand("Chloé", "/adjust-time"), json={"minutes": 10, "reason": "x"}), 409, "TEST_NOT_STARTED"),
        (m.post(room.cand("Ana", "/resume")), 409, "TEST_NOT_PAUSED"),
        (m.post(room.cand("Bob", "/pause")), 409, "TEST_ALREADY_FINISHED"),
        (m.post(room.cand("Chloé", "/pause")), 409, "TEST_NOT_STARTED"),
        (m.post(room.cand("Ana", "/pause"), json={"message": "x" * 301}), 422, "PAUSE_MESSAGE_TOO_LONG"),
        (m.post(room.url(f"/candidates/{zoe}/pause")), 404, "CANDIDATE_NOT_FOUND"),
        (m.post(room.url(f"/candidates/{zoe}/adjust-time"), json={"minutes": 5, "reason": "x"}), 404,
         "CANDIDATE_NOT_FOUND"),
        (other.post(room.cand("Ana", "/pause")), 403, "NO_SUPERVISOR_ACCESS"),
        (other.post(room.url("/pause")), 403, "NO_SUPERVISOR_ACCESS"),
        (world.client().post(room.cand("Ana", "/pause")), 401, "NOT_AUTHENTICATED"),
    ]
    for call, status, code in cases:
        await refused(await call, status, code)
    assert digest(world.app) == before

    # Pausing a paused test; the total adjustment bounded.
    assert (await m.post(room.cand("Ana", "/pause"))).status_code == 200
    after_pause = digest(world.app)
    await refused(await m.post(room.cand("Ana", "/pause")), 409, "TEST_ALREADY_PAUSED")
    assert (await m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 120, "reason": "Tiers temps"})).status_code == 200
    after_adjust = digest(world.app)
    await refused(await m.post(room.cand("Ana", "/adjust-time"), json={"minutes": 1, "reason": "x"}), 409,
                  "TIME_ADJUSTMENT_LIMIT")
    assert digest(world.app) == after_adjust != after_pause

    # A finalised session: refused, nothing changed.
    assert (await room.staff.post(f"/api/sessions/{room.sid}/finalize")).status_code == 200
    final = digest(world.app)
    await refused(await m.post(room.cand("Ana", "/resume")), 403, "SESSION_FINALIZED")
    await refused(await m.post(room.url("/pause")), 403, "SESSION_FINALIZED")
    await refused(await m.post(room.cand("Ana", "/pause")), 403, "SESSION_FINALIZED")
    await refused(await m.post(room.cand("Ana", "/adjust-time"), json={"minutes": -5, "reason": "x"}), 403,
                  "SESSION_FINALIZED")
    await refused(await m.post(room.url("/bulk"), json={"action": "confirm_presence", "candidate_ids": [room.ids["Dan"]]}),
                  403, "SESSION_FINALIZED")
    await refused(await m.post(room.url("/messages"), json={"text": "Bonjour"}), 403, "SESSION_FINALIZED")
    assert digest(world.app) == final
    # Finalising folded Ana's pause into her time: her view is no longer paused.
    detail = (await room.staff.get(f"/api/sessions/{room.sid}")).json()
    ana = next(c for c in detail["candidates"] if c["first_name"] == "Ana")
    assert ana["status"] == "ended_by_finalization" and ana["paused"] is False


# ------------------------------------------------------------------ bulk


async def test_bulk_actions_are_all_or_nothing(world: World) -> None:
    room = await open_room(world, started=("Ana", "Bob"))
    m = room.marie
    ana, bob, chloe, dan = (room.ids[n] for n in ("Ana", "Bob", "Chloé", "Dan"))

    # Confirm the presence of two: two events, contiguous versions, one actor.
    before = len(await event_log(world.app, room.sid))
    r = await m.post(room.url("/bulk"), json={"action": "confirm_presence", "candidate_ids": [chloe, dan]})
    assert r.status_code == 200, r.text
    assert [c["authorized_to_start"] for c in r.json()["candidates"]] == [True, True]
    log = await event_log(world.app, room.sid)
    assert [(v, a, cid) for v, _, a, cid in log[before:]] == [
        (before + 1, "Marie Curie", chloe), (before + 2, "Marie Curie", dan)]

    # One invalid candidate in the selection: nobody changes.
    unchanged = digest(world.app)
    cases = [
        ({"action": "pause", "candidate_ids": [ana, chloe]}, 409, "TEST_NOT_STARTED"),
        ({"action": "confirm_presence", "candidate_ids": [chloe]}, 409, "PRESENCE_ALREADY_CONFIRMED"),
        ({"action": "end_test", "candidate_ids": [ana, bob, 999_999]}, 404, "CANDIDATE_NOT_FOUND"),
        ({"action": "resume", "candidate_ids": [ana]}, 409, "TEST_NOT_PAUSED"),
        ({"action": "confirm_presence", "all_in_progress": True}, 422, "SELECTION_REQUIRED"),
        ({"action": "explode", "candidate_ids": [ana]}, 422, "UNKNOWN_BULK_ACTION"),
        ({"action": "pause", "candidate_ids": []}, 422, "INVALID_PAYLOAD"),
        ({"action": "pause", "candidate_ids": [ana, True]}, 422, "INVALID_PAYLOAD"),
        ({"action": "pause", "candidate_ids": [ana], "all_in_progress": True}, 422, "INVALID_PAYLOAD"),
        ({"candidate_ids": [ana]}, 422, "INVALID_PAYLOAD"),
    ]
    for body, status, code in cases:
        await refused(await m.post(room.url("/bulk"), json=body), status, code)
    assert digest(world.app) == unchanged
    r = await m.post(room.url("/bulk"), json={"action": "pause", "candidate_ids": [ana, chloe]})
    assert "CHARLIE Chloé" in r.json()["error"]["message"] and r.json()["candidate_id"] == chloe

    # Pause then resume the two tests in progress, then end every test in progress at once.
    r = await m.post(room.url("/bulk"), json={"action": "pause", "candidate_ids": [ana, bob]})
    assert [c["paused"] for c in r.json()["candidates"]] == [True, True]
    r = await m.post(room.url("/bulk"), json={"action": "resume", "candidate_ids": [bob, ana, bob]})
    assert [c["id"] for c in r.json()["candidates"]] == [bob, ana]
    before = len(await event_log(world.app, room.sid))
    r = await m.post(room.url("/bulk"), json={"action": "end_test", "all_in_progress": True})
    assert r.status_code == 200, r.text
    assert {c["status"] for c in r.json()["candidates"]} == {"ended_by_supervisor"}
    assert len(await event_log(world.app, room.sid)) == before + 2
    await refused(await m.post(room.url("/bulk"), json={"action": "end_test", "all_in_progress": True}), 422,
                  "NO_CANDIDATE_SELECTED")
    r = await room.browsers["Ana"].get("/api/candidate/test")
    await refused(r, 409, "TEST_ENDED_BY_SUPERVISOR")


async def test_bulk_end_records_its_reason_as_the_single_end_does(world: World) -> None:
    room = await open_room(world, started=("Ana", "Bob", "Chloé"))
    m = room.marie
    ana, bob, chloe = (room.ids[n] for n in ("Ana", "Bob", "Chloé"))
    # A reason goes with ending tests only, and must be a valid one: nothing changes otherwise.
    unchanged = digest(world.app)
    cases = [
        {"action": "pause", "candidate_ids": [ana], "category": "technical"},
        {"action": "end_test", "candidate_ids": [ana], "category": "nope"},
        {"action": "end_test", "candidate_ids": [ana], "comment": "sans motif"},
        {"action": "end_test", "candidate_ids": [ana], "category": "technical", "comment": "x" * 1001},
    ]
    for body in cases:
        await refused(await m.post(room.url("/bulk"), json=body), 422, "INVALID_PAYLOAD")
    assert digest(world.app) == unchanged

    # The single end with its reason, then two at once with theirs: one report each, by
    # the same origin and author, told by the same two events per candidate.
    r = await m.post(room.cand("Chloé", "/end-test"), json={"category": "fraud", "comment": "Téléphone"})
    assert r.status_code == 200 and r.json()["candidate"]["reports_count"] == 1
    before = len(await event_log(world.app, room.sid))
    body = {"action": "end_test", "candidate_ids": [ana, bob], "category": "technical", "comment": "Alarme incendie"}
    r = await m.post(room.url("/bulk"), json=body)
    assert r.status_code == 200, r.text
    assert [(c["status"], c["reports_count"]) for c in r.json()["candidates"]] == [("ended_by_supervisor", 1)] * 2
    log = await event_log(world.app, room.sid)
    assert [(v, cid) for v, _, _, cid in log[before:]] == [
        (before + 1, ana), (before + 2, ana), (before + 3, bob), (before + 4, bob)]
    snap = (await m.get(room.url(""))).json()
    reports = {x["candidate_id"]: x for x in snap["reports"]}
    assert set(reports) == {ana, bob, chloe}
    for cid in (ana, bob):
        assert (reports[cid]["category"], reports[cid]["comment"]) == ("technical", "Alarme incendie")
        assert reports[cid]["origin"] == reports[chloe]["origin"] == "end_test"
        assert reports[cid]["author"] == reports[chloe]["author"]


# ------------------------------------------------------------------ messages


async def test_message_refusals_and_rate_limit(world: World) -> None:
    room = await open_room(world, started=("Ana", "Bob"))
    m = room.marie
    assert (await m.post(room.cand("Bob", "/end-test"))).status_code == 200
    unchanged = digest(world.app)
    cases = [
        ({"text": ""}, 422, "MESSAGE_REQUIRED"),
        ({"text": " \n "}, 422, "MESSAGE_REQUIRED"),
        ({}, 422, "MESSAGE_REQUIRED"),
        ({"text": "x" * 281}, 422, "MESSAGE_TOO_LONG"),
        ({"text": 12}, 422, "INVALID_PAYLOAD"),
        ({"text": "bip\x07"}, 422, "INVALID_PAYLOAD"),
        ({"text": "Bonjour", "candidate_id": "Ana"}, 422, "INVALID_PAYLOAD"),
        ({"text": "Bonjour", "candidate_id": room.ids["Bob"]}, 409, "TEST_ALREADY_FINISHED"),
        ({"text": "Bonjour", "candidate_id": 999_999}, 404, "CANDIDATE_NOT_FOUND"),
    ]
    for body, status, code in cases:
        await refused(await m.post(room.url("/messages"), json=body), status, code)
    assert digest(world.app) == unchanged

    # Plain text, stored and sent as typed (the pages never read it as markup).
    r = await m.post(room.url("/messages"), json={"text": "<b>Il   reste</b>\n10 minutes"})
    assert r.status_code == 201 and r.json()["message"] == {"text": "<b>Il reste</b> 10 minutes", "to": None}
    for _ in range(5):
        assert (await m.post(room.url("/messages"), json={"text": "Silence"})).status_code == 201
    limited = digest(world.app)
    r = await m.post(room.url("/messages"), json={"text": "Encore"})
    await refused(r, 429, "TOO_MANY_MESSAGES")
    assert r.headers["Retry-After"] == "60"
    assert digest(world.app) == limited
    snap = (await m.get(room.url(""))).json()
    sent = [e for e in snap["recent_events"] if e["action"] == "message_sent"]
    assert len(sent) == 6 and sent[0]["message"]["text"] == "<b>Il reste</b> 10 minutes"


# ------------------------------------------------------------------ session window and expiry


async def test_join_opens_thirty_minutes_before_the_session(world: World) -> None:
    paris = ZoneInfo("Europe/Paris")
    later = (utcnow() + dt.timedelta(hours=2)).astimezone(paris)
    soon = (utcnow() + dt.timedelta(minutes=20)).astimezone(paris)
    room = await open_room(world, started=(), date=later.date().isoformat(), time=f"{later:%H:%M}")
    assert (await room.marie.post(room.cand("Ana", "/presence"), json={"authorized": True})).status_code == 200
    unchanged = digest(world.app)
    r = await join(world.client(), room.session, "Ana")
    await refused(r, 412, "SESSION_NOT_YET_OPEN")
    opens = later - dt.timedelta(minutes=30)
    assert f"{opens.hour} h {opens.minute:02d}" in r.json()["error"]["message"]
    assert digest(world.app) == unchanged

    staff2 = await world.user("admin2@testix.fr", "Alain", "Deux")
    centre2 = await world.centre("Centre deux", "admin2@testix.fr")
    s2 = await world.session(staff2, centre2, date=soon.date().isoformat(), time=f"{soon:%H:%M}")
    r = await staff2.post(f"/api/sessions/{s2['id']}/candidates",
                          json={"last_name": "ALPHA", "first_name": "Ana", "birthdate": "2000-01-01"})
    # Twenty minutes before: open (refused only for the presence not yet confirmed).
    await refused(await join(world.client(), s2, "Ana"), 403, "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION")


async def test_expiry_sweep_ends_tests_open_more_than_a_day(world: World) -> None:
    room = await open_room(world, started=("Ana", "Bob"))
    assert await world.services.expiry.sweep() == 0
    shift = (
        "UPDATE candidate SET started_at = started_at - INTERVAL '25 hours' WHERE id = :i"
        if world.services.db.engine.dialect.name == "postgresql"
        else "UPDATE candidate SET started_at = datetime(started_at, '-25 hours') WHERE id = :i"
    )
    run_sql(world.app, shift, i=room.ids["Ana"])
    assert (await room.marie.post(room.cand("Ana", "/pause"))).status_code == 200
    assert await world.services.expiry.sweep() == 1
    assert await world.services.expiry.sweep() == 0
    snap = (await room.marie.get(room.url(""))).json()
    status = {c["first_name"]: (c["status"], c["paused"]) for c in snap["candidates"]}
    assert status["Ana"] == ("ended_by_expiry", False) and status["Bob"] == ("in_progress", False)
    assert snap["recent_events"][-1]["action"] == "ended_by_expiry"
    assert snap["recent_events"][-1]["actor"] == {"name": "Fermeture automatique"}
    await refused(await room.browsers["Ana"].get("/api/candidate/test"), 409, "TEST_ENDED_BY_EXPIRY")
    await refused(await room.marie.post(room.cand("Ana", "/resume")), 409, "TEST_ALREADY_FINISHED")


# ------------------------------------------------------------------ the supervisor's tools


async def test_supervisor_kit_and_help_page(world: World) -> None:
    room = await open_room(world, started=())
    r = await room.marie.get(room.url("/supervisor-kit.pdf"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and f"session-{room.sid}.pdf" in r.headers["content-disposition"]
    outsider = await world.user("outsider@testix.fr", "Oscar", "Wilde")
    await refused(await outsider.get(room.url("/supervisor-kit.pdf")), 403, "NO_SUPERVISOR_ACCESS")
    await refused(await world.client().get(room.url("/supervisor-kit.pdf")), 401, "NOT_AUTHENTICATED")
    # The centre's own route still serves its members, and only them.
    assert (await room.staff.get(f"/api/sessions/{room.sid}/supervisor-kit.pdf")).status_code == 200
    await refused(await room.marie.get(f"/api/sessions/{room.sid}/supervisor-kit.pdf"), 403, "NOT_A_MEMBER")

    page = await world.client().get("/surveillance/aide")
    assert page.status_code == 200
    assert "Récapitulatif du guide" in page.text and "Autoriser la reprise du test" in page.text
    dashboard = await room.marie.get(f"/surveillance/sessions/{room.sid}")
    assert f'href="/api/supervision/sessions/{room.sid}/supervisor-kit.pdf"' in dashboard.text
    assert 'href="/surveillance/aide"' in dashboard.text


# ------------------------------------------------------------------ races


async def test_two_supervisors_pause_the_room_at_once(world: World) -> None:
    """20 trials: exactly one room pause (one event per test) and one resume win each time."""
    room = await RaceRoom(world).open(4)
    for i in range(4):
        await room.start(i)
    for trial in range(20):
        before = len(await event_log(world.app, room.sid))
        base = f"/api/supervision/sessions/{room.sid}"
        first, second = await asyncio.gather(room.marie.post(base + "/pause"), room.pierre.post(base + "/pause"))
        codes = sorted((first.status_code, second.status_code))
        assert codes == [200, 409], (trial, first.text, second.text)
        assert {first.json().get("error", {}).get("code"), second.json().get("error", {}).get("code")} == {
            None,
            "NO_TEST_TO_PAUSE",
        }
        assert len(await event_log(world.app, room.sid)) == before + 4
        first, second = await asyncio.gather(room.marie.post(base + "/resume"), room.pierre.post(base + "/resume"))
        assert sorted((first.status_code, second.status_code)) == [200, 409], (trial, first.text, second.text)
        assert len(await event_log(world.app, room.sid)) == before + 8
    await room.assert_log_contiguous()


async def test_an_answer_racing_a_pause_is_never_recorded_while_paused(world: World) -> None:
    """15 trials: either the answer lands before the pause, or it is refused with TEST_PAUSED."""
    room = await RaceRoom(world).open(1)
    browser = await room.start(0)
    cid = room.ids[0]
    for trial in range(15):
        q = (await browser.get("/api/candidate/test")).json()["question"]
        body = {"question_id": q["id"], "answer": by_id(q["id"]).answer}
        answer, pause = await asyncio.gather(
            browser.post("/api/candidate/answers", json=body), room.action(room.marie, cid, "pause")
        )
        assert pause.status_code == 200, pause.text
        paused_at = pause.json()["candidate"]["progress"]["answered"]
        if answer.status_code == 200:
            assert paused_at == trial + 1, (trial, paused_at)
        else:
            assert answer.json()["error"]["code"] == "TEST_PAUSED" and paused_at == trial, (trial, answer.text)
        assert (await room.action(room.marie, cid, "resume")).status_code == 200
        if answer.status_code != 200:
            assert (await browser.post("/api/candidate/answers", json=body)).status_code == 200
    assert (await room.candidate(cid))["progress"]["answered"] == 15
    await room.assert_log_contiguous()


def another_transaction(database_url: str) -> psycopg.Connection[Any]:
    """A second client of the test's database, bounded so that a lock it waits for fails the
    test instead of hanging it."""
    conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
    conn.execute("SET statement_timeout = '10s'")
    return conn


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_an_access_removed_while_an_action_waits_for_the_lock_is_refused(world: World, database_url: str) -> None:
    """A supervisor's action on one candidate locks the session and the candidate, then reads
    the access. Here another transaction holds the session's lock and removes Marie's access
    while her pause and her presence change wait for it: once it commits, both are refused
    as from someone without access, and nothing is recorded."""
    room = await open_room(world)
    untouched = ("failed_attempt", "login_session", "supervisor_access")
    before, log_before = digest(world.app, exclude=untouched), await event_log(world.app, room.sid)
    with another_transaction(database_url) as other:
        other.execute("SELECT id FROM exam_session WHERE id = %s FOR UPDATE", (room.sid,))
        removed = other.execute(
            'DELETE FROM supervisor_access WHERE session_id = %s AND user_id = (SELECT id FROM "user" WHERE email = %s)',
            (room.sid, "marie@testix.fr"),
        )
        assert removed.rowcount == 1
        waiting = [
            asyncio.create_task(room.marie.post(room.cand("Ana", "/pause"), json={})),
            asyncio.create_task(room.marie.post(room.cand("Dan", "/presence"), json={"authorized": True})),
        ]
        await asyncio.sleep(0.5)
        assert not any(task.done() for task in waiting)
        other.commit()
        refused = await asyncio.gather(*waiting)
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "NO_SUPERVISOR_ACCESS"
    assert await event_log(world.app, room.sid) == log_before
    assert digest(world.app, exclude=untouched) == before


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_an_action_waiting_for_a_candidate_under_lease_renewal_does_not_deadlock(
    world: World, database_url: str
) -> None:
    """The lease renewal updates candidates, then supervisors' accesses, without the session's
    lock. A pause that waits for the candidate's row meanwhile must hold nothing the renewal
    needs next: with the access locked too, PostgreSQL found a deadlock here and the pause
    answered 500 (seen once in `bench cross-process`)."""
    room = await open_room(world)
    with another_transaction(database_url) as renewal:
        marie = renewal.execute('SELECT id FROM "user" WHERE email = %s', ("marie@testix.fr",)).fetchone()
        assert marie is not None
        renewal.execute("UPDATE candidate SET lease_until = now() WHERE id = %s", (room.ids["Ana"],))
        pause = asyncio.create_task(room.marie.post(room.cand("Ana", "/pause"), json={}))
        await asyncio.sleep(0.5)
        assert not pause.done()
        renewal.execute(
            "UPDATE supervisor_access SET lease_until = now() WHERE session_id = %s AND user_id = %s",
            (room.sid, marie[0]),
        )
        renewal.commit()
        response = await pause
    assert response.status_code == 200, response.text
    assert response.json()["candidate"]["paused"] is True


def last_event(app: Starlette, session_id: int) -> dict[str, Any]:
    with app.state.services.db.engine.connect() as conn:
        payload = conn.execute(
            text("SELECT payload FROM session_event WHERE session_id = :s ORDER BY version DESC LIMIT 1"),
            {"s": session_id},
        ).scalar_one()
    return dict(json.loads(payload))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_the_counters_of_an_action_that_waited_for_the_lock_include_what_was_committed_meanwhile(
    world: World, database_url: str
) -> None:
    """A supervisor's action tallies its event's counters from the candidates it reads after
    taking the session's lock. Here another transaction holds that lock and ticks Bob while
    Marie's confirmation of Chloé waits: her event counts both, as the snapshot does. Read
    with the lock statement (before the wait), Bob would be missing."""
    room = await open_room(world, started=("Ana",))
    with another_transaction(database_url) as other:
        other.execute("SELECT id FROM exam_session WHERE id = %s FOR UPDATE", (room.sid,))
        other.execute("UPDATE candidate SET authorized_to_start = true WHERE id = %s", (room.ids["Bob"],))
        confirm = asyncio.create_task(room.marie.post(room.cand("Chloé", "/presence"), json={"authorized": True}))
        await asyncio.sleep(0.5)
        assert not confirm.done()
        other.commit()
        response = await confirm
    assert response.status_code == 200, response.text
    event = last_event(world.app, room.sid)
    assert event["action"] == "presence_confirmed" and event["candidate"]["id"] == room.ids["Chloé"]
    assert event["counts"] == {"enrolled": 4, "present": 3, "in_progress": 1, "finished": 0}
    snapshot = (await room.marie.get(room.url(""))).json()
    assert snapshot["counts"] == event["counts"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_supervisor_action_on_one_candidate_is_three_statements(world: World) -> None:
    """Lock the session and the candidate; read the access (and, for an action that changes
    the counters, every candidate's state with it); write the candidate, the version and the
    event in one statement (data-modifying CTEs). No other round trip but the login lookup
    of the request."""
    room = await open_room(world)
    for tail, body, action in (
        ("/pause", {}, "paused"),
        ("/presence", {"authorized": True}, "presence_confirmed"),
        ("/end-test", {}, "ended_by_supervisor"),
    ):
        first = "Dan" if action == "presence_confirmed" else "Ana" if action == "paused" else "Bob"
        with statements(world.app) as seen:
            response = await room.marie.post(room.cand(first, tail), json=body)
        assert response.status_code == 200, response.text
        assert last_event(world.app, room.sid)["action"] == action
        lookup, lock, access, write = seen
        assert lookup.startswith("SELECT") and "FROM login_session" in lookup
        assert lock.startswith("SELECT") and lock.endswith("FOR UPDATE OF exam_session, candidate")
        assert "supervisor_access" in access
        # A pause does not change the counters: only the others read the room with the access.
        assert ("UNION ALL" in access) is (action != "paused"), access
        assert write.startswith("WITH") and "INSERT INTO session_event" in write
        assert "UPDATE candidate" in write and "UPDATE exam_session" in write


async def test_a_candidates_recent_messages_are_read_by_their_index_not_by_the_whole_log(world: World) -> None:
    """A long session's log is a thousand answers and more and a few messages: the messages a
    candidate's page asks for on every connection come from the partial index."""
    room = await open_room(world)
    r = await room.marie.post(room.url("/messages"), json={"text": "Il reste dix minutes."})
    assert r.status_code == 201, r.text
    engine = world.app.state.services.db.engine
    with engine.begin() as conn:
        top = conn.execute(text("SELECT max(version) FROM session_event WHERE session_id = :s"), {"s": room.sid})
        first = int(top.scalar_one()) + 1
        answer = conn.execute(
            text(
                "SELECT payload FROM session_event WHERE session_id = :s AND type = 'candidate.updated'"
                " ORDER BY version DESC LIMIT 1"
            ),
            {"s": room.sid},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO session_event (session_id, version, type, payload, at)"
                " VALUES (:s, :v, 'candidate.updated', :p, :at)"
            ),
            [
                {"s": room.sid, "v": v, "p": json.dumps({**json.loads(answer), "version": v}), "at": utcnow()}
                for v in range(first, first + 1000)
            ],
        )
        conn.execute(text("UPDATE exam_session SET version = :v WHERE id = :s"), {"v": first + 999, "s": room.sid})
        conn.execute(text("ANALYZE"))
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "session_event" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as db:
            messages = messages_for(db, room.sid, room.ids["Ana"])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [m["message"]["text"] for m in messages] == ["Il reste dix minutes."]
    [(statement, parameters)] = seen
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters))
    assert "ix_session_event_room_message" in plan, plan
