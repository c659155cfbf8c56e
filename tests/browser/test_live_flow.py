"""The guide's day with two supervisors and one candidate, every change seen live by all."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import (
    answer_current,
    api_access,
    candidate_join,
    open_dashboard,
    presence,
    row,
    signup,
    ui_access,
    ui_login,
)

pytestmark = pytest.mark.browser

LOST_WAIT_MS = 30_000


def test_two_supervisors_and_a_candidate(server: Server, new_context: NewContext) -> None:
    # Supervisor A goes the whole way through the pages: login redirect, then the session form.
    a = new_context().new_page()
    a.goto("/surveillance")
    ui_login(a)
    a.wait_for_url("**/surveillance")
    expect(a.get_by_text("surveillant@testix.fr")).to_be_visible()
    ui_access(a, server)
    expect(a.get_by_role("heading", name=f"Session {server.session_id}")).to_be_visible()
    expect(a.get_by_text("28/12/2021 · 11:00")).to_be_visible()

    # Supervisor B is a second account, signed up through the API.
    b_context = new_context()
    signup(b_context, server, "marie.curie@testix.fr", "Marie", "Curie")
    api_access(b_context, server)
    b = b_context.new_page()
    open_dashboard(b, server)
    expect(a.locator("[data-supervisors]")).to_contain_text("Marie Curie")

    # A ticks Paul: B's checkbox follows without a reload.
    expect(presence(b, "Paul")).not_to_be_checked()
    presence(a, "Paul").check()
    expect(presence(b, "Paul")).to_be_checked()
    # The counters are the server's, carried by the event: B counts nothing itself.
    expect(b.locator('[data-count="present"]')).to_have_text("1")
    # Screen readers hear it too, through the polite live region.
    expect(b.locator("[data-announcer]")).to_have_text("DUPONT Paul : présence confirmée")
    expect(b.locator("[data-activity]")).to_contain_text("Surveillant Test a confirmé la présence de DUPONT Paul")

    # The candidate joins and starts: both supervisors see "En cours".
    c_context = new_context()
    c = c_context.new_page()
    candidate_join(c, server, "Paul")
    c.get_by_role("button", name="Commencer mon test").click()
    expect(c.get_by_text("Question 1 / 16")).to_be_visible()
    for page in (a, b):
        expect(row(page, "Paul").locator(".tag", has_text="En cours")).to_be_visible()
        expect(page.locator('[data-count="in_progress"]')).to_have_text("1")
    expect(a.locator("[data-announcer]")).to_contain_text("DUPONT Paul : test en cours")
    answer_current(c)
    expect(c.get_by_text("Question 2 / 16")).to_be_visible()
    answer_current(c)
    expect(c.get_by_text("Question 3 / 16")).to_be_visible()
    expect(row(a, "Paul")).to_contain_text("2/16")

    # The candidate closes the page: once the lease runs out, both see the lost connection.
    c.close()
    for page in (a, b):
        expect(row(page, "Paul").get_by_text("Connexion perdue")).to_be_visible(timeout=LOST_WAIT_MS)
        # The feed tells it too, not only the row (it went straight to the resume request before).
        expect(page.locator("[data-activity]")).to_contain_text("Connexion perdue : DUPONT Paul")

    # A new page joins again: refused until a supervisor authorises the resume.
    c = c_context.new_page()
    candidate_join(c, server, "Paul")
    expect(c.get_by_text("Pour le reprendre, votre surveillant doit vous y autoriser")).to_be_visible()
    for page in (a, b):
        expect(row(page, "Paul").get_by_text("Reprise demandée")).to_be_visible()
        # Presence counts only the browser of the current join: the page asking is not it
        # yet, so the test is still shown lost, and nothing looks suspicious.
        expect(row(page, "Paul").get_by_text("Connexion perdue")).to_be_visible()
        expect(row(page, "Paul").locator("[data-resume-warning]")).to_be_hidden()
    # The row asking for attention comes first.
    expect(a.locator("[data-candidate-id]").first).to_contain_text("DUPONT Paul")

    # A authorises from the keyboard: Enter opens the menu, Escape closes it and gives the focus back.
    menu_button = row(a, "Paul").get_by_role("button", name=re.compile("Afficher les actions"))
    menu_button.focus()
    a.keyboard.press("Enter")
    resume_item = a.get_by_role("menuitem", name="Autoriser la reprise du test")
    expect(resume_item).to_be_focused()
    a.keyboard.press("Escape")
    expect(resume_item).to_be_hidden()
    expect(menu_button).to_be_focused()
    a.keyboard.press("Enter")
    a.keyboard.press("End")
    expect(a.get_by_role("menuitem", name="Terminer le test")).to_be_focused()
    a.keyboard.press("Home")
    a.keyboard.press("Enter")
    dialog = a.get_by_role("dialog")
    expect(dialog).to_contain_text("Autoriser la reprise du test de Paul DUPONT ?")
    dialog.get_by_role("button", name="Je confirme l'autorisation").click()
    expect(a.get_by_text("Succès ! Paul DUPONT peut reprendre son test de certification.")).to_be_visible()
    expect(menu_button).to_be_focused()

    # The candidate's page goes on by itself, where the test was left, and is connected again.
    expect(c.get_by_text("Question 3 / 16")).to_be_visible()
    expect(row(a, "Paul").get_by_text("Connexion perdue")).to_be_hidden()
    # The loss and the return are one line of the feed, and a reload keeps its trace.
    expect(a.locator("[data-activity]")).to_contain_text("Connexion rétablie : DUPONT Paul")
    expect(a.locator("[data-activity] li", has_text="Connexion")).to_have_count(1)
    b.reload()
    expect(b.locator("[data-candidates]")).to_have_attribute("aria-busy", "false")
    expect(b.locator("[data-activity]")).to_contain_text("Connexion rétablie : DUPONT Paul")
    expect(b.locator("[data-activity] li", has_text="Connexion")).to_have_count(1)

    # B ends the test: the candidate's page says so at once.
    row(b, "Paul").get_by_role("button", name=re.compile("Afficher les actions")).click()
    b.get_by_role("menuitem", name="Terminer le test").click()
    dialog = b.get_by_role("dialog")
    expect(dialog).to_contain_text(
        "Attention : cette action entraîne la fin de son test de certification et est irréversible."
    )
    # The reason is asked for: without one, nothing is sent.
    dialog.get_by_role("button", name="Terminer le test").click()
    expect(dialog).to_contain_text("Choisissez le motif de la fin du test.")
    dialog.get_by_label("Motif").select_option(label="Incident technique")
    dialog.get_by_label("Commentaire").fill("Poste en panne")
    dialog.get_by_role("button", name="Terminer le test").click()
    expect(b.get_by_text("Succès ! Le test de Paul DUPONT est terminé.")).to_be_visible()
    expect(row(a, "Paul").get_by_role("button", name=re.compile("1 rapport d'incident"))).to_be_visible()
    expect(c.get_by_text("Votre surveillant a mis fin à votre test de certification.")).to_be_visible(timeout=3000)

    expect(row(a, "Paul").locator(".tag", has_text="Terminé")).to_be_visible()
    expect(a.locator("[data-activity]")).to_contain_text("Marie Curie a mis fin au test de DUPONT Paul")
    expect(a.locator("[data-activity]")).to_contain_text("Surveillant Test a autorisé la reprise de DUPONT Paul")
    expect(a.locator('[data-count="finished"]')).to_have_text("1")
    expect(a.locator('[data-count="in_progress"]')).to_have_text("0")
    expect(b.locator('[data-count="present"]')).to_have_text("1")
