"""Finalisation with its reasons and comment, the procès-verbal PDF and the reports CSV,
through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pypdf
import pypdfium2

from tests.conftest import World, digest
from tests.integration.test_incidents import open_room, signal

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
