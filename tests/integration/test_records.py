"""Finalisation with its reasons and comment, the procès-verbal PDF and the reports CSV,
through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pypdf
import pypdfium2
from sqlalchemy import text

from tests.conftest import World, digest
from tests.integration.test_incidents import open_room, signal
from tests.integration.test_workflow import join

ARTIFACTS = Path(__file__).resolve().parents[1] / "browser" / "screenshots"


async def test_finalisation_asks_reasons_and_the_records_tell_the_session(world: World, backend: str) -> None:
    room = await open_room(world)
    paul, simon, lea = room.ids["Paul"], room.ids["Simon"], room.ids["Léa"]
    # Paul signals a problem, Marie validates it; Pierre writes a report with a formula in it.
    aid = (await signal(room.paul, "image", "Schéma blanc")).json()["candidate"]["alert"]["id"]
    assert (await room.marie.post(room.sup(f"/alerts/{aid}/validate"))).status_code == 200
    r = await room.pierre.post(room.sup(f"/candidates/{lea}/reports"), json={"category": "attendance", "comment": "=HYPERLINK(\"x\")"})
    assert r.status_code == 201
    # Simon's test is ended with a reason; Paul's is still running at finalisation.
    r = await room.marie.post(room.sup(f"/candidates/{simon}/end-test"), json={"category": "technical", "comment": "Panne"})
    assert r.status_code == 200

    # The procès-verbal waits for the finalisation; the CSV does not.
    r = await room.staff.get(f"/api/sessions/{room.sid}/proces-verbal.pdf")
    assert r.status_code == 409 and r.json()["error"]["code"] == "SESSION_NOT_FINALIZED"
    r = await room.marie.get(f"/api/sessions/{room.sid}/reports.csv")
    assert r.status_code == 200

    before = digest(world.app)
    path = f"/api/sessions/{room.sid}/finalize"
    for body, status, code in (
        ({"reasons": [{"candidate_id": lea, "category": "other"}]}, 422, "INVALID_PAYLOAD"),  # Léa never started
        ({"reasons": [{"candidate_id": 99999, "category": "other"}]}, 404, "CANDIDATE_NOT_FOUND"),
        ({"reasons": [{"candidate_id": paul, "category": "nope"}]}, 422, "INVALID_PAYLOAD"),
        ({"reasons": [{"candidate_id": paul, "category": "other"}, {"candidate_id": paul, "category": "other"}]}, 422, "INVALID_PAYLOAD"),
        ({"reasons": "tous"}, 422, "INVALID_PAYLOAD"),
        ({"comment": "x" * 2001}, 422, "INVALID_PAYLOAD"),
    ):
        r = await room.staff.post(path, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    r = await room.marie.post(path, json={})
    assert r.status_code == 403
    assert digest(world.app) == before

    r = await room.staff.post(
        path,
        json={
            "comment": "Session calme ; une coupure réseau à 11 h 40.",
            "reasons": [
                {"candidate_id": paul, "category": "technical", "comment": "Temps écoulé, poste lent"},
                {"candidate_id": simon, "category": "technical", "comment": "Confirmé"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["session"]["status"] == "finalized"
    r = await room.paul.post("/api/candidate/alerts", json={"question_id": "q01", "category": "image"})
    assert r.status_code == 409

    # Both the centre and a supervisor may download; an outsider may not.
    outsider = await world.user("zoe@testix.fr", "Zoé", "Lambda")
    r = await outsider.get(f"/api/sessions/{room.sid}/proces-verbal.pdf")
    assert r.status_code == 403 and r.json()["error"]["code"] == "NO_SUPERVISOR_ACCESS"
    assert (await outsider.get(f"/api/sessions/{room.sid}/reports.csv")).status_code == 403
    assert (await world.client().get(f"/api/sessions/{room.sid}/reports.csv")).status_code == 401
    r = await room.pierre.get(f"/api/sessions/{room.sid}/proces-verbal.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    r = await room.staff.get(f"/api/sessions/{room.sid}/proces-verbal.pdf")
    assert r.status_code == 200
    pdf = r.content
    text = " ".join((page.extract_text() or "") for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    for expected in (
        f"Procès-verbal — Session {room.sid}",
        "Marie Curie",
        "Pierre Curie",
        "DUPONT Paul",
        "DURAND Simon",
        "PETIT Léa",
        "Terminé à la finalisation",
        "Terminé par un surveillant",
        "Non commencé",
        "+30 %",
        "Q1 validé",
        "Chronologie des tests",
        "Signalement",
        "Motif à la finalisation",
        "Temps écoulé, poste lent",
        "Décision sur un signalement",
        "Session calme ; une coupure réseau à 11 h 40.",
    ):
        assert expected in flat, expected
    assert re.search(r"Finalisée le \d{1,2} [a-zéû]+ \d{4} à \d{2}:\d{2} par Alice Martin", flat), flat
    # The same record for a reader whose browser asks for English.
    r = await room.staff.get(f"/api/sessions/{room.sid}/proces-verbal.pdf", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    english = " ".join(" ".join((p.extract_text() or "") for p in pypdf.PdfReader(io.BytesIO(r.content)).pages).split())
    for expected in (
        f"Session record — Session {room.sid}",
        "Marie Curie",
        "DUPONT Paul",
        "Ended at finalisation",
        "Ended by a supervisor",
        "Not started",
        "+30%",
        "Test timelines",
        "Alert",
        "Incident reports",
        "Temps écoulé, poste lent",
        "Session calme ; une coupure réseau à 11 h 40.",
    ):
        assert expected in english, expected
    finalised = r"Finalised on [A-Z][a-z]+ \d{1,2}, \d{4} at \d{1,2}:\d{2}\s[AP]M by Alice Martin"
    assert re.search(finalised, english), english
    assert "Procès-verbal" not in english and "Chronologie" not in english
    # The first page, drawn, kept for a person to look at.
    ARTIFACTS.mkdir(exist_ok=True)
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=1.5).to_pil()
    image.save(ARTIFACTS / f"proces-verbal-page1-{backend}.png")
    assert image.width > 1000

    r = await room.pierre.get(f"/api/sessions/{room.sid}/reports.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["session", "candidat", "date_naissance", "categorie"]
    by_candidate = {(row[1], row[4]) for row in rows[1:]}
    assert ("DUPONT Paul", "Décision sur un signalement") in by_candidate
    assert ("DUPONT Paul", "Motif à la finalisation") in by_candidate
    assert ("DURAND Simon", "Motif de fin de test") in by_candidate
    lea_row = next(row for row in rows[1:] if row[1] == "PETIT Léa")
    assert lea_row[5] == "'=HYPERLINK(\"x\")"  # a formula is never run by a spreadsheet
    assert len(rows) == 1 + 5


async def test_a_reason_given_when_ending_a_test_is_not_asked_again(world: World) -> None:
    """Simon's test was ended with a reason: the finalisation takes it as said. Léa's closed by
    expiry and Paul's still running need one; and the reports that trace a decision stay."""
    room = await open_room(world)
    paul, simon, lea = room.ids["Paul"], room.ids["Simon"], room.ids["Léa"]
    r = await room.marie.post(room.sup(f"/candidates/{simon}/end-test"), json={"category": "fraud", "comment": "Téléphone"})
    assert r.status_code == 200, r.text
    end_report = (await room.marie.get(room.sup(""))).json()["reports"][-1]
    assert (end_report["origin"], end_report["candidate_id"]) == ("end_test", simon)
    # Paul signals a problem, Pierre refuses it: a report traces the decision.
    aid = (await signal(room.paul, "image")).json()["candidate"]["alert"]["id"]
    decided = (await room.pierre.post(room.sup(f"/alerts/{aid}/refuse"))).json()["alert"]
    assert decided["status"] == "refused"
    decision = next(r for r in (await room.pierre.get(room.sup(""))).json()["reports"] if r["origin"] == "alert")
    # Léa starts, and her test is closed by the expiry sweep a day later.
    assert (await room.marie.post(room.sup(f"/candidates/{lea}/presence"), json={"authorized": True})).status_code == 200
    client = world.client()
    assert (await join(client, room.session, "Léa", "Petit", "2002-02-02")).status_code == 200
    assert (await client.post("/api/candidate/start", json={"consent": True})).status_code == 201
    dialect = world.services.db.engine.dialect.name
    shift = (
        "UPDATE candidate SET started_at = started_at - INTERVAL '25 hours' WHERE id = :i"
        if dialect == "postgresql"
        else "UPDATE candidate SET started_at = datetime(started_at, '-25 hours') WHERE id = :i"
    )
    with world.app.state.services.db.engine.begin() as conn:
        conn.execute(text(shift), {"i": lea})
    assert await world.services.expiry.sweep() == 1
    statuses = {c["id"]: c["status"] for c in (await room.staff.get(f"/api/sessions/{room.sid}")).json()["candidates"]}
    assert (statuses[paul], statuses[simon], statuses[lea]) == ("in_progress", "ended_by_supervisor", "ended_by_expiry")

    before = digest(world.app)
    # The decisions' reports are their trace: the author may not remove them.
    for client_, cid, report in ((room.marie, simon, end_report), (room.pierre, paul, decision)):
        r = await client_.delete(room.sup(f"/candidates/{cid}/reports/{report['id']}"))
        assert (r.status_code, r.json()["error"]["code"]) == (409, "REPORT_NOT_REMOVABLE"), r.text
        assert r.json()["error"]["message"].startswith("Ce rapport garde la trace d'une décision")
    # A finalisation that gives reasons gives one for each test started and not finished,
    # but not again for Simon's.
    path = f"/api/sessions/{room.sid}/finalize"
    technical = {"category": "technical", "comment": ""}
    for reasons, who in (
        ([], "Paul DUPONT"),
        ([{"candidate_id": paul, **technical}], "Léa PETIT"),
        ([{"candidate_id": lea, **technical}], "Paul DUPONT"),
    ):
        r = await room.staff.post(path, json={"reasons": reasons})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "INVALID_PAYLOAD"), r.text
        assert r.json()["error"]["message"] == f"reasons : Choisissez un motif pour {who}.", r.text
        assert r.json()["field"] == "reasons"
    assert digest(world.app) == before

    # Marie corrects her reason's words (allowed): the finalisation takes it as it reads now.
    r = await room.marie.patch(room.sup(f"/candidates/{simon}/reports/{end_report['id']}"), json={"comment": "Téléphone allumé"})
    assert r.status_code == 200, r.text
    r = await room.staff.post(
        path,
        json={
            "reasons": [
                {"candidate_id": paul, "category": "technical", "comment": "Poste lent"},
                {"candidate_id": lea, "category": "attendance", "comment": "Partie sans rendre"},
            ]
        },
    )
    assert r.status_code == 200, r.text

    pdf = (await room.staff.get(f"/api/sessions/{room.sid}/proces-verbal.pdf")).content
    flat = " ".join(" ".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Terminé par un surveillant", "Fermé automatiquement", "Terminé à la finalisation", "Téléphone allumé"):
        assert expected in flat, expected
        assert f"{expected} *" not in flat, expected  # the mark of a test left without a reason
    assert "sans motif renseigné" not in flat
    rows = list(csv.reader(io.StringIO((await room.staff.get(f"/api/sessions/{room.sid}/reports.csv")).content.decode("utf-8-sig")), delimiter=";"))
    told = [(row[1], row[4], row[5]) for row in rows[1:]]
    assert ("DURAND Simon", "Motif de fin de test", "Téléphone allumé") in told
    assert [t for t in told if t[0] == "DURAND Simon"] == [("DURAND Simon", "Motif de fin de test", "Téléphone allumé")]
    assert ("PETIT Léa", "Motif à la finalisation", "Partie sans rendre") in told
    assert ("DUPONT Paul", "Motif à la finalisation", "Poste lent") in told
    assert ("DUPONT Paul", "Décision sur un signalement", decision["comment"]) in told
