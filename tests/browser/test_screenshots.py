"""Screenshots for review and for the README: the dashboard at three widths, each candidate step."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_EMAIL, NewContext, Server
from tests.browser.support import (
    CANDIDATES,
    answer_current,
    api_access,
    api_login,
    busy_session,
    candidate_join,
    open_dashboard,
    presence,
    row,
    signup,
    tick,
)

pytestmark = pytest.mark.browser

WIDTHS = [1280, 768, 375]


def shot(page: Page, folder: Path, name: str) -> None:
    # A caret or a still-running transition would make two runs differ for nothing.
    page.wait_for_timeout(150)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled", caret="hide")


def test_dashboard_and_candidate_screens(server: Server, new_context: NewContext, screenshots: Path) -> None:
    # A fifth candidate, enrolled by the centre, walks through every candidate step.
    with server.client() as api:
        api.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": server.demo_password}).raise_for_status()
        last, birth = CANDIDATES["Léa"]
        api.post(
            f"/api/sessions/{server.session_id}/candidates",
            json={"last_name": last, "first_name": "Léa", "birthdate": birth, "extra_time_percentage": 30},
        ).raise_for_status()

    candidate = new_context().new_page()
    candidate.goto("/certification")
    shot(candidate, screenshots, "candidate-1-join")
    candidate_join(candidate, server, "Léa")
    expect(candidate.get_by_text("Votre surveillant n'a pas confirmé votre présence")).to_be_visible()
    shot(candidate, screenshots, "candidate-2-waiting")
    tick(server, "Léa")
    expect(candidate.get_by_role("button", name="Commencer mon test")).to_be_visible()
    shot(candidate, screenshots, "candidate-3-consent")
    candidate.get_by_role("button", name="Commencer mon test").click()
    for n in range(1, 3):
        expect(candidate.get_by_text(f"Question {n} / 16")).to_be_visible()
        answer_current(candidate)
    expect(candidate.get_by_text("Question 3 / 16")).to_be_visible()
    shot(candidate, screenshots, "candidate-4-question")
    candidate.set_viewport_size({"width": 375, "height": 800})
    shot(candidate, screenshots, "candidate-4-question-375")
    candidate.set_viewport_size({"width": 1280, "height": 900})
    # Léa signals a problem: her question waits for a supervisor, the dashboard shows it.
    candidate.get_by_role("button", name="Signaler un problème").click()
    dialog = candidate.get_by_role("dialog", name="Signaler un problème sur cette question")
    dialog.get_by_label("L'image ne s'affiche pas").check()
    dialog.get_by_label("Précisez le problème (facultatif)").fill("Le schéma de la question reste blanc.")
    shot(candidate, screenshots, "candidate-4-signal")
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    expect(candidate.get_by_text("Votre surveillant a été prévenu et va venir.")).to_be_visible()
    shot(candidate, screenshots, "candidate-4-on-hold")

    second = new_context()
    signup(second, server, "marie.curie@testix.fr", "Marie", "Curie")
    api_access(second, server)
    open_dashboard(second.new_page(), server)

    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    open_dashboard(page, server)
    # Changes made while the page is open, so the activity feed has a story to tell.
    busy_session(server)
    expect(row(page, "Paul").get_by_text("Reprise demandée")).to_be_visible()
    expect(row(page, "Sophie").get_by_text("Terminé")).to_be_visible()
    expect(presence(page, "Martine")).to_be_checked()
    expect(page.locator("[data-supervisors]")).to_contain_text("Marie Curie")
    expect(row(page, "Léa").locator(".tag").first).to_have_text("Signalement")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, screenshots, f"dashboard-{width}")

    page.set_viewport_size({"width": 1280, "height": 900})
    row(page, "Léa").get_by_role("button", name="Traiter le signalement de MARTIN Léa").click()
    expect(page.get_by_role("dialog", name="Traiter le signalement")).to_contain_text("Le schéma de la question reste blanc.")
    shot(page, screenshots, "dashboard-alert-dialog")
    page.get_by_role("dialog").get_by_role("button", name="Valider").click()
    expect(candidate.get_by_text("a validé votre signalement")).to_be_visible()
    shot(candidate, screenshots, "candidate-4-replaced")
    for n in range(3, 17):
        expect(candidate.get_by_text(f"Question {n} / 16")).to_be_visible()
        answer_current(candidate)
    expect(candidate.get_by_text("Votre test de certification est terminé.")).to_be_visible()
    shot(candidate, screenshots, "candidate-5-end")
