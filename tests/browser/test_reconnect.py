"""The dashboard outlives a server restart: marked stale while down, right again after."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_access, api_login, candidate_id, open_dashboard, presence

pytestmark = pytest.mark.browser


def test_dashboard_survives_a_server_restart(server: Server, new_context: NewContext) -> None:
    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    open_dashboard(page, server)
    expect(presence(page, "Simon")).not_to_be_checked()
    # Survives only if the page is never reloaded.
    page.evaluate("window.__sameDocument = true")

    server.kill()
    expect(page.get_by_text("Reconnexion…")).to_be_visible()
    expect(page.locator("[data-stale-note]")).to_be_visible()
    expect(presence(page, "Simon")).to_be_disabled()

    server.start()
    simon = candidate_id(server, "Simon")
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/candidates/{simon}/presence", json={"authorized": True}
        ).raise_for_status()

    expect(presence(page, "Simon")).to_be_checked(timeout=30_000)
    expect(page.get_by_text("Reconnexion…")).to_be_hidden()
    expect(page.locator("[data-stale-note]")).to_be_hidden()
    expect(presence(page, "Simon")).to_be_enabled()
    expect(page.locator('[data-count="present"]')).to_have_text("1")
    # The activity feed tells it once, whether it came live or with the new snapshot.
    line = page.locator("[data-activity] li", has_text="a confirmé la présence de DURAND Simon")
    expect(line).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True
