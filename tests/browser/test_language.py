"""The language switch by keyboard alone: from French to English and back, remembered by the
account, and axe clean on the English pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_login
from tests.browser.test_accessibility import AXE, Audit

pytestmark = pytest.mark.browser


def tab_to(page: Page, name: str, limit: int = 30) -> None:
    """Press Tab until the focused control is called `name`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        # innerText: what is shown (a phone shows the code, a desk the language's name).
        focused = page.evaluate("document.activeElement && document.activeElement.innerText.trim()")
        if focused == name:
            return
    raise AssertionError(f"no control named {name!r} within {limit} presses of Tab")


def test_switch_by_keyboard_then_english_pages_are_axe_clean(server: Server, new_context: NewContext) -> None:
    if not AXE.exists():
        pytest.fail("axe-core missing: npm install --prefix .cache axe-core@4 (scripts/test does it)")
    audit = Audit()
    page = new_context(locale="fr-FR").new_page()
    page.goto("/connexion?next=/centre")
    expect(page.get_by_role("heading", name="Connectez-vous")).to_be_visible()
    switch = page.get_by_role("form", name="Langue").get_by_role("button", name="English")
    expect(switch).to_have_attribute("lang", "en")

    tab_to(page, "English")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{server.base}/connexion?next=/centre")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("link", name="Skip to content")).to_be_attached()
    audit.check(page, "login (en)")
    for path in ("/", "/certification", "/surveillance/aide", "/nulle-part"):
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        audit.check(page, f"{path} (en)")

    # Logged in: the account remembers English; another browser, French by default, follows it.
    staff = new_context(locale="fr-FR")
    api_login(staff, server)
    mine = staff.new_page()
    mine.goto("/compte")
    expect(mine.get_by_role("heading", name="Mon compte")).to_be_visible()
    tab_to(mine, "English")
    mine.keyboard.press("Enter")
    expect(mine.get_by_role("heading", name="My account")).to_be_visible()
    audit.check(mine, "account (en)")
    mine.goto("/centre")
    audit.check(mine, "centre (en)")

    elsewhere = new_context(locale="fr-FR")
    api_login(elsewhere, server)
    again = elsewhere.new_page()
    again.goto("/compte")
    expect(again.get_by_role("heading", name="My account")).to_be_visible()
    tab_to(again, "Français")
    again.keyboard.press("Enter")
    expect(again.get_by_role("heading", name="Mon compte")).to_be_visible()
    expect(again.locator("html")).to_have_attribute("lang", "fr")

    # A phone shows the code; the button's name still holds both what is seen and the name.
    phone = new_context(locale="fr-FR", viewport={"width": 360, "height": 640}).new_page()
    phone.goto("/connexion")
    small = phone.get_by_role("button", name="EN English", exact=True)
    expect(small).to_be_visible()
    expect(small.locator(".lang-switch__code")).to_be_visible()
    hidden = small.locator(".lang-switch__name").bounding_box()
    assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1
    audit.check(phone, "login on a phone (fr)")

    assert audit.blocking() == {}
