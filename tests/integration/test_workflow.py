"""The guide's whole day through HTTP alone, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from app.errors import NOT_AUTHORIZED_TO_JOIN
from app.questions import by_id
from tests.conftest import World, event_log

CSV = (
    "nom;prenom;date_naissance;temps_majore\n"
    "DELARUE;Sophie;04/07/2001;\n"
    "DUPONT;Martine;21/06/1994;\n"
    "DUPONT;Paul;1997-05-21;\n"
    "DURAND;Simon;09/03/1988;30\n"
)


async def join(c: httpx.AsyncClient, session: dict[str, Any], first: str, last: str, birth: str) -> httpx.Response:
    return await c.post(
        "/api/candidate/join",
        json={
            "session_id": session["id"],
            "access_code": session["access_code"].lower(),
            "first_name": first,
            "last_name": last,
            "birthdate": birth,
        },
    )


async def answer_all(c: httpx.AsyncClient, count: int | None = None) -> dict[str, Any]:
    state = (await c.get("/api/candidate/test")).json()
    done = 0
    while state["question"] is not None and (count is None or done < count):
        q = state["question"]
        r = await c.post("/api/candidate/answers", json={"question_id": q["id"], "answer": by_id(q["id"]).answer})
        assert r.status_code == 200, r.text
        state = r.json()
        done += 1
    return dict(state)


async def test_the_guides_day(world: World) -> None:
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre_id = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre_id)
    sid = session["id"]
    assert session["supervisor_password"].startswith("C-") and len(session["access_code"]) == 6

    r = await staff.post(
        f"/api/sessions/{sid}/candidates/import", content=CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"imported": 4}
    detail = (await staff.get(f"/api/sessions/{sid}")).json()
    names = [f"{c['last_name']} {c['first_name']}" for c in detail["candidates"]]
    assert names == ["DELARUE Sophie", "DUPONT Martine", "DUPONT Paul", "DURAND Simon"]
    ids = {c["first_name"]: c["id"] for c in detail["candidates"]}
    assert detail["candidates"][3]["extra_time_percentage"] == 30

    # Two supervisors open the espace surveillant; the C- prefix is optional when typed.
    marie = await world.user("marie@testix.fr", "Marie", "Curie")
    pierre = await world.user("pierre@testix.fr", "Pierre", "Curie")
    r = await marie.post("/api/supervision/access", json={"session_id": sid, "supervisor_password": session["supervisor_password"]})
    assert r.status_code == 204, r.text
    r = await pierre.post(
        "/api/supervision/access", json={"session_id": str(sid), "supervisor_password": session["supervisor_password"][2:].lower()}
    )
    assert r.status_code == 204, r.text
    snap = (await marie.get(f"/api/supervision/sessions/{sid}")).json()
    assert [s["name"] for s in snap["supervisors"]] == ["Marie Curie", "Pierre Curie"]
    assert snap["counts"] == {"enrolled": 4, "present": 0, "in_progress": 0, "finished": 0}

    # Sophie tries before her presence is confirmed: the guide's message.
    sophie, paul, simon = world.client(), world.client(), world.client()
    r = await join(sophie, session, "sophie", "Delarue", "2001-07-04")
    assert r.status_code == 403
    assert r.json()["error"] == {"code": "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION", "message": NOT_AUTHORIZED_TO_JOIN}

    for first in ("Sophie", "Paul", "Simon"):
        r = await marie.post(f"/api/supervision/sessions/{sid}/candidates/{ids[first]}/presence", json={"authorized": True})
        assert r.status_code == 200 and r.json()["candidate"]["authorized_to_start"] is True
    # Pierre unticks then re-ticks Paul before he starts: allowed.
    path = f"/api/supervision/sessions/{sid}/candidates/{ids['Paul']}/presence"
    assert (await pierre.post(path, json={"authorized": False})).status_code == 200
    assert (await pierre.post(path, json={"authorized": True})).status_code == 200

    for c, first, last, birth in ((sophie, "Sophie", "DELARUE", "04/07/2001"), (paul, "Paul", "Dupont", "1997-05-21"),
                                  (simon, "Simon", "Durand", "1988-03-09")):
        r = await join(c, session, first, last, birth)
        assert r.status_code == 200, r.text
        assert r.json()["next"] == "consent"
        assert (await c.post("/api/candidate/start", json={"consent": False})).json()["error"]["code"] == "CONSENT_REQUIRED"
        r = await c.post("/api/candidate/start", json={"consent": True})
        assert r.status_code == 201, r.text
        assert r.json()["candidate"]["status"] == "in_progress"
        assert r.json()["candidate"]["authorized_to_start"] is False

    # Presence cannot be withdrawn once started.
    r = await marie.post(f"/api/supervision/sessions/{sid}/candidates/{ids['Simon']}/presence", json={"authorized": False})
    assert r.status_code == 409 and r.json()["error"]["code"] == "CANDIDATE_ALREADY_STARTED"

    # Simon has 30 % extra time: 105 min × 1.3.
    state = (await simon.get("/api/candidate/test")).json()
    assert 136 * 60 <= state["time_left_seconds"] <= 136.5 * 60
    assert state["candidate"]["progress"] == {"answered": 0, "total": 16}

    # Sophie finishes in time.
    final = await answer_all(sophie)
    assert final["candidate"]["status"] == "finished" and final["question"] is None

    # Paul answers a few questions, then his browser crashes; a new join is refused
    # until a supervisor authorises it, and the supervisors see "reprise demandée".
    await answer_all(paul, 3)
    paul2 = world.client()
    r = await join(paul2, session, "Paul", "DUPONT", "1997-05-21")
    assert r.status_code == 403 and r.json()["error"]["code"] == "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION"
    snap = (await pierre.get(f"/api/supervision/sessions/{sid}")).json()
    paul_view = next(c for c in snap["candidates"] if c["id"] == ids["Paul"])
    assert paul_view["resume_requested"] is True
    r = await pierre.post(f"/api/supervision/sessions/{sid}/candidates/{ids['Paul']}/authorize-resume")
    assert r.status_code == 200 and r.json()["candidate"]["resume_requested"] is False
    r = await join(paul2, session, "Paul", "DUPONT", "1997-05-21")
    assert r.status_code == 200 and r.json()["next"] == "test"
    # The authorisation was used up: a third browser is refused again.
    r = await join(world.client(), session, "Paul", "DUPONT", "1997-05-21")
    assert r.json()["error"]["code"] == "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION"
    # The old browser lost its hold on the test.
    assert (await paul.get("/api/candidate/test")).status_code == 401
    state = (await paul2.get("/api/candidate/test")).json()
    assert state["candidate"]["progress"]["answered"] == 3

    # Simon runs out of time: Marie ends his test; ending it again changes nothing.
    await answer_all(simon, 5)
    end = f"/api/supervision/sessions/{sid}/candidates/{ids['Simon']}/end-test"
    r = await marie.post(end)
    assert r.status_code == 200 and r.json()["candidate"]["status"] == "ended_by_supervisor"
    before = len(await event_log(world.app, sid))
    assert (await pierre.post(end)).status_code == 200
    assert len(await event_log(world.app, sid)) == before
    r = await simon.post("/api/candidate/answers", json={"question_id": "q01", "answer": 0})
    assert r.status_code == 409 and r.json()["error"]["code"] == "TEST_ENDED_BY_SUPERVISOR"

    # A page opened now shows what happened before it in its activity feed.
    recent = (await marie.get(f"/api/supervision/sessions/{sid}")).json()["recent_events"]
    lines = [(e["action"], e["actor"]["name"], e.get("candidate", {}).get("first_name")) for e in recent]
    assert ("resume_authorized", "Pierre Curie", "Paul") in lines
    assert ("ended_by_supervisor", "Marie Curie", "Simon") in lines
    assert "answered" not in {action for action, *_ in lines}
    assert [e["version"] for e in recent] == sorted(e["version"] for e in recent)

    # Martine never came; the centre finalises: Paul's running test ends with it.
    r = await staff.post(f"/api/sessions/{sid}/finalize")
    assert r.status_code == 200 and r.json()["session"]["status"] == "finalized"
    detail = (await staff.get(f"/api/sessions/{sid}")).json()
    statuses = {c["first_name"]: c["status"] for c in detail["candidates"]}
    assert statuses == {"Sophie": "finished", "Martine": "not_started", "Paul": "ended_by_finalization", "Simon": "ended_by_supervisor"}

    # Everyone is refused now.
    r = await marie.get(f"/api/supervision/sessions/{sid}")
    assert r.status_code == 403
    late = await world.user("late@testix.fr", "Jean", "Retard")
    r = await late.post("/api/supervision/access", json={"session_id": sid, "supervisor_password": session["supervisor_password"]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "SESSION_FINALIZED"
    r = await join(world.client(), session, "Martine", "Dupont", "1994-06-21")
    assert r.status_code == 412 and r.json()["error"]["code"] == "SESSION_NOT_ACCESSIBLE"
    assert (await staff.post(f"/api/sessions/{sid}/finalize")).json()["error"]["code"] == "SESSION_FINALIZED"

    # The event log: contiguous versions, the right actors.
    log = await event_log(world.app, sid)
    assert [v for v, *_ in log] == list(range(1, len(log) + 1))
    actors = {(t, a) for _, t, a, _ in log}
    assert ("supervisors.updated", "Marie Curie") in actors and ("supervisors.updated", "Pierre Curie") in actors
    presence = [(a, cid) for _, t, a, cid in log if t == "candidate.updated" and a in ("Marie Curie", "Pierre Curie")]
    assert ("Pierre Curie", ids["Paul"]) in presence
    assert log[-1][1] == "session.updated" and log[-1][2] == "Alice Martin"
    assert ("candidate.updated", "Sophie DELARUE") in actors
