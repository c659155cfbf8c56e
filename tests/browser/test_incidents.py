"""Incidents in real Chromium: a candidate signals a problem, two supervisors see it at
once, one decides, the candidate's page moves on by itself; the toggles and dialogs."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import (
    CANDIDATES,
    api_access,
    api_login,
    busy_session,
    candidate_id,
    candidate_join,
    open_dashboard,
    row,
    supervisor_dashboard,
    tick,
)
from tests.browser.test_accessibility import AXE, Audit

pytestmark = pytest.mark.browser


def signal(c: Page, category: str, comment: str = "") -> None:
    c.get_by_role("button", name="Signaler un problème").click()
    dialog = c.get_by_role("dialog", name="Signaler un problème sur cette question")
    expect(dialog).to_be_visible()
    dialog.get_by_label(category).check()
    if comment:
        dialog.get_by_label(re.compile("Précisez le problème")).fill(comment)
    dialog.get_by_role("button", name="Envoyer le signalement").click()


def test_an_alert_from_the_candidate_to_two_supervisors_and_back(
    server: Server, new_context: NewContext, screenshots: Path
) -> None:
    a = supervisor_dashboard(new_context(), server, ("marie.curie@testix.fr", "Marie", "Curie"))
    b = supervisor_dashboard(new_context(), server, ("pierre.curie@testix.fr", "Pierre", "Curie"))
    for page in (a, b):
        expect(page).to_have_title(f"Session {server.session_id} · Surveillance")

    tick(server, "Simon")
    c = new_context().new_page()
    candidate_join(c, server, "Simon")
    c.get_by_role("button", name="Commencer mon test").click()
    expect(c.get_by_text("Question 1 / 16")).to_be_visible()
    first_question = c.locator("[data-question-text]").inner_text()

    audit = Audit()
    assert AXE.exists(), "axe-core missing: npm install --prefix .cache axe-core@4"
    c.get_by_role("button", name="Signaler un problème").click()
    audit.check(c, "signal dialog")
    c.get_by_role("dialog").get_by_role("button", name="Annuler").click()
    expect(c.get_by_role("button", name="Signaler un problème")).to_be_focused()

    # « Autre » needs a comment: the dialog says so and sends nothing.
    signal(c, "Autre")
    expect(c.get_by_role("dialog")).to_contain_text("le commentaire est obligatoire pour « Autre »")
    c.get_by_role("dialog").get_by_role("button", name="Annuler").click()

    signal(c, "L'image ne s'affiche pas", "Le schéma reste blanc")
    expect(c.get_by_text("Votre surveillant a été prévenu et va venir.").first).to_be_visible()
    expect(c.get_by_role("button", name="Signaler un problème")).to_be_hidden()
    expect(c.get_by_role("button", name="Valider ma réponse")).to_have_attribute("aria-disabled", "true")

    # Both supervisors: badge first on the row, the row on top, the banner, the title.
    for page in (a, b):
        tags = row(page, "Simon").locator(".tag")
        expect(tags.first).to_have_text("Signalement")
        expect(page.locator("[data-candidate-id]").first).to_contain_text("DURAND Simon")
        expect(page.locator("[data-alert-banner]")).to_contain_text("1 signalement en attente de décision")
        expect(page).to_have_title(f"(1) Session {server.session_id} · Surveillance")
        expect(page.locator("[data-activity]")).to_contain_text("DURAND Simon a signalé un problème")

    c.screenshot(path=str(screenshots / "incident-candidate-on-hold.png"), full_page=True)
    a.screenshot(path=str(screenshots / "incident-dashboard-alert.png"), full_page=True)
    b.set_viewport_size({"width": 375, "height": 800})
    b.screenshot(path=str(screenshots / "incident-dashboard-alert-375.png"), full_page=True)

    # Both open the dialog; A validates first, B's dialog closes and says who did it.
    for page in (a, b):
        row(page, "Simon").get_by_role("button", name=re.compile("Traiter le signalement")).click()
        dialog = page.get_by_role("dialog", name="Traiter le signalement")
        expect(dialog).to_contain_text("DURAND Simon")
        expect(dialog).to_contain_text("Question 1 sur 16")
        expect(dialog).to_contain_text("L'image ne s'affiche pas")
        expect(dialog).to_contain_text("Le schéma reste blanc")
    a.screenshot(path=str(screenshots / "incident-alert-dialog.png"))
    audit.check(a, "alert dialog")
    audit.check(c, "candidate on hold")
    assert audit.blocking() == {}, audit.blocking()
    a.get_by_role("dialog").get_by_role("button", name="Valider").click()
    expect(a.get_by_text("Signalement validé : Simon DURAND reçoit une nouvelle question.")).to_be_visible()
    expect(b.get_by_role("dialog", name="Traiter le signalement")).to_be_hidden()
    expect(b.get_by_text("Marie Curie a déjà traité ce signalement.")).to_be_visible()
    for page in (a, b):
        expect(page.locator("[data-alert-banner]")).to_be_hidden()
        expect(page).to_have_title(f"Session {server.session_id} · Surveillance")
        expect(row(page, "Simon").locator(".tag:visible", has_text="Signalement")).to_have_count(0)

    # The candidate's page moved on by itself: another question, still question 1 of 16.
    expect(c.get_by_text("a validé votre signalement")).to_be_visible()
    expect(c.get_by_text("Question 1 / 16")).to_be_visible()
    expect(c.locator("[data-question-text]")).not_to_have_text(first_question)
    expect(c.get_by_role("button", name="Signaler un problème")).to_be_visible()
    expect(c.get_by_role("button", name="Valider ma réponse")).not_to_have_attribute("aria-disabled", "true")

    # A refused one: the same question, said so.
    second_question = c.locator("[data-question-text]").inner_text()
    signal(c, "Un lien ou un fichier ne s'ouvre pas")
    row(b, "Simon").get_by_role("button", name=re.compile("Traiter le signalement")).click()
    b.get_by_role("dialog").get_by_role("button", name="Refuser").click()
    expect(c.get_by_text("l'a refusé : vous pouvez répondre à cette question")).to_be_visible()
    expect(c.locator("[data-question-text]")).to_have_text(second_question)
    c.locator("label.choice").first.click()
    c.get_by_role("button", name="Valider ma réponse").click()
    expect(c.get_by_text("Question 2 / 16")).to_be_visible()


def test_reports_are_live_and_belong_to_their_author(server: Server, new_context: NewContext) -> None:
    a = supervisor_dashboard(new_context(), server, ("marie.curie@testix.fr", "Marie", "Curie"))
    b = supervisor_dashboard(new_context(), server, ("pierre.curie@testix.fr", "Pierre", "Curie"))
    audit = Audit()

    # Marie writes a report on Martine, who has not started: from the row's menu.
    row(a, "Martine").get_by_role("button", name=re.compile("Afficher les actions")).click()
    a.get_by_role("menuitem", name="Rédiger un rapport d'incident").click()
    dialog = a.get_by_role("dialog", name=re.compile("Rapports d'incident"))
    expect(dialog).to_contain_text("Aucun rapport d'incident pour ce candidat.")
    audit.check(a, "report dialog")
    dialog.get_by_role("button", name="Enregistrer le rapport").click()
    expect(dialog).to_contain_text("Choisissez une catégorie.")
    dialog.get_by_label("Catégorie").select_option(label="Retard, absence ou départ anticipé")
    dialog.get_by_label("Commentaire").fill("Arrivée à 11 h 20")
    dialog.get_by_role("button", name="Enregistrer le rapport").click()
    expect(dialog.locator("[data-report-list] li")).to_have_count(1)
    expect(dialog).to_contain_text("Arrivée à 11 h 20")

    # Pierre sees it without reloading, and may read but not change it.
    link = row(b, "Martine").get_by_role("button", name=re.compile("1 rapport d'incident"))
    expect(link).to_be_visible()
    link.click()
    b_dialog = b.get_by_role("dialog", name=re.compile("Rapports d'incident"))
    expect(b_dialog).to_contain_text("Arrivée à 11 h 20")
    expect(b_dialog).to_contain_text("Marie Curie")
    expect(b_dialog.get_by_role("button", name=re.compile("Modifier le rapport"))).to_have_count(0)

    # Marie edits it: Pierre's open dialog follows.
    dialog.get_by_role("button", name=re.compile("Modifier le rapport")).click()
    dialog.get_by_label("Commentaire").fill("Arrivée à 11 h 25, session commencée")
    dialog.get_by_role("button", name="Enregistrer les modifications").click()
    expect(b_dialog).to_contain_text("Arrivée à 11 h 25, session commencée")
    expect(b_dialog).to_contain_text("modifié à")
    # And removes it: the row's link goes on both pages.
    dialog.get_by_role("button", name=re.compile("Supprimer le rapport")).click()
    expect(b_dialog).to_contain_text("Aucun rapport d'incident pour ce candidat.")
    dialog.get_by_role("button", name="Fermer").click()
    b_dialog.get_by_role("button", name="Fermer").click()
    for page in (a, b):
        expect(row(page, "Martine").get_by_role("button", name=re.compile("rapport d'incident"))).to_have_count(0)

    # « Terminer le test » asks for a reason, which becomes a report.
    tick(server, "Simon")
    c = new_context().new_page()
    candidate_join(c, server, "Simon")
    c.get_by_role("button", name="Commencer mon test").click()
    expect(row(a, "Simon").locator(".tag", has_text="En cours")).to_be_visible()
    row(a, "Simon").get_by_role("button", name=re.compile("Afficher les actions")).click()
    a.get_by_role("menuitem", name="Terminer le test").click()
    end = a.get_by_role("dialog", name="Terminer le test de Simon DURAND ?")
    audit.check(a, "end test dialog")
    end.get_by_label("Motif").select_option(label="Suspicion de fraude")
    end.get_by_role("button", name="Terminer le test").click()
    expect(c.get_by_text("Votre surveillant a mis fin à votre test de certification.")).to_be_visible()
    link = row(b, "Simon").get_by_role("button", name=re.compile("1 rapport d'incident"))
    link.click()
    expect(b.get_by_role("dialog", name=re.compile("Rapports d'incident"))).to_contain_text("Suspicion de fraude")
    expect(row(b, "Simon").locator(".candidate__timing").last).to_contain_text(re.compile(r"fin \d{2}:\d{2}"))
    # Marie's reason is the trace of her decision: she may correct it, not remove it.
    row(a, "Simon").get_by_role("button", name=re.compile("1 rapport d'incident")).click()
    mine = a.get_by_role("dialog", name=re.compile("Rapports d'incident"))
    expect(mine.get_by_role("button", name="Modifier le rapport « Suspicion de fraude »")).to_be_visible()
    expect(mine.get_by_role("button", name=re.compile("^Supprimer le rapport"))).to_have_count(0)
    assert audit.blocking() == {}, audit.blocking()


def test_finalisation_then_the_proces_verbal(server: Server, new_context: NewContext, screenshots: Path) -> None:
    busy_session(server)  # Sophie finished, Simon and Paul in progress, Martine ticked
    simon = api_candidate_again(server)
    qid = simon.get("/api/candidate/test").json()["question"]["id"]
    alert = simon.post("/api/candidate/alerts", json={"question_id": qid, "category": "link"}).json()["candidate"]["alert"]
    with server.supervisor() as api:
        api.post(f"/api/supervision/sessions/{server.session_id}/alerts/{alert['id']}/refuse").raise_for_status()
        # Then a supervisor ends Simon's test and says why: the finalisation will not ask again.
        end = f"/api/supervision/sessions/{server.session_id}/candidates/{candidate_id(server, 'Simon')}/end-test"
        api.post(end, json={"category": "technical", "comment": "Poste en panne"}).raise_for_status()
    simon.close()
    # Marie supervises the session without belonging to the centre: her dashboard is open.
    marie = supervisor_dashboard(new_context(), server, ("marie.curie@testix.fr", "Marie", "Curie"))

    context = new_context()
    api_login(context, server)
    page = context.new_page()
    page.goto(f"/centre/sessions/{server.session_id}")
    section = page.locator("[data-finalization]")
    expect(section).to_contain_text("DURAND Simon — Problème sur une question")
    # A reason for each test started and not finished: Paul and Simon.
    expect(section.locator("[data-final-reasons] select")).to_have_count(2)
    audit = Audit()
    audit.check(page, "centre: finalisation")
    page.get_by_role("button", name="Finaliser la session").first.click()
    expect(page.locator("#final-title")).to_be_focused()
    section.get_by_role("button", name="Finaliser la session").click()
    expect(section.get_by_role("alert")).to_contain_text("Choisissez un motif pour DUPONT Paul")
    section.get_by_label("Motif pour DUPONT Paul").select_option(label="Incident technique")
    section.get_by_label("Commentaire pour DUPONT Paul (facultatif)").fill("Reprise tardive, temps écoulé")
    # Simon's reason is the one given when his test was ended, filled in and still editable.
    simon_reason = section.get_by_label("Motif pour DURAND Simon")
    expect(simon_reason).to_have_value("technical")
    expect(simon_reason).to_be_enabled()
    expect(section.get_by_label("Commentaire pour DURAND Simon (facultatif)")).to_have_value("Poste en panne")
    expect(simon_reason).to_have_accessible_description(re.compile(r"^Motif donné par .+ en terminant le test, à \d{2}:\d{2}"))
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        section.screenshot(path=str(screenshots / f"finalisation-reasons-{width}.png"), animations="disabled")
    section.get_by_label("Commentaire sur la session").fill("Session sereine malgré une coupure.")
    section.get_by_role("button", name="Finaliser la session").click()
    page.get_by_role("dialog").get_by_role("button", name="Finaliser la session").click()
    expect(page.get_by_text(f"La session {server.session_id} est finalisée.")).to_be_visible()
    link = page.get_by_role("link", name="Télécharger le procès-verbal (PDF)")
    expect(link).to_be_visible()
    expect(section).to_contain_text("Reprise tardive, temps écoulé")
    audit.check(page, "centre: finalisée")
    assert audit.blocking() == {}, audit.blocking()

    with page.expect_download() as info:
        link.click()
    pdf = Path(info.value.path()).read_bytes()
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        f"Procès-verbal — Session {server.session_id}",
        "DURAND Simon",
        "Terminé à la finalisation",
        "Terminé par un surveillant",
        "Poste en panne",
        "Q6 refusé",
        "Reprise tardive, temps écoulé",
        "Session sereine malgré une coupure.",
        "Chronologie des tests",
    ):
        assert expected in text, expected
    pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil().save(screenshots / "proces-verbal-page1.png")
    with page.expect_download() as info:
        page.get_by_role("link", name="Exporter les rapports (CSV)").click()
    exported = Path(info.value.path()).read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf")
    # Simon's reason is on record once, as given at the end of his test.
    rows = csv.reader(io.StringIO(exported.decode("utf-8-sig")), delimiter=";")
    simon_rows = [row for row in rows if row[1] == "DURAND Simon"]
    assert [row[4] for row in simon_rows] == ["Décision sur un signalement", "Motif de fin de test"], simon_rows

    # The session's supervisors download it too: from the dashboard that saw the finalisation,
    # and from the page a later visit to the dashboard leads to.
    banner = marie.locator("[data-finalized-banner]")
    expect(banner).to_be_visible()
    # Nothing can be done to a finalised room: its selection does not open either.
    expect(marie.get_by_role("button", name="Sélectionner des candidats")).to_be_disabled()
    for width in (375, 1280):
        marie.set_viewport_size({"width": width, "height": 900})
        marie.screenshot(path=str(screenshots / f"dashboard-finalised-{width}.png"), full_page=True, animations="disabled")
    for where in (marie, None):
        if where is None:
            marie.reload()
            expect(marie).to_have_url(re.compile(r"/surveillance\?session=\d+&info=finalisee$"))
            where = marie
        with where.expect_download() as info:
            where.get_by_role("link", name="Télécharger le procès-verbal (PDF)").click()
        assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
        # And the incident reports, as the centre exports them.
        with where.expect_download() as info:
            where.get_by_role("link", name="Exporter les rapports (CSV)").click()
        assert Path(info.value.path()).read_bytes() == exported
    for width in (375, 1280):
        marie.set_viewport_size({"width": width, "height": 900})
        marie.screenshot(path=str(screenshots / f"access-finalised-{width}.png"), full_page=True, animations="disabled")
    audit.check(marie, "supervisor: finalised session")
    assert audit.blocking() == {}, audit.blocking()


def api_candidate_again(server: Server) -> Any:
    """Simon's test, resumed from a new API client (his first one was closed)."""
    body = {
        "session_id": server.session_id,
        "access_code": server.access_code,
        "first_name": "Simon",
        "last_name": CANDIDATES["Simon"][0],
        "birthdate": CANDIDATES["Simon"][1],
    }
    client = server.client()
    assert client.post("/api/candidate/join", json=body).status_code == 403
    with server.supervisor() as api:
        sid, cid = server.session_id, candidate_id(server, "Simon")
        api.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/authorize-resume").raise_for_status()
    client.post("/api/candidate/join", json=body).raise_for_status()
    return client


# Headless Chromium shows no system notification and keeps every tab visible: this records
# what the page asks of the Notification API and lets the test say when the tab is hidden.
WATCH_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__hidden = false;
  Object.defineProperty(document, "hidden", { get: () => window.__hidden, configurable: true });
  if (!Real) return;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options && options.body });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""


def test_sound_and_notifications_are_off_until_turned_on_and_remembered(server: Server, new_context: NewContext) -> None:
    context = new_context(permissions=["notifications"])
    context.add_init_script(WATCH_NOTIFICATIONS)
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    open_dashboard(page, server)
    toggle = page.get_by_role("button", name=re.compile("Son et notifications"))
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(toggle).to_contain_text("désactivés")

    # Off: an alert rings nothing.
    tick(server, "Simon")
    c = new_context().new_page()
    candidate_join(c, server, "Simon")
    c.get_by_role("button", name="Commencer mon test").click()
    page.evaluate("window.__hidden = true")
    signal(c, "Un lien ou un fichier ne s'ouvre pas")
    expect(page.locator("[data-alert-banner]")).to_be_visible()
    assert page.evaluate("window.__notes.length") == 0
    assert toggle.get_attribute("data-last-sound") is None
    row(page, "Simon").get_by_role("button", name=re.compile("Traiter le signalement")).click()
    page.get_by_role("dialog").get_by_role("button", name="Refuser").click()
    expect(page.locator("[data-alert-banner]")).to_be_hidden()

    # Turned on from a click (permission granted by the browser context); remembered.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_contain_text("activés")
    assert page.evaluate("Notification.permission") == "granted"
    assert page.evaluate("localStorage.getItem('surveillance.alertes.son')") == "on"
    page.reload()
    expect(page.locator("[data-candidates]")).to_have_attribute("aria-busy", "false")
    toggle = page.get_by_role("button", name=re.compile("Son et notifications"))
    expect(toggle).to_have_attribute("aria-pressed", "true")

    # On, tab hidden: a sound and a system notification naming the candidate.
    page.evaluate("window.__hidden = true")
    expect(c.get_by_role("button", name="Signaler un problème")).to_be_visible()
    signal(c, "Autre", "Ma souris ne répond plus")
    expect(page.locator("[data-alert-banner]")).to_be_visible()
    page.wait_for_function("window.__notes.length === 1")
    note = page.evaluate("window.__notes[0]")
    assert note["title"] == f"Signalement — Session {server.session_id}"
    assert note["body"] == "DURAND Simon : Autre"
    expect(toggle).to_have_attribute("data-last-sound", re.compile(r"^\d{4}-"))

    # Visible tab: the sound only.
    row(page, "Simon").get_by_role("button", name=re.compile("Traiter le signalement")).click()
    page.get_by_role("dialog").get_by_role("button", name="Refuser").click()
    page.evaluate("window.__hidden = false")
    sounded = toggle.get_attribute("data-last-sound")
    signal(c, "L'image ne s'affiche pas")
    expect(toggle).not_to_have_attribute("data-last-sound", sounded or "")
    assert page.evaluate("window.__notes.length") == 1

    # Off again, remembered too.
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("localStorage.getItem('surveillance.alertes.son')") == "off"
