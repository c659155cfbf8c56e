"""The pages' side of the abuse defences: a resume asked while the candidate's browser is
still connected looks suspicious on the dashboard, and the centre gives a session a new
password and takes a supervisor's access back, whose open dashboard then says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_login, candidate_join, presence, row, supervisor_dashboard
from tests.browser.test_accessibility import Audit

pytestmark = pytest.mark.browser

WARNING = "le poste d'origine de ce candidat est toujours connecté"


def shoot(page: Page, folder: Path, name: str) -> None:
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def test_a_resume_asked_while_the_original_browser_is_live_is_flagged(
    server: Server, new_context: NewContext, screenshots: Path
) -> None:
    dashboard = supervisor_dashboard(new_context(), server)
    presence(dashboard, "Paul").check()

    candidate = new_context().new_page()
    candidate_join(candidate, server, "Paul")
    candidate.get_by_role("button", name="Commencer mon test").click()
    expect(candidate.get_by_text("Question 1 / 16")).to_be_visible()
    expect(row(dashboard, "Paul").locator(".tag", has_text="En cours")).to_be_visible()

    # Someone else, on another computer, claims to be Paul while his page is live.
    impostor = new_context().new_page()
    candidate_join(impostor, server, "Paul")
    expect(impostor.get_by_text("Pour le reprendre, votre surveillant doit vous y autoriser")).to_be_visible()
    expect(row(dashboard, "Paul").locator("[data-resume-warning]")).to_contain_text(WARNING)
    expect(dashboard.locator("[data-announcer]")).to_contain_text("attention, le poste d'origine est toujours connecté")
    # Paul's own page goes on.
    expect(candidate.get_by_text("Question 1 / 16")).to_be_visible()
    shoot(dashboard, screenshots, "suspicious-resume")
    audit = Audit()
    audit.check(dashboard, "dashboard with a suspicious resume")
    assert audit.blocking() == {}


def test_the_centre_rotates_the_password_and_revokes_a_supervisor(
    server: Server, new_context: NewContext, screenshots: Path
) -> None:
    marie_context = new_context()
    marie = supervisor_dashboard(marie_context, server, ("marie.curie@testix.fr", "Marie", "Curie"))

    centre_context = new_context()
    api_login(centre_context, server)
    centre = centre_context.new_page()
    centre.goto(f"/centre/sessions/{server.session_id}")
    old = server.supervisor_password
    expect(centre.locator("[data-session-password]")).to_have_text(old)
    centre.get_by_role("button", name="Nouveau mot de passe de session").click()
    centre.get_by_role("button", name="Changer le mot de passe").click()
    expect(centre.locator("[data-session-password]")).not_to_have_text(old)
    expect(centre.locator("[data-session-password]")).to_have_text(re.compile(r"^C-[0-9A-Z]{7}$"))

    sups = centre.locator("[data-sup-rows]")
    expect(sups).to_contain_text("Marie Curie")
    shoot(centre, screenshots, "centre-supervisors")
    centre.set_viewport_size({"width": 1280, "height": 900})
    audit = Audit()
    audit.check(centre, "centre session with its supervisors")
    centre.get_by_role("button", name="Retirer l'accès de Marie Curie").click()
    centre.get_by_role("dialog").get_by_role("button", name="Retirer l'accès").click()
    expect(sups).not_to_contain_text("Marie Curie")

    # Her open dashboard leaves at once for the access page, which says why.
    marie.wait_for_url(f"**/surveillance?session={server.session_id}&info=retire", timeout=10_000)
    expect(marie.get_by_text("Votre accès à la surveillance de cette session a été retiré")).to_be_visible()
    shoot(marie, screenshots, "access-revoked")
    audit.check(marie, "access page after a revocation")
    assert audit.blocking() == {}
