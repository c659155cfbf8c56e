"""Incidents through HTTP on SQLite and PostgreSQL: a candidate's alert, its decision by
the first supervisor to act, every refusal leaving the database as it was, and reports."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pypdf
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.main import create_app
from app.questions import by_id, load_bank
from app.settings import load_settings
from tests.conftest import World, digest, event_log
from tests.integration.test_workflow import join

CSV = "nom;prenom;date_naissance;temps_majore\nDUPONT;Paul;1997-05-21;\nDURAND;Simon;09/03/1988;30\nPETIT;Léa;02/02/2002;\n"


@dataclass
class Room:
    sid: int
    session: dict[str, Any]
    staff: httpx.AsyncClient
    marie: httpx.AsyncClient
    pierre: httpx.AsyncClient
    paul: httpx.AsyncClient
    simon: httpx.AsyncClient
    ids: dict[str, int]

    def sup(self, path: str) -> str:
        return f"/api/supervision/sessions/{self.sid}{path}"


async def open_room(world: World) -> Room:
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre_id = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre_id)
    sid = session["id"]
    r = await staff.post(f"/api/sessions/{sid}/candidates/import", content=CSV.encode())
    assert r.status_code == 201, r.text
    ids = {c["first_name"]: c["id"] for c in (await staff.get(f"/api/sessions/{sid}")).json()["candidates"]}
    marie = await world.user("marie@testix.fr", "Marie", "Curie")
    pierre = await world.user("pierre@testix.fr", "Pierre", "Curie")
    for sup in (marie, pierre):
        body = {"session_id": sid, "supervisor_password": session["supervisor_password"]}
        assert (await sup.post("/api/supervision/access", json=body)).status_code == 204
    room = Room(sid, session, staff, marie, pierre, world.client(), world.client(), ids)
    for c, first, last, birth in ((room.paul, "Paul", "Dupont", "1997-05-21"), (room.simon, "Simon", "Durand", "1988-03-09")):
        r = await marie.post(room.sup(f"/candidates/{ids[first]}/presence"), json={"authorized": True})
        assert r.status_code == 200
        assert (await join(c, session, first, last, birth)).status_code == 200
        assert (await c.post("/api/candidate/start", json={"consent": True})).status_code == 201
    return room


async def current(c: httpx.AsyncClient) -> dict[str, Any]:
    r = await c.get("/api/candidate/test")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def signal(c: httpx.AsyncClient, category: str = "image", comment: str = "", qid: str | None = None) -> httpx.Response:
    if qid is None:
        qid = (await current(c))["question"]["id"]
    return await c.post("/api/candidate/alerts", json={"question_id": qid, "category": category, "comment": comment})


def alert_rows(app: Starlette) -> list[tuple[Any, ...]]:
    with app.state.services.db.engine.connect() as conn:
        return list(conn.execute(text("SELECT id, candidate_id, question_id, status, decided_by_name FROM alert ORDER BY id")))


async def test_validated_alert_serves_a_new_question_and_the_second_decision_is_refused(world: World) -> None:
    room = await open_room(world)
    pid = room.ids["Paul"]
    r = await room.paul.post(
        "/api/candidate/answers",
        json={"question_id": (q := (await current(room.paul))["question"])["id"], "answer": by_id(q["id"]).answer},
    )
    assert r.status_code == 200
    before = await current(room.paul)
    broken = before["question"]["id"]
    r = await signal(room.paul, "display", "Les réponses se chevauchent")
    assert r.status_code == 201, r.text
    held = r.json()
    alert = held["candidate"]["alert"]
    assert alert["status"] == "pending" and alert["category"] == "display" and alert["question_index"] == 1
    assert alert["comment"] == "Les réponses se chevauchent"
    assert alert["category_label"] == "La question ou ses réponses ne s'affichent pas correctement"
    # Every supervisor sees it in the candidate's view.
    snap = (await room.pierre.get(room.sup(""))).json()
    assert next(c for c in snap["candidates"] if c["id"] == pid)["alert"] == alert

    # The question is on hold: no answer, no second alert.
    on_hold = digest(world.app)
    r = await room.paul.post("/api/candidate/answers", json={"question_id": broken, "answer": 0})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALERT_PENDING"
    r = await signal(room.paul, "other", "encore")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALERT_ALREADY_OPEN"
    assert digest(world.app) == on_hold

    r = await room.marie.post(room.sup(f"/alerts/{alert['id']}/validate"))
    assert r.status_code == 200, r.text
    assert r.json()["alert"]["status"] == "validated"
    assert r.json()["alert"]["decided_by"] == {"name": "Marie Curie"}
    assert r.json()["candidate"]["alert"] is None
    decided = digest(world.app)
    r = await room.pierre.post(room.sup(f"/alerts/{alert['id']}/refuse"))
    assert r.status_code == 409
    assert r.json()["error"] == {"code": "ALERT_ALREADY_HANDLED", "message": "Marie Curie a déjà traité ce signalement."}
    r = await room.pierre.post(room.sup(f"/alerts/{alert['id']}/validate"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALERT_ALREADY_HANDLED"
    assert digest(world.app) == decided

    after = await current(room.paul)
    assert after["question"]["id"] != broken and after["question"]["index"] == 1
    assert after["candidate"]["progress"] == before["candidate"]["progress"] == {"answered": 1, "total": 16}
    # The candidate's own pages never learn how many reports the supervisors wrote.
    assert after["candidate"]["alert"] is None and "reports_count" not in after["candidate"]
    snap = (await room.marie.get(room.sup(""))).json()
    assert next(c for c in snap["candidates"] if c["id"] == pid)["reports_count"] == 1
    # The broken question is never served again: answer all of them and look.
    seen = {q["id"]}
    state = after
    while state["question"] is not None:
        qid = state["question"]["id"]
        seen.add(qid)
        r = await room.paul.post("/api/candidate/answers", json={"question_id": qid, "answer": by_id(qid).answer})
        assert r.status_code == 200, r.text
        state = r.json()
    assert broken not in seen and len(seen) == 16
    assert state["candidate"]["status"] == "finished"

    # The log holds every step with its actor; the decision left a report.
    log = await event_log(world.app, room.sid)
    with world.app.state.services.db.engine.connect() as conn:
        actions = [
            (json.loads(p)["action"], a)
            for p, a in conn.execute(
                text("SELECT payload, actor_name FROM session_event WHERE session_id = :s AND candidate_id = :c ORDER BY version"),
                {"s": room.sid, "c": pid},
            )
        ]
    assert ("alert_raised", "Paul DUPONT") in actions
    assert ("alert_validated", "Marie Curie") in actions
    assert actions.index(("alert_raised", "Paul DUPONT")) < actions.index(("alert_validated", "Marie Curie"))
    assert [v for v, *_ in log] == list(range(1, len(log) + 1))
    snap = (await room.marie.get(room.sup(""))).json()
    [report] = [r for r in snap["reports"] if r["candidate_id"] == pid]
    assert report["origin"] == "alert" and report["category"] == "question"
    assert report["author"]["name"] == "Marie Curie" and "validé" in report["comment"]
    assert alert_rows(world.app)[0][2:] == (broken, "validated", "Marie Curie")


async def test_refused_alert_keeps_the_same_question(world: World) -> None:
    room = await open_room(world)
    before = await current(room.simon)
    r = await signal(room.simon, "extra_time")
    assert r.status_code == 201
    aid = r.json()["candidate"]["alert"]["id"]
    r = await room.pierre.post(room.sup(f"/alerts/{aid}/refuse"))
    assert r.status_code == 200 and r.json()["alert"]["status"] == "refused"
    after = await current(room.simon)
    assert after["question"] == before["question"]
    assert after["candidate"]["alert"] is None and "reports_count" not in after["candidate"]
    r = await room.simon.post(
        "/api/candidate/answers", json={"question_id": after["question"]["id"], "answer": by_id(after["question"]["id"]).answer}
    )
    assert r.status_code == 200
    snap = (await room.marie.get(room.sup(""))).json()
    [report] = snap["reports"]
    assert report["category"] == "accessibility" and report["author"]["name"] == "Pierre Curie"
    assert "refusé" in report["comment"]


async def test_every_alert_refusal_changes_nothing(world: World) -> None:
    room = await open_room(world)
    qid = (await current(room.paul))["question"]["id"]
    simons = (await current(room.simon))["question"]["id"]
    not_simons = next(q.id for q in load_bank() if q.id != simons)
    lea = world.client()
    cases: list[tuple[httpx.AsyncClient, dict[str, Any], int, str]] = [
        (room.paul, {"question_id": qid, "category": "bogus"}, 422, "INVALID_PAYLOAD"),
        (room.paul, {"question_id": qid, "category": "other"}, 422, "INVALID_PAYLOAD"),
        (room.paul, {"question_id": qid, "category": "other", "comment": "x" * 501}, 422, "INVALID_PAYLOAD"),
        (room.paul, {"question_id": qid, "category": "image", "comment": 12}, 422, "INVALID_PAYLOAD"),
        (room.paul, {"category": "image"}, 422, "INVALID_PAYLOAD"),
        (room.paul, {"question_id": "Q-NOPE", "category": "image"}, 409, "QUESTION_NOT_CURRENT"),
        (room.simon, {"question_id": not_simons, "category": "image"}, 409, "QUESTION_NOT_CURRENT"),
        (lea, {"question_id": qid, "category": "image"}, 401, "NOT_AUTHENTICATED"),
    ]
    before = digest(world.app)
    for client, body, status, code in cases:
        r = await client.post("/api/candidate/alerts", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
        assert r.json()["error"]["message"]
    assert digest(world.app) == before

    # Not started yet (presence confirmed, consent not given).
    await room.marie.post(room.sup(f"/candidates/{room.ids['Léa']}/presence"), json={"authorized": True})
    assert (await join(lea, room.session, "Léa", "Petit", "2002-02-02")).status_code == 200
    before = digest(world.app)
    r = await lea.post("/api/candidate/alerts", json={"question_id": qid, "category": "image"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "TEST_NOT_STARTED"
    assert digest(world.app) == before

    # Ended by a supervisor, with a reason.
    r = await room.marie.post(room.sup(f"/candidates/{room.ids['Simon']}/end-test"), json={"category": "fraud", "comment": "Téléphone"})
    assert r.status_code == 200 and r.json()["candidate"]["reports_count"] == 1
    before = digest(world.app)
    r = await signal(room.simon, "image", qid=qid)
    assert r.status_code == 409 and r.json()["error"]["code"] == "TEST_ENDED_BY_SUPERVISOR"
    assert digest(world.app) == before

    # Too many: the sixth alert in ten minutes is refused, with Retry-After.
    for _ in range(world.services.settings.alerts_per_candidate):
        r = await signal(room.paul, "link")
        assert r.status_code == 201, r.text
        r = await room.pierre.post(room.sup(f"/alerts/{r.json()['candidate']['alert']['id']}/refuse"))
        assert r.status_code == 200
    before = digest(world.app)
    r = await signal(room.paul, "link")
    assert r.status_code == 429 and r.json()["error"]["code"] == "TOO_MANY_ALERTS"
    assert int(r.headers["Retry-After"]) > 0
    assert digest(world.app) == before

    # Finalised: the test is over for everyone.
    assert (await room.staff.post(f"/api/sessions/{room.sid}/finalize")).status_code == 200
    before = digest(world.app)
    r = await signal(room.paul, "image", qid=qid)
    assert r.status_code == 409 and r.json()["error"]["code"] == "TEST_ENDED_BY_FINALIZATION"
    assert digest(world.app) == before
    # Finalised through the API without reasons: the procès-verbal says which tests lack one.
    pdf = (await room.staff.get(f"/api/sessions/{room.sid}/proces-verbal.pdf")).content
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Terminé à la finalisation *" in text  # Paul: no reason given
    assert "Terminé par un surveillant *" not in text  # Simon's end had its reason
    assert "* Test commencé et non terminé, sans motif renseigné." in text


async def test_refusals_around_pauses_ends_and_other_sessions_change_nothing(world: World) -> None:
    room = await open_room(world)
    paul, simon = room.ids["Paul"], room.ids["Simon"]
    # Paused: the page shows the pause, not the question, so there is no question on screen
    # to signal (the candidate knew its id from before the pause).
    on_screen = (await current(room.paul))["question"]["id"]
    assert (await room.marie.post(room.sup(f"/candidates/{paul}/pause"), json={})).status_code == 200
    before = digest(world.app)
    r = await signal(room.paul, "image", qid=on_screen)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "TEST_PAUSED"), r.text
    assert digest(world.app) == before
    assert (await room.marie.post(room.sup(f"/candidates/{paul}/resume"))).status_code == 200
    assert (await signal(room.paul, "image", qid=on_screen)).status_code == 201

    # Finished: every question answered, nothing left to signal.
    state = await current(room.simon)
    last = state["question"]["id"]
    while state["question"] is not None:
        last = state["question"]["id"]
        r = await room.simon.post("/api/candidate/answers", json={"question_id": last, "answer": by_id(last).answer})
        state = r.json()
    assert state["candidate"]["status"] == "finished"
    before = digest(world.app)
    r = await signal(room.simon, "image", qid=last)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "TEST_FINISHED"), r.text
    assert digest(world.app) == before

    # Another session's alert, decided through this session's path: unknown here.
    other = await world.session(room.staff, 1, time="14:00")
    csv = b"nom;prenom;date_naissance;temps_majore\nMARTIN;Ana;2000-01-01;\n"
    assert (await room.staff.post(f"/api/sessions/{other['id']}/candidates/import", content=csv)).status_code == 201
    [ana_view] = (await room.staff.get(f"/api/sessions/{other['id']}")).json()["candidates"]
    body = {"session_id": other["id"], "supervisor_password": other["supervisor_password"]}
    assert (await room.marie.post("/api/supervision/access", json=body)).status_code == 204
    path = f"/api/supervision/sessions/{other['id']}/candidates/{ana_view['id']}/presence"
    assert (await room.marie.post(path, json={"authorized": True})).status_code == 200
    ana = world.client()
    assert (await join(ana, other, "Ana", "Martin", "2000-01-01")).status_code == 200
    assert (await ana.post("/api/candidate/start", json={"consent": True})).status_code == 201
    foreign = (await signal(ana, "link")).json()["candidate"]["alert"]["id"]
    before = digest(world.app)
    for verb in ("validate", "refuse"):
        r = await room.marie.post(room.sup(f"/alerts/{foreign}/{verb}"))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "ALERT_NOT_FOUND"), r.text
    assert digest(world.app) == before

    # Finalised: Paul's open alert was closed with his test; no decision, report or end any more.
    aid = next(row[0] for row in alert_rows(world.app) if row[1] == paul)
    assert (await room.staff.post(f"/api/sessions/{room.sid}/finalize")).status_code == 200
    assert [row[3] for row in alert_rows(world.app) if row[1] == paul] == ["closed"]
    before = digest(world.app)
    for path, body in (
        (f"/alerts/{aid}/validate", None),
        (f"/candidates/{simon}/reports", {"category": "other", "comment": "trop tard"}),
        (f"/candidates/{paul}/end-test", {"category": "other"}),
    ):
        r = await room.marie.post(room.sup(path), json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "SESSION_FINALIZED"), (path, r.text)
    assert digest(world.app) == before


async def test_decision_refusals_change_nothing(world: World) -> None:
    room = await open_room(world)
    r = await signal(room.paul)
    aid = r.json()["candidate"]["alert"]["id"]
    outsider = await world.user("zoe@testix.fr", "Zoé", "Lambda")
    before = digest(world.app)
    for client, path, status, code in (
        (outsider, f"/alerts/{aid}/validate", 403, "NO_SUPERVISOR_ACCESS"),
        (room.staff, f"/alerts/{aid}/refuse", 403, "NO_SUPERVISOR_ACCESS"),
        (room.marie, "/alerts/99999/validate", 404, "ALERT_NOT_FOUND"),
        (world.client(), f"/alerts/{aid}/validate", 401, "NOT_AUTHENTICATED"),
    ):
        r = await client.post(room.sup(path))
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = await room.marie.post(room.sup(f"/alerts/{aid}/validate"), headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # « Terminer le test » with a bad reason, and reports on nobody: nothing ends, nothing is written.
    paul = room.ids["Paul"]
    for path, body, status, code in (
        (f"/candidates/{paul}/end-test", {"category": "nope"}, 422, "INVALID_PAYLOAD"),
        (f"/candidates/{paul}/end-test", {"category": "fraud", "comment": "x" * 1001}, 422, "INVALID_PAYLOAD"),
        ("/candidates/99999/reports", {"category": "fraud"}, 404, "CANDIDATE_NOT_FOUND"),
        (f"/candidates/{paul}/reports", {"comment": "sans catégorie"}, 422, "INVALID_PAYLOAD"),
    ):
        r = await room.marie.post(room.sup(path), json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = await outsider.post(room.sup(f"/candidates/{paul}/reports"), json={"category": "fraud"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "NO_SUPERVISOR_ACCESS"
    assert digest(world.app) == before
    # The test ends while the alert waits: the alert is closed, nothing is left to decide.
    r = await room.pierre.post(room.sup(f"/candidates/{room.ids['Paul']}/end-test"), json={"category": "technical"})
    assert r.status_code == 200 and r.json()["candidate"]["alert"] is None
    r = await room.marie.post(room.sup(f"/alerts/{aid}/validate"))
    assert r.status_code == 409 and r.json()["error"]["message"] == "Pierre Curie a déjà traité ce signalement."


async def test_reports_belong_to_their_author_until_finalisation(world: World) -> None:
    room = await open_room(world)
    lea = room.ids["Léa"]
    r = await room.marie.post(room.sup(f"/candidates/{lea}/reports"), json={"category": "attendance", "comment": "Arrivée à 11 h 20"})
    assert r.status_code == 201, r.text
    report = r.json()["report"]
    assert report["author"]["name"] == "Marie Curie" and report["category_label"] == "Retard, absence ou départ anticipé"
    snap = (await room.pierre.get(room.sup(""))).json()
    assert snap["reports"] == [report]
    assert next(c for c in snap["candidates"] if c["id"] == lea)["reports_count"] == 1

    path = room.sup(f"/candidates/{lea}/reports/{report['id']}")
    before = digest(world.app)
    for client, method, body, status, code in (
        (room.pierre, "PATCH", {"comment": "non"}, 403, "NOT_REPORT_AUTHOR"),
        (room.pierre, "DELETE", None, 403, "NOT_REPORT_AUTHOR"),
        (room.marie, "PATCH", {}, 422, "INVALID_PAYLOAD"),
        (room.marie, "PATCH", {"category": "nope"}, 422, "INVALID_PAYLOAD"),
        (room.marie, "PATCH", {"comment": "x" * 1001}, 422, "INVALID_PAYLOAD"),
        (room.marie, "PATCH", {"comment": 3}, 422, "INVALID_PAYLOAD"),
    ):
        r = await client.request(method, path, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = await room.marie.delete(room.sup(f"/candidates/{room.ids['Paul']}/reports/{report['id']}"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "REPORT_NOT_FOUND"
    r = await room.marie.post(room.sup(f"/candidates/{lea}/reports"), json={"category": "attendance", "comment": "y" * 1001})
    assert r.status_code == 422
    assert digest(world.app) == before

    r = await room.marie.patch(path, json={"category": "identity", "comment": "Nom d'usage : Petit-Martin"})
    assert r.status_code == 200 and r.json()["report"]["category"] == "identity" and r.json()["report"]["updated_at"]
    r = await room.marie.delete(path)
    assert r.status_code == 204
    snap = (await room.pierre.get(room.sup(""))).json()
    assert snap["reports"] == [] and next(c for c in snap["candidates"] if c["id"] == lea)["reports_count"] == 0

    r = await room.marie.post(room.sup(f"/candidates/{lea}/reports"), json={"category": "attendance", "comment": "Absente"})
    rid = r.json()["report"]["id"]
    assert (await room.staff.post(f"/api/sessions/{room.sid}/finalize")).status_code == 200
    before = digest(world.app)
    r = await room.marie.patch(room.sup(f"/candidates/{lea}/reports/{rid}"), json={"comment": "trop tard"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "SESSION_FINALIZED"
    r = await room.marie.delete(room.sup(f"/candidates/{lea}/reports/{rid}"))
    assert r.status_code == 403
    assert digest(world.app) == before


@pytest.mark.parametrize("validate", [True, False])
async def test_concurrent_decisions_in_one_process_have_one_winner(world: World, validate: bool) -> None:
    room = await open_room(world)
    aid = (await signal(room.paul)).json()["candidate"]["alert"]["id"]
    verb = "validate" if validate else "refuse"
    results = await asyncio.gather(
        room.marie.post(room.sup(f"/alerts/{aid}/{verb}")), room.pierre.post(room.sup(f"/alerts/{aid}/validate"))
    )
    assert sorted(r.status_code for r in results) == [200, 409]
    assert len([r for r in alert_rows(world.app) if r[3] != "pending"]) == 1


async def test_no_fresh_question_left_refuses_the_validation_and_changes_nothing(settings_env: dict[str, str]) -> None:
    # Every question of the bank is in the test: nothing is left to replace the broken one.
    settings = load_settings({**settings_env, "QUESTIONS_PER_TEST": str(len(load_bank()))})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        world = World(app)
        try:
            room = await open_room(world)
            aid = (await signal(room.paul, "display")).json()["candidate"]["alert"]["id"]
            before = digest(app)
            r = await room.marie.post(room.sup(f"/alerts/{aid}/validate"))
            assert r.status_code == 409 and r.json()["error"]["code"] == "NO_REPLACEMENT_QUESTION"
            assert digest(app) == before
            # Refusing is still possible: the candidate goes on with the same question.
            assert (await room.marie.post(room.sup(f"/alerts/{aid}/refuse"))).status_code == 200
        finally:
            await world.close()


async def test_the_alert_limit_is_the_centres_setting(settings_env: dict[str, str]) -> None:
    settings = load_settings({**settings_env, "ALERTS_PER_CANDIDATE": "2"})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        world = World(app)
        try:
            room = await open_room(world)
            for _ in range(2):
                r = await signal(room.paul, "link")
                assert r.status_code == 201, r.text
                aid = r.json()["candidate"]["alert"]["id"]
                assert (await room.pierre.post(room.sup(f"/alerts/{aid}/refuse"))).status_code == 200
            before = digest(app)
            r = await signal(room.paul, "link")
            assert r.status_code == 429 and r.json()["error"]["code"] == "TOO_MANY_ALERTS"
            assert digest(app) == before
            # The limit is each candidate's own: Simon may still signal.
            assert (await signal(room.simon, "link")).status_code == 201
        finally:
            await world.close()
