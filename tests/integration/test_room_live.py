"""Room control across real uvicorn processes: one process on SQLite, or two sharing
PostgreSQL through Redis. The room paused from one process reaches every candidate's
socket and every supervisor on both; messages reach the right candidates only; a test
left open too long is ended by whichever process sweeps first, and pushed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.integration.conftest import Cluster, _close, http_state, plan_day
from tests.live import Candidate, SupervisorFeed, comparable

pytestmark = pytest.mark.slow


def _paused(m: dict[str, Any], value: bool) -> bool:
    return m.get("type") == "candidate" and bool(m["candidate"] and m["candidate"]["paused"] is value)


async def _people(cluster: Cluster, session: dict[str, Any], names: list[str]) -> list[Candidate]:
    """Candidates in the room, their sockets spread over the processes."""
    people = []
    for i, name in enumerate(names):
        app = cluster.apps[i % len(cluster.apps)]
        people.append(Candidate(app.url, session, name, f"Prenom{int(name[-3:])}", "2000-01-01"))
    return people


async def test_room_pause_and_resume_reach_everyone_on_every_process(cluster: Cluster) -> None:
    day = await plan_day(cluster)
    sid = day.session["id"]
    feed_a = await SupervisorFeed.open(cluster.a.ws_url, sid, day.marie, cluster.a.url)
    feed_b = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)
    names = sorted(day.ids)
    for name in names:
        r = await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{day.ids[name]}/presence",
                                  json={"authorized": True})
        assert r.status_code == 200
    people = await _people(cluster, day.session, names)
    running, late = people[:3], people[3]
    for i, p in enumerate(running):
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        await p.connect(cluster.apps[i % len(cluster.apps)].ws_url)
    assert (await late.join()).status_code == 200

    # Marie, on process A, pauses the room.
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/pause", json={"message": "Coupure de courant"})
    assert r.status_code == 200, r.text
    assert len(r.json()["candidates"]) == 3
    for p in running:
        m = await p.wait_message(lambda m: _paused(m, True))
        assert m["candidate"]["pause_message"] == "Coupure de courant" and m["candidate"]["paused_since"]
    version, state = await http_state(day)
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: f.version >= version)
        assert feed.versions == list(range(feed.first_version + 1, version + 1))
        assert comparable(feed.candidates) == state
        assert sum(1 for c in feed.candidates.values() if c["paused"]) == 3

    # While paused: answers refused; a candidate starting now is not paused.
    r = await running[0].http.post("/api/candidate/answers", json={"question_id": "q01", "answer": 0})
    assert r.status_code == 409 and r.json()["error"]["code"] == "TEST_PAUSED"
    assert (await late.start()).status_code == 201
    assert (await late.http.get("/api/candidate/test")).json()["candidate"]["paused"] is False

    # Pierre, on process B, resumes the room: only the three paused tests.
    r = await day.pierre.post(f"/api/supervision/sessions/{sid}/resume")
    assert r.status_code == 200, r.text
    assert len(r.json()["candidates"]) == 3
    for p in running:
        await p.wait_message(lambda m: _paused(m, False))
        await p.answer()
    version, state = await http_state(day)
    for feed in (feed_a, feed_b):
        await feed.wait(lambda f: f.version >= version)
        assert feed.versions == list(range(feed.first_version + 1, version + 1))
        assert comparable(feed.candidates) == state
        assert not any(c["paused"] for c in feed.candidates.values())
    for f in (feed_a, feed_b):
        await f.close()
    for p in people:
        await p.close()
    await _close(cluster)


async def another_session_in_test(cluster: Cluster, day: Any) -> tuple[dict[str, Any], int, Candidate]:
    """Another session of the same centre, Marie supervising it, its one candidate in a test
    on process B."""
    r = await day.staff.post("/api/centres/1/sessions", json={"address": "Ailleurs", "room": "Salle 9",
                                                               "examiner": "X", "date": "2021-12-28", "time": "11:00"})
    other_session = r.json()["session"]
    r = await day.staff.post(f"/api/sessions/{other_session['id']}/candidates",
                             json={"last_name": "CANDIDAT900", "first_name": "Prenom900", "birthdate": "2000-01-01"})
    other_id = r.json()["candidate"]["id"]
    r = await day.marie.post("/api/supervision/access", json={"session_id": other_session["id"],
                                                             "supervisor_password": other_session["supervisor_password"]})
    assert r.status_code == 204
    r = await day.marie.post(f"/api/supervision/sessions/{other_session['id']}/candidates/{other_id}/presence",
                             json={"authorized": True})
    assert r.status_code == 200
    outsider = Candidate(cluster.b.url, other_session, "CANDIDAT900", "Prenom900", "2000-01-01")
    assert (await outsider.join()).status_code == 200
    assert (await outsider.start()).status_code == 201
    return other_session, other_id, outsider


async def test_messages_reach_the_right_candidates_only(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=3)
    sid = day.session["id"]
    # Another session of the same centre, with its own candidate in a test.
    _, other_id, outsider = await another_session_in_test(cluster, day)
    await outsider.connect(cluster.b.ws_url)

    for cid in day.ids.values():
        await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    people = await _people(cluster, day.session, sorted(day.ids))
    for i, p in enumerate(people):
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        await p.connect(cluster.apps[i % len(cluster.apps)].ws_url)
    feed = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)

    to_one = day.ids["CANDIDAT001"]
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/messages",
                             json={"text": "Merci de rester à votre place", "candidate_id": to_one})
    assert r.status_code == 201, r.text
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/messages", json={"text": "Il reste 10 minutes"})
    assert r.status_code == 201, r.text
    for p in people:
        await p.wait_message(lambda m: m["type"] == "message" and m["message"]["text"] == "Il reste 10 minutes")
    await asyncio.sleep(0.5)
    texts = {p.identity["last_name"]: [m["message"]["text"] for m in p.messages if m["type"] == "message"]
             for p in people}
    assert texts == {
        "CANDIDAT000": ["Il reste 10 minutes"],
        "CANDIDAT001": ["Merci de rester à votre place", "Il reste 10 minutes"],
        "CANDIDAT002": ["Il reste 10 minutes"],
    }
    one = next(m for m in people[1].messages if m["type"] == "message")
    assert one["actor"] == {"name": "Marie Curie"} and one["message"]["to"]["id"] == to_one
    assert not [m for m in outsider.messages if m["type"] == "message"]
    # The supervisors' activity feed lists both.
    await feed.wait(lambda f: sum(1 for m in f.messages if m.get("name") == "room.message") == 2)

    # A message for another session's candidate is refused like an unknown one.
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/messages", json={"text": "x", "candidate_id": other_id})
    assert r.status_code == 404 and r.json()["error"]["code"] == "CANDIDATE_NOT_FOUND"
    await feed.close()
    for p in [*people, outsider]:
        await p.close()
    await _close(cluster)


async def test_a_test_left_open_a_day_ends_by_expiry_and_is_pushed(cluster: Cluster) -> None:
    day = await plan_day(cluster, candidates=2)
    sid = day.session["id"]
    for cid in day.ids.values():
        await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    old, fresh = await _people(cluster, day.session, sorted(day.ids))
    for p in (old, fresh):
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
    # Its socket on process A (its page's origin); the supervisor's feed on the last process.
    await old.connect(cluster.a.ws_url)
    await old.wait_message(lambda m: m.get("type") == "candidate")
    feed = await SupervisorFeed.open(cluster.b.ws_url, sid, day.pierre, cluster.b.url)

    # The test started 25 hours ago, as far as the database knows.
    url = cluster.env["DATABASE_URL"]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    shift = (
        "UPDATE candidate SET started_at = started_at - INTERVAL '25 hours' WHERE id = :i"
        if url.startswith("postgresql")
        else "UPDATE candidate SET started_at = datetime(started_at, '-25 hours') WHERE id = :i"
    )
    with engine.begin() as conn:
        conn.execute(text(shift), {"i": day.ids["CANDIDAT000"]})
    engine.dispose()

    m = await old.wait_message(
        lambda m: m.get("type") == "candidate" and m["candidate"]["status"] == "ended_by_expiry", timeout=10
    )
    assert m["candidate"]["ended_at"]
    await feed.wait(lambda f: f.candidates[day.ids["CANDIDAT000"]]["status"] == "ended_by_expiry", 10)
    expired = [e for e in feed.messages if e.get("action") == "ended_by_expiry"]
    assert len(expired) == 1 and expired[0]["actor"] == {"name": "Fermeture automatique"}
    assert feed.candidates[day.ids["CANDIDAT001"]]["status"] == "in_progress"
    r = await old.http.get("/api/candidate/test")
    assert r.status_code == 409 and r.json()["error"]["code"] == "TEST_ENDED_BY_EXPIRY"
    await feed.close()
    for p in (old, fresh):
        await p.close()
    await _close(cluster)



def _texts(frame: dict[str, Any]) -> list[str]:
    return [n["message"]["text"] for n in frame.get("messages", [])]


async def test_messages_missed_while_the_socket_was_down_come_with_the_next_connection(cluster: Cluster) -> None:
    """« Il reste 10 minutes » is not lost for a candidate whose wifi blinked or whose page
    reloaded: the socket's first state carries the recent messages to the room or to this
    candidate, each once, with its version; not another candidate's, not another session's,
    not an hour-old one, and five at most."""
    day = await plan_day(cluster, candidates=2)
    sid = day.session["id"]
    messages = f"/api/supervision/sessions/{sid}/messages"
    elsewhere, _, outsider = await another_session_in_test(cluster, day)
    # Another session's message, sent to its room.
    r = await day.marie.post(f"/api/supervision/sessions/{elsewhere['id']}/messages", json={"text": "Autre salle"})
    assert r.status_code == 201

    for cid in day.ids.values():
        await day.pierre.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    ana, bob = await _people(cluster, day.session, sorted(day.ids))
    for i, p in enumerate((ana, bob)):
        assert (await p.join()).status_code == 200
        assert (await p.start()).status_code == 201
        await p.connect(cluster.apps[i % len(cluster.apps)].ws_url)
        first = await p.wait_message(lambda m: m.get("type") == "candidate")
        assert _texts(first) == []

    # An old message, as far as the database knows: sent two hours ago.
    r = await day.marie.post(messages, json={"text": "Ancien message"})
    assert r.status_code == 201
    url = cluster.env["DATABASE_URL"]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    age = (
        "UPDATE session_event SET at = at - INTERVAL '2 hours' WHERE session_id = :s AND type = 'room.message'"
        if url.startswith("postgresql")
        else "UPDATE session_event SET at = datetime(at, '-2 hours') WHERE session_id = :s AND type = 'room.message'"
    )
    with engine.begin() as conn:
        conn.execute(text(age), {"s": sid})
    engine.dispose()

    # Ana's socket is down while three messages are sent: to the room, to Bob, to her.
    await ana.disconnect()
    ana.messages.clear()
    for body in ({"text": "Il reste 10 minutes"},
                 {"text": "Bob, restez assis", "candidate_id": day.ids["CANDIDAT001"]},
                 {"text": "Ana, levez la main", "candidate_id": day.ids["CANDIDAT000"]}):
        r = await day.marie.post(messages, json=body)
        assert r.status_code == 201, r.text
    await bob.wait_message(lambda m: m["type"] == "message" and m["message"]["text"] == "Bob, restez assis")

    # Back: the first state carries what she missed.
    await ana.connect(cluster.a.ws_url)
    state = await ana.wait_message(lambda m: m.get("type") == "candidate")
    assert _texts(state) == ["Il reste 10 minutes", "Ana, levez la main"]
    room, mine = state["messages"]
    assert room["type"] == mine["type"] == "message"
    assert room["actor"] == {"name": "Marie Curie"} and room["message"]["to"] is None and room["at"]
    assert mine["message"]["to"]["id"] == day.ids["CANDIDAT000"]
    assert room["version"] < mine["version"] <= state["version"]
    # Delivered once: nothing of it comes again as a live message.
    await asyncio.sleep(0.5)
    assert [m for m in ana.messages if m["type"] == "message"] == []

    # Bob's next connection lists his own and the room's, never Ana's.
    await bob.disconnect()
    bob.messages.clear()
    await bob.connect(cluster.b.ws_url)
    state = await bob.wait_message(lambda m: m.get("type") == "candidate")
    assert _texts(state) == ["Il reste 10 minutes", "Bob, restez assis"]

    # Five at most, the latest: four more to the room, heard live, then a reload.
    for n in range(1, 5):
        r = await day.pierre.post(messages, json={"text": f"Annonce {n}"})
        assert r.status_code == 201, r.text
    await ana.wait_message(lambda m: m["type"] == "message" and m["message"]["text"] == "Annonce 4")
    await ana.disconnect()
    ana.messages.clear()
    await ana.connect(cluster.a.ws_url)
    state = await ana.wait_message(lambda m: m.get("type") == "candidate")
    assert _texts(state) == ["Ana, levez la main", "Annonce 1", "Annonce 2", "Annonce 3", "Annonce 4"]

    # The other session's candidate hears nothing of this room.
    await outsider.connect(cluster.b.ws_url)
    state = await outsider.wait_message(lambda m: m.get("type") == "candidate")
    assert _texts(state) == ["Autre salle"]

    # A test over: the last state a page gets on connecting carries no messages.
    r = await day.marie.post(f"/api/supervision/sessions/{sid}/candidates/{day.ids['CANDIDAT001']}/end-test")
    assert r.status_code == 200, r.text
    await bob.wait_message(lambda m: m.get("type") == "candidate" and m["candidate"]["status"] == "ended_by_supervisor")
    await bob.disconnect()
    bob.messages.clear()
    await bob.connect(cluster.b.ws_url)
    ended = await bob.wait_message(lambda m: m.get("type") == "candidate")
    assert ended["candidate"]["status"] == "ended_by_supervisor" and "messages" not in ended
    for p in (ana, bob, outsider):
        await p.close()
    await _close(cluster)
