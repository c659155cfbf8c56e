"""The dashboard as a supervisor walks it: the attention order, the filter row, and the
fixes found by walking it (keyboard focus on presence, plural labels, end times, feed
times to the second, the account name on a phone)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_access, api_login, busy_session, open_dashboard, presence, row

pytestmark = pytest.mark.browser


def test_filters_order_and_small_fixes(server: Server, new_context: NewContext) -> None:
    busy_session(server)  # Sophie finished, Simon in progress, Paul asks to resume, Martine ticked
    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    open_dashboard(page, server)

    # The row that needs a supervisor is first.
    expect(page.locator("[data-candidate-id]").first).to_contain_text("DUPONT Paul")
    counts = {"all": "4", "todo": "1", "not_started": "1", "in_progress": "2", "ended": "1"}
    for key, n in counts.items():
        expect(page.locator(f'[data-filter-count="{key}"]')).to_have_text(n)
    # "1 terminé", not "1 terminés".
    expect(page.locator('[data-count-label="finished"]')).to_have_text("terminé")
    expect(page.locator('[data-count-label="enrolled"]')).to_have_text("inscrits")
    # A finished test shows when it ended.
    expect(row(page, "Sophie").locator(".candidate__timing:visible")).to_contain_text(re.compile(r"fin \d{2}:\d{2}"))
    # Recent feed lines are timed to the second.
    expect(page.locator("[data-activity] time").first).to_have_text(re.compile(r"\d{2}:\d{2}:\d{2}"))

    visible = page.locator("[data-candidate-id]:visible")
    page.get_by_role("button", name=re.compile("^En cours")).click()
    expect(page.get_by_role("button", name=re.compile("^En cours"))).to_have_attribute("aria-pressed", "true")
    expect(visible).to_have_count(2)
    page.get_by_label("Rechercher un candidat par son nom").fill("sim")
    expect(visible).to_have_count(1)
    expect(visible.first).to_contain_text("DURAND Simon")
    page.get_by_role("button", name=re.compile("^Terminés")).click()
    expect(visible).to_have_count(0)
    expect(page.locator("[data-no-match]")).to_have_text("Aucun candidat dans ce filtre ne correspond à votre recherche.")
    page.get_by_label("Rechercher un candidat par son nom").fill("")
    page.get_by_role("button", name=re.compile("^À traiter")).click()
    expect(visible).to_have_count(1)
    expect(visible.first).to_contain_text("DUPONT Paul")
    page.get_by_role("button", name=re.compile("^Tous")).click()
    expect(visible).to_have_count(4)

    # Space on a presence box: the keyboard stays on it while the request is pending and after.
    box = presence(page, "Martine")
    box.focus()
    page.keyboard.press("Space")
    expect(box).to_be_focused()
    expect(box).not_to_be_checked()
    expect(box).not_to_have_attribute("aria-disabled", "true")
    expect(presence(page, "Martine")).to_be_focused()
    page.keyboard.press("Space")
    expect(presence(page, "Martine")).to_be_checked()
    expect(presence(page, "Martine")).to_be_focused()

    # On a phone the header still says who is logged in.
    page.set_viewport_size({"width": 375, "height": 800})
    expect(page.locator("[data-account-name]")).to_be_visible()
    expect(page.locator("[data-account-name]")).to_have_text("Surveillant Test")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
