"""Room control in the pages: the room paused and resumed from a supervisor's page, a bulk
end of three tests with one confirmation, a message on a candidate's page; axe on all."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import (
    api_candidate,
    candidate_id,
    candidate_join,
    row,
    signup,
    supervisor_dashboard,
    tick,
    ui_login,
)
from tests.browser.test_accessibility import AXE, Audit

pytestmark = pytest.mark.browser


def seconds_of(text: str) -> int:
    """ "Temps restant : 1 h 44 min 58 s (…)" → seconds."""
    m = re.search(r"(?:(\d+) h )?(\d+) min (\d+) s", text)
    assert m, text
    return int(m[1] or 0) * 3600 + int(m[2]) * 60 + int(m[3])


def supervisor_page(server: Server, new_context: NewContext, **options: object) -> Page:
    return supervisor_dashboard(new_context(**options), server)


def candidate_in_test(server: Server, new_context: NewContext, first: str, **options: object) -> Page:
    tick(server, first)
    page = new_context(**options).new_page()
    candidate_join(page, server, first)
    page.get_by_role("button", name="Commencer mon test").click()
    expect(page.get_by_text("Question 1 / 16")).to_be_visible()
    return page


def test_room_pause_stops_the_countdown_and_resume_continues(server: Server, new_context: NewContext) -> None:
    sup = supervisor_page(server, new_context)
    cand = candidate_in_test(server, new_context, "Paul")
    expect(row(sup, "Paul").locator(".tag", has_text="En cours")).to_be_visible()

    sup.get_by_role("button", name="Mettre la salle en pause").click()
    dialog = sup.get_by_role("dialog")
    expect(dialog).to_contain_text("1 test en cours")
    dialog.get_by_label("Message affiché aux candidats (facultatif)").fill("Alarme incendie, restez calmes")
    dialog.get_by_role("button", name="Mettre la salle en pause").click()
    expect(dialog).to_be_hidden()

    # At once on the candidate's page: the pause and its message, not the question.
    expect(cand.get_by_role("heading", name="Test en pause")).to_be_visible(timeout=3000)
    expect(cand.get_by_text("Le test est suspendu par votre surveillant : Alarme incendie, restez calmes")).to_be_visible()
    expect(cand.get_by_text("Question 1 / 16")).to_be_hidden()
    expect(cand.locator("[data-announcer]")).to_contain_text("Le test est suspendu par votre surveillant")
    stopped = cand.locator("[data-pause-time]").inner_text()
    assert "arrêté" in stopped
    time.sleep(2.2)
    assert cand.locator("[data-pause-time]").inner_text() == stopped
    # The supervisor's row says so, with the pause's duration.
    expect(row(sup, "Paul").locator(".tag", has_text=re.compile(r"En pause · moins d'1 min"))).to_be_visible()
    expect(sup.locator("[data-room-status]")).to_have_text("1 test en pause sur 1 test en cours")
    expect(sup.locator("[data-activity]")).to_contain_text("Surveillant Test a mis en pause le test de DUPONT Paul")

    sup.get_by_role("button", name="Reprendre tous les tests").click()
    dialog = sup.get_by_role("dialog")
    expect(dialog).to_contain_text("Reprendre 1 test en pause ?")
    dialog.get_by_role("button", name="Reprendre les tests").click()

    expect(cand.get_by_text("Question 1 / 16")).to_be_visible(timeout=3000)
    timer = cand.locator("[data-timer]")
    first = timer.inner_text()
    expect(timer).not_to_have_text(first, timeout=3000)
    # Counting on from where it stopped: the seconds of the pause (over 2) were given back.
    assert seconds_of(stopped) - seconds_of(first) <= 1, (stopped, first)
    expect(row(sup, "Paul").locator(".tag", has_text="En pause")).to_be_hidden()
    expect(sup.locator("[data-activity]")).to_contain_text("Surveillant Test a repris le test de DUPONT Paul")


def adjust_from_menu(sup: Page, first: str, minutes: int, reason: str) -> None:
    row(sup, first).get_by_role("button", name=re.compile("Afficher les actions")).click()
    sup.get_by_role("menuitem", name="Ajuster le temps").click()
    dialog = sup.get_by_role("dialog")
    dialog.get_by_label(re.compile("Minutes à ajouter")).fill(str(minutes))
    dialog.get_by_label("Motif").fill(reason)
    dialog.get_by_role("button", name="Ajuster le temps").click()
    expect(dialog).to_be_hidden()


def test_time_adjusted_during_a_pause_moves_the_stopped_clock(server: Server, new_context: NewContext) -> None:
    sup = supervisor_page(server, new_context)
    cand = candidate_in_test(server, new_context, "Paul")
    row(sup, "Paul").get_by_role("button", name=re.compile("Afficher les actions")).click()
    sup.get_by_role("menuitem", name="Mettre le test en pause").click()
    sup.get_by_role("dialog").get_by_role("button", name="Mettre en pause").click()
    expect(cand.get_by_role("heading", name="Test en pause")).to_be_visible(timeout=3000)
    clock = cand.locator("[data-pause-time]")
    stopped = clock.inner_text()

    adjust_from_menu(sup, "Paul", 15, "Changement de poste")
    # Still paused, the stopped clock now shows the fifteen minutes given, and says so.
    expect(cand.locator("[data-announcer]")).to_contain_text("Votre surveillant vous a accordé 15 minutes de plus.")
    expect(clock).not_to_have_text(stopped, timeout=3000)
    assert seconds_of(clock.inner_text()) - seconds_of(stopped) == 15 * 60, (stopped, clock.inner_text())
    expect(cand.get_by_role("heading", name="Test en pause")).to_be_visible()


def test_adjusting_time_moves_the_overtime_tag_on_every_dashboard(server: Server, new_context: NewContext) -> None:
    tick(server, "Paul")
    api_candidate(server, "Paul", answers=1).close()
    # Paul started two hours ago, as far as the database knows: past his 105 minutes.
    db = sqlite3.connect(server.folder / "db.sqlite")
    with db:
        db.execute("UPDATE candidate SET started_at = datetime(started_at, '-2 hours') WHERE first_name = 'Paul'")
    db.close()
    marie = supervisor_page(server, new_context)
    pierre = supervisor_dashboard(new_context(), server, ("pierre@testix.fr", "Pierre", "Martin"))
    for page in (marie, pierre):
        expect(row(page, "Paul").locator(".tag", has_text="Temps écoulé")).to_be_visible()

    adjust_from_menu(marie, "Paul", 30, "Panne de courant")
    for page in (marie, pierre):
        expect(row(page, "Paul").locator(".tag", has_text="Temps ajusté +30 min")).to_be_visible()
        expect(row(page, "Paul").locator(".tag", has_text="Temps écoulé")).to_be_hidden()

    adjust_from_menu(pierre, "Paul", -30, "Erreur de saisie")
    for page in (marie, pierre):
        expect(row(page, "Paul").locator(".tag", has_text="Temps écoulé")).to_be_visible()
        expect(row(page, "Paul").locator(".tag", has_text="Temps ajusté")).to_be_hidden()


def test_bulk_end_of_three_with_one_confirmation(server: Server, new_context: NewContext) -> None:
    for first in ("Sophie", "Simon", "Paul"):
        tick(server, first)
        api_candidate(server, first, answers=1).close()
    sup = supervisor_page(server, new_context)
    sup.get_by_role("button", name="Sélectionner des candidats").click()
    for name in ("DELARUE Sophie", "DURAND Simon", "DUPONT Paul"):
        sup.get_by_role("checkbox", name=f"Sélectionner {name}").check()
    expect(sup.locator("[data-room-count]")).to_have_text("3 candidats sélectionnés")
    sup.locator("[data-room-selection]").get_by_role("button", name="Terminer les tests").click()
    dialog = sup.get_by_role("dialog", name="Terminer le test de 3 candidats ?")
    # The reason is asked as for one test: without it, nothing is sent.
    dialog.get_by_role("button", name="Terminer les tests").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choisissez le motif de la fin des tests.")
    expect(row(sup, "Paul").locator(".tag", has_text="Terminé")).to_be_hidden()
    dialog.get_by_label("Motif").select_option(label="Incident technique")
    dialog.get_by_label("Commentaire (facultatif)").fill("Alarme incendie")
    dialog.get_by_role("button", name="Terminer les tests").click()
    expect(dialog).to_be_hidden()
    for first in ("Sophie", "Simon", "Paul"):
        expect(row(sup, first).locator(".tag", has_text="Terminé")).to_be_visible()
    expect(sup.locator('[data-count="finished"]')).to_have_text("3")
    expect(sup.get_by_text("Tests terminés. (3 candidats)")).to_be_visible()
    expect(sup.locator("[data-room-count]")).to_have_text("Aucun candidat sélectionné")
    # Each got its report, as « Terminer le test » gives one.
    for first in ("Sophie", "Simon", "Paul"):
        expect(row(sup, first)).to_contain_text("1 rapport d'incident")


def test_message_to_the_room_is_shown_and_announced(server: Server, new_context: NewContext) -> None:
    sup = supervisor_page(server, new_context)
    cand = candidate_in_test(server, new_context, "Paul")
    sup.get_by_role("button", name="Message à la salle").click()
    dialog = sup.get_by_role("dialog")
    dialog.get_by_label("Message").fill("Il reste 10 minutes")
    dialog.get_by_role("button", name="Envoyer").click()
    expect(dialog).to_be_hidden()

    notices = cand.locator("[data-room-notices]")
    expect(notices).to_have_attribute("aria-live", "assertive")
    expect(notices).to_contain_text("Message de votre surveillant")
    expect(notices).to_contain_text("Il reste 10 minutes")
    expect(sup.locator("[data-activity]")).to_contain_text(
        "Surveillant Test a envoyé un message à la salle : « Il reste 10 minutes »"
    )
    # The question is still there and answerable; the notice goes when dismissed.
    expect(cand.get_by_text("Question 1 / 16")).to_be_visible()
    notices.get_by_role("button", name="Fermer ce message").click()
    expect(notices).not_to_contain_text("Il reste 10 minutes")


def test_a_message_sent_while_the_page_was_away_is_shown_after_a_reload_until_closed(
    server: Server, new_context: NewContext, screenshots: Path
) -> None:
    """The candidate's page is gone (closed, reloaded, wifi down) when « Il reste 10 minutes »
    is sent: back, it shows the message, announced, with the time it was sent; it shows it
    again after another reload until the candidate closes it, and never after that."""
    sup = supervisor_page(server, new_context)
    cand = candidate_in_test(server, new_context, "Paul")
    notices = cand.locator("[data-room-notices]")
    cand.goto("about:blank")
    expect(row(sup, "Paul")).to_contain_text("Connexion perdue", timeout=20_000)

    sup.get_by_role("button", name="Message à la salle").click()
    dialog = sup.get_by_role("dialog")
    dialog.get_by_label("Message").fill("Il reste 10 minutes")
    dialog.get_by_role("button", name="Envoyer").click()
    expect(dialog).to_be_hidden()

    # Back on the page: the door, then the wait for the supervisor, with the message.
    candidate_join(cand, server, "Paul")
    expect(cand.get_by_role("heading", name="Vous allez commencer votre test de certification")).to_be_visible()
    expect(notices).to_have_attribute("aria-live", "assertive")
    notice = notices.locator(".room-notice")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Il reste 10 minutes")
    expect(notice).to_contain_text(re.compile(r"Envoyé à \d\d:\d\d"))
    for width in (375, 1280):
        cand.set_viewport_size({"width": width, "height": 800})
        cand.screenshot(path=str(screenshots / f"candidate-missed-message-{width}.png"), full_page=True, animations="disabled")
    # The message floats over the page, and the end of the page can still be scrolled from
    # under it: the last button is reachable with the message open.
    cand.set_viewport_size({"width": 375, "height": 800})
    cand.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    edit = cand.get_by_role("button", name="Modifier mes informations")
    uncovered = """(el) => { const r = el.getBoundingClientRect();
        return [r.top + 2, r.top + r.height / 2, r.bottom - 2].every(
            (y) => el.contains(document.elementFromPoint(r.left + r.width / 2, y))); }"""
    assert edit.evaluate(uncovered)
    cand.screenshot(path=str(screenshots / "candidate-missed-message-375-scrolled.png"), animations="disabled")

    # Not closed: it comes back with the next reload, once.
    cand.reload()
    candidate_join(cand, server, "Paul")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Il reste 10 minutes")

    # The supervisor lets the test go on: the message stays until closed.
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/candidates/{candidate_id(server, 'Paul')}/authorize-resume"
        ).raise_for_status()
    expect(cand.get_by_text("Question 1 / 16")).to_be_visible()
    # The resumed test's socket sends it again with its first state: still one on the page.
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Il reste 10 minutes")
    # Closed from the keyboard, as a candidate without a mouse would.
    notices.get_by_role("button", name="Fermer ce message").focus()
    cand.keyboard.press("Enter")
    expect(notice).to_have_count(0)

    # Closed, it never comes back; a new message does.
    cand.reload()
    candidate_join(cand, server, "Paul")
    expect(cand.get_by_role("heading", name="Vous allez commencer votre test de certification")).to_be_visible()
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/messages", json={"text": "Merci de rester à votre place"}
        ).raise_for_status()
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Merci de rester à votre place")
    expect(notices).not_to_contain_text("Il reste 10 minutes")


def test_room_control_is_axe_clean(server: Server, new_context: NewContext) -> None:
    if not AXE.exists():
        pytest.fail("axe-core missing: npm install --prefix .cache axe-core@4 (scripts/test does it)")
    audit = Audit()
    sup = supervisor_page(server, new_context)
    cand = candidate_in_test(server, new_context, "Paul", viewport={"width": 375, "height": 800})
    sup.get_by_role("button", name="Sélectionner des candidats").click()
    sup.get_by_role("checkbox", name="Sélectionner DUPONT Paul").check()
    audit.check(sup, "tableau de bord, sélection")

    row(sup, "Paul").get_by_role("button", name=re.compile("Afficher les actions")).click()
    sup.get_by_role("menuitem", name="Ajuster le temps").click()
    dialog = sup.get_by_role("dialog")
    dialog.get_by_label(re.compile("Minutes à ajouter")).fill("500")
    dialog.get_by_label("Motif").fill("Panne")
    dialog.get_by_role("button", name="Ajuster le temps").click()
    # The server's refusal stays in the dialog, where the value can be corrected.
    expect(dialog.locator("[data-room-dialog-error]")).to_contain_text("entre -30 et +120 minutes")
    audit.check(sup, "ajuster le temps, refus")
    before = seconds_of(cand.locator("[data-timer]").inner_text())
    dialog.get_by_label(re.compile("Minutes à ajouter")).fill("15")
    dialog.get_by_role("button", name="Ajuster le temps").click()
    expect(dialog).to_be_hidden()
    expect(row(sup, "Paul").locator(".tag", has_text="Temps ajusté +15 min")).to_be_visible()
    # The candidate's countdown moved at once, without a reload, and said so.
    expect(cand.locator("[data-announcer]")).to_contain_text("Votre surveillant vous a accordé 15 minutes de plus.")
    cand.wait_for_timeout(1100)  # the countdown redraws each second
    after = seconds_of(cand.locator("[data-timer]").inner_text())
    assert 15 * 60 - 10 <= after - before <= 15 * 60, (before, after)

    sup.get_by_role("button", name="Message à la salle").click()
    dialog = sup.get_by_role("dialog")
    dialog.get_by_label("Message").fill("Merci de rester à votre place")
    dialog.get_by_role("button", name="Envoyer").click()
    expect(cand.locator("[data-room-notices]")).to_contain_text("Merci de rester à votre place")
    audit.check(cand, "candidat, message")

    row(sup, "Paul").get_by_role("button", name=re.compile("Afficher les actions")).click()
    sup.get_by_role("menuitem", name="Mettre le test en pause").click()
    sup.get_by_role("dialog").get_by_role("button", name="Mettre en pause").click()
    expect(cand.get_by_role("heading", name="Test en pause")).to_be_visible(timeout=3000)
    audit.check(cand, "candidat, pause")
    audit.check(sup, "tableau de bord, en pause")
    assert audit.blocking() == {}


def test_room_screenshots(server: Server, new_context: NewContext, screenshots: Path) -> None:
    """For review: the dashboard with a paused test and a selection, the candidate's pause
    screen with a message, at the phone's and the laptop's widths."""
    tick(server, "Sophie")
    api_candidate(server, "Sophie", answers=3).close()
    sup = supervisor_page(server, new_context)
    cand = candidate_in_test(server, new_context, "Paul")
    sup.get_by_role("button", name="Message à la salle").click()
    sup.get_by_role("dialog").get_by_label("Message").fill("Il reste 10 minutes")
    sup.get_by_role("dialog").get_by_role("button", name="Envoyer").click()
    row(sup, "Paul").get_by_role("button", name=re.compile("Afficher les actions")).click()
    sup.get_by_role("menuitem", name="Mettre le test en pause").click()
    sup.get_by_role("dialog").get_by_label(re.compile("Message affiché")).fill("Changement de poste")
    sup.get_by_role("dialog").get_by_role("button", name="Mettre en pause").click()
    expect(cand.get_by_role("heading", name="Test en pause")).to_be_visible(timeout=3000)
    sup.get_by_role("button", name="Sélectionner des candidats").click()
    sup.get_by_role("checkbox", name="Sélectionner DELARUE Sophie").check()
    for width in (1280, 375):
        sup.set_viewport_size({"width": width, "height": 900})
        cand.set_viewport_size({"width": width, "height": 900})
        sup.wait_for_timeout(150)
        sup.screenshot(path=str(screenshots / f"room-dashboard-{width}.png"), full_page=True, animations="disabled")
        cand.screenshot(path=str(screenshots / f"room-candidate-pause-{width}.png"), full_page=True, animations="disabled")
    row(sup, "Paul").get_by_role("button", name=re.compile("Afficher les actions")).click()
    sup.get_by_role("menuitem", name="Ajuster le temps").click()
    sup.screenshot(path=str(screenshots / "room-adjust-375.png"), animations="disabled")


def test_login_lands_on_the_centre_or_on_supervision(server: Server, new_context: NewContext) -> None:
    # The demo account is a member of the demo centre: its space first.
    member = new_context().new_page()
    member.goto("/connexion")
    ui_login(member)
    member.wait_for_url("**/centre")
    expect(member.get_by_role("heading", name="Mes sessions de certification")).to_be_visible()

    # An account that only supervises: "Surveiller une session", the guide's step 1.
    context = new_context()
    signup(context, server, "marie.curie@testix.fr", "Marie", "Curie")
    context.clear_cookies()
    page = context.new_page()
    page.goto("/connexion")
    ui_login(page, "marie.curie@testix.fr", "Motdepasse1")
    page.wait_for_url("**/surveillance")
    expect(page.get_by_role("heading", name="Surveiller une session")).to_be_visible()
