"""Two languages on one session at once: a supervisor reads French while a candidate, whose
browser asks for English, takes the test in English; what the scripts write (messages,
statuses, announcements, the pause, the decision on an alert) follows each page's own language.
Then the dashboard in English, checked by axe and photographed for docs/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import CANDIDATES, api_access, api_login, open_dashboard, presence, row
from tests.browser.test_accessibility import AXE, Audit
from tests.browser.test_screenshots import shot

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
ENGLISH = {"locale": "en-GB"}


def join_by_fields(page: Page, server: Server, first: str) -> None:
    """By the fields' names, not their labels: the labels are in the page's language."""
    last, birth = CANDIDATES[first]
    page.goto("/certification")
    page.locator("#session_id").fill(str(server.session_id))
    page.locator("#access_code").fill(server.access_code)
    page.locator("#first_name").fill(first)
    page.locator("#last_name").fill(last)
    page.locator("#birthdate").fill(birth)
    page.locator("[data-join-form] [type=submit]").click()


def toast(page: Page, text: str) -> None:
    expect(page.locator("[data-toasts]").get_by_text(text, exact=True)).to_be_visible()


def menu(page: Page, first: str, item: str) -> None:
    row(page, first).get_by_role("button", name=re.compile("^(Afficher les actions pour|Show the actions for) ")).click()
    page.get_by_role("menuitem", name=item).click()


def test_french_supervisor_and_english_candidate_on_one_session(
    server: Server, new_context: NewContext, screenshots: Path
) -> None:
    if not AXE.exists():
        pytest.fail("axe-core missing: npm install --prefix .cache axe-core@4 (scripts/test does it)")
    audit = Audit()
    supervisor = new_context()
    api_login(supervisor, server)
    api_access(supervisor, server)
    sup = supervisor.new_page()
    open_dashboard(sup, server)
    expect(sup.locator("html")).to_have_attribute("lang", "fr")

    cand = new_context(**ENGLISH).new_page()
    join_by_fields(cand, server, "Martine")
    expect(cand.locator("html")).to_have_attribute("lang", "en")
    # Written by the script, in the candidate's language.
    expect(cand.locator("[data-wait-message]")).to_contain_text("Your supervisor has not confirmed that you are in the test room, so you cannot start")
    expect(cand).to_have_title("Waiting for the supervisor · Surveillance")
    audit.check(cand, "candidate, waiting (en)")

    presence(sup, "Martine").check()
    cand.locator("[data-start]").click()
    expect(cand.locator("[data-question-count]")).to_have_text("Question 1 / 16")
    expect(cand.locator("[data-timer]")).to_contain_text("Time left:")
    expect(cand).to_have_title("Certification test · Surveillance")
    expect(row(sup, "Martine").locator(".tag", has_text="En cours")).to_be_visible()

    # The candidate reports a problem: the category is a code, worded by each page.
    cand.locator("[data-signal-open]").click()
    cand.locator("input[name=category][value=image]").check()
    expect(cand.locator("[data-signal-count]")).to_have_text("500 characters left of 500.")
    cand.locator("[data-signal-send]").click()
    expect(cand.locator("[data-signal-held-category]")).to_have_text("the image does not show")
    expect(cand.locator("[data-announcer]")).to_have_text("Your supervisor has been told and is coming.")
    expect(sup.locator("[data-alert-live]")).to_have_text("Signalement de DUPONT Martine : L'image ne s'affiche pas")
    expect(row(sup, "Martine").locator(".tag--alert")).to_have_text("Signalement")
    audit.check(sup, "tableau de bord, signalement (fr)")

    row(sup, "Martine").get_by_role("button", name="Traiter le signalement de DUPONT Martine").click()
    expect(sup.locator("[data-alert-category]")).to_have_text("L'image ne s'affiche pas")
    sup.locator("[data-alert-refuse]").click()
    toast(sup, "Signalement refusé : Martine DUPONT continue sur la même question.")
    expect(cand.locator("[data-signal-status]")).to_contain_text("Your supervisor looked at the problem you reported and refused it")

    # A pause without a message: the candidate reads the default words in English.
    menu(sup, "Martine", "Mettre le test en pause")
    expect(sup.locator("[data-room-dialog-title]")).to_have_text("Mettre en pause le test de Martine DUPONT ?")
    sup.locator("[data-room-dialog-ok]").click()
    toast(sup, "Le test de Martine DUPONT est en pause.")
    expect(cand.locator("[data-pause-message]")).to_have_text("Your supervisor has paused the test: Please stay in your seat.")
    expect(cand.locator("[data-pause-time]")).to_contain_text("(stopped during the pause)")
    expect(row(sup, "Martine").locator(".tag", has_text="En pause")).to_be_visible()
    audit.check(cand, "candidate, paused (en)")
    audit.check(sup, "tableau de bord, pause (fr)")

    sup.locator("[data-room-message]").click()
    sup.locator("#room-field-text").fill("Il reste dix minutes.")
    sup.locator("[data-room-dialog-ok]").click()
    toast(sup, "Message envoyé.")
    notice = cand.locator("[data-room-notices] .room-notice").last
    expect(notice.locator(".room-notice__title")).to_have_text("Message from your supervisor")
    # The supervisor's own words are not translated.
    expect(notice.locator(".room-notice__text")).to_have_text("Il reste dix minutes.")
    expect(notice.get_by_role("button", name="Close this message")).to_be_visible()

    menu(sup, "Martine", "Reprendre le test")
    toast(sup, "Le test de Martine DUPONT a repris.")
    expect(cand.locator("[data-announcer]")).to_contain_text("Your supervisor has resumed the test.")
    expect(cand.locator("[data-timer]")).to_contain_text("Time left:")
    expect(sup.locator("[data-activity]")).to_contain_text("a repris le test de DUPONT Martine")

    # The same session, the same moment, a supervisor who reads English.
    english = new_context(**ENGLISH)
    api_login(english, server)
    api_access(english, server)
    page = english.new_page()
    open_dashboard(page, server)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(row(page, "Martine").locator(".tag", has_text="In progress")).to_be_visible()
    # The rows are the server's: their words, slots and hidden labels too, in the reader's language.
    expect(row(page, "Martine").get_by_role("button", name="Show the actions for DUPONT Martine")).to_be_visible()
    expect(row(page, "Martine").locator("[data-part=timing]")).to_contain_text("Start ")
    expect(row(page, "Martine").locator("[data-part=timing]")).not_to_contain_text("Début")
    expect(page.locator("[data-activity]")).to_contain_text("resumed the test of DUPONT Martine")
    expect(page.locator("[data-activity]")).to_contain_text("refused the problem reported by DUPONT Martine")
    expect(page.locator("[data-room-status]")).to_have_text("1 test in progress")
    expect(row(page, "Martine").get_by_role("progressbar")).to_have_attribute("aria-valuetext", "0 of 16")
    audit.check(page, "dashboard (en)")

    # A live event reaches both dashboards, each in its own words.
    menu(page, "Martine", "Pause the test")
    expect(page.locator("[data-room-dialog-title]")).to_have_text("Pause the test of Martine DUPONT?")
    page.locator("[data-room-dialog-ok]").click()
    toast(page, "The test of Martine DUPONT is paused.")
    expect(page.locator("[data-activity]")).to_contain_text("paused the test of DUPONT Martine")
    expect(sup.locator("[data-activity]").locator(".activity__item").first).to_contain_text("a mis en pause le test de DUPONT Martine")
    expect(row(page, "Martine").locator(".tag", has_text="Paused")).to_be_visible()
    expect(cand.locator("[data-pause-message]")).to_have_text("Your supervisor has paused the test: Please stay in your seat.")
    page.locator("[data-toasts] .toast__close").first.click()
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, screenshots, f"dashboard-en-{width}")
        shutil.copy(screenshots / f"dashboard-en-{width}.png", DOCS / f"dashboard-en-{width}.png")
    audit.check(page, "dashboard, phone (en)")

    assert audit.blocking() == {}, audit.blocking()
