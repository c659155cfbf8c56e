"""The centre's pages arrive complete (no script needed to see the sessions, the codes and
the candidates), and after a change the session page re-reads its regions from the server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_login

pytestmark = pytest.mark.browser


def test_centre_pages_without_and_with_scripts(server: Server, new_context: NewContext) -> None:
    # Scripts off: what a slow phone shows before any module has arrived.
    bare = new_context(java_script_enabled=False)
    api_login(bare, server)
    page = bare.new_page()
    page.goto("/centre")
    expect(page.get_by_role("link", name=f"Session {server.session_id}")).to_be_visible()
    expect(page.get_by_role("heading", name="Créer une session")).to_be_visible()
    page.goto(f"/centre/sessions/{server.session_id}")
    expect(page.get_by_role("heading", name=re.compile(r"Candidats \(4\)"))).to_be_visible()
    expect(page.get_by_role("cell", name="DELARUE", exact=True)).to_be_visible()
    expect(page.get_by_text(server.access_code)).to_be_visible()

    context = new_context()
    api_login(context, server)
    page = context.new_page()
    page.goto(f"/centre/sessions/{server.session_id}")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_label("Date de naissance").fill("2003-02-14")
    page.get_by_role("button", name="Inscrire", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"Candidats \(5\)"))).to_be_visible()
    expect(page.get_by_role("cell", name="MARTIN", exact=True)).to_be_visible()
    # The new row's button works: the regions' buttons are delegated, not bound once.
    page.get_by_role("button", name="Retirer MARTIN Léa").click()
    page.get_by_role("dialog").get_by_role("button", name="Retirer le candidat").click()
    expect(page.get_by_role("heading", name=re.compile(r"Candidats \(4\)"))).to_be_visible()
    expect(page.get_by_role("cell", name="MARTIN", exact=True)).to_have_count(0)
    expect(page.get_by_text("MARTIN Léa a été retiré de la session.")).to_be_visible()

    # The head's button leads to the finalisation form (issue 10), which finalises.
    page.locator("[data-finalize]").click()
    page.locator("[data-final-submit]").click()
    page.get_by_role("dialog").get_by_role("button", name="Finaliser la session").click()
    expect(page.locator("[data-region=head]").get_by_text("Finalisée", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Inscrire un candidat")).to_be_hidden()
    expect(page.locator("[data-finalize]")).to_have_count(0)
    expect(page.locator("[data-pv-link]")).to_be_visible()  # the finalisation section re-read too
    expect(page.get_by_role("button", name=re.compile("^Retirer"))).to_have_count(0)
