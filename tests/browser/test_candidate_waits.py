"""A candidate refused before the supervisor's confirmation goes on alone once it comes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_EMAIL, NewContext, Server
from tests.browser.support import candidate_id, candidate_join

pytestmark = pytest.mark.browser

GUIDE_MESSAGE = (
    "Votre surveillant n'a pas confirmé votre présence dans la salle de test. Vous ne pouvez donc pas "
    "encore commencer votre test de certification. Merci de prévenir votre surveillant."
)


def test_waits_for_presence_then_continues(server: Server, new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto("/certification")

    # Wrong code first: said in words, nothing else happens.
    page.get_by_label("Numéro de session").fill(str(server.session_id))
    page.get_by_label("Code d'accès").fill("BBBB22")
    page.get_by_label("Prénom").fill("Sophie")
    page.get_by_label("Nom", exact=True).fill("Delarue")
    page.get_by_label("Date de naissance").fill("2001-07-04")
    page.get_by_role("button", name="Rejoindre la session").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Le numéro de session et/ou le code d'accès saisis sont incorrects."
    )

    candidate_join(page, server, "Sophie")
    expect(page.get_by_text(GUIDE_MESSAGE, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Commencer mon test")).to_be_hidden()

    sophie = candidate_id(server, "Sophie")
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/candidates/{sophie}/presence", json={"authorized": True}
        ).raise_for_status()

    expect(page.get_by_role("button", name="Commencer mon test")).to_be_visible()
    expect(page.get_by_text("Sophie DELARUE")).to_be_visible()
    expect(page.get_by_text('En cliquant sur "Commencer mon test", j\'accepte')).to_be_visible()
    page.get_by_role("button", name="Commencer mon test").click()
    expect(page.get_by_text("Question 1 / 16")).to_be_visible()
    expect(page.get_by_text("Temps restant")).to_be_visible()

    # The centre finalises the session: the candidate is told at once.
    with server.client() as api:
        api.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": server.demo_password}).raise_for_status()
        api.post(f"/api/sessions/{server.session_id}/finalize").raise_for_status()
    expect(page.get_by_text("La session a été finalisée : votre test de certification est terminé.")).to_be_visible(
        timeout=3000
    )
