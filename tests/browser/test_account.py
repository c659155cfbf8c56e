"""« Mon compte » in Chromium: the logged-in browsers are listed, the others can be ended
(they are logged out at once), and a password change logs the other browsers out."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_login

pytestmark = pytest.mark.browser

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1"


def logged_in(context: BrowserContext, server: Server) -> bool:
    return context.request.get(server.base + "/api/me").status == 200


def test_end_the_other_browsers_then_change_the_password(
    server: Server, new_context: NewContext, screenshots: Path
) -> None:
    mine = new_context()
    api_login(mine, server)
    laptop = new_context(user_agent=FIREFOX)
    api_login(laptop, server)
    phone = new_context(user_agent=IPHONE)
    api_login(phone, server)

    page = mine.new_page()
    page.goto("/centre")
    page.get_by_role("link", name="Mon compte").click()
    page.wait_for_url("**/compte")
    devices = page.locator("[data-devices]")
    expect(devices).to_have_attribute("aria-busy", "false")
    expect(devices.get_by_role("listitem")).to_have_count(3)
    expect(devices.get_by_text("Cet appareil")).to_have_count(1)
    expect(devices.get_by_text("Firefox · Linux")).to_be_visible()
    expect(devices.get_by_text("Safari · iPhone")).to_be_visible()
    page.screenshot(path=str(screenshots / "account-1280.png"), full_page=True)

    # One browser ended from the list: it is logged out at once.
    page.get_by_role("button", name="Déconnecter Safari · iPhone", exact=False).click()
    expect(page.get_by_role("status")).to_contain_text("Safari · iPhone est déconnecté.")
    expect(devices.get_by_role("listitem")).to_have_count(2)
    assert not logged_in(phone, server) and logged_in(laptop, server)

    # All the others.
    page.get_by_role("button", name="Déconnecter tous les autres appareils").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Déconnecter les autres appareils ?")
    dialog.get_by_role("button", name="Déconnecter").click()
    expect(page.get_by_role("status")).to_contain_text("1 appareil déconnecté.")
    expect(devices.get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("button", name="Déconnecter tous les autres appareils")).to_be_hidden()
    assert not logged_in(laptop, server) and logged_in(mine, server)

    # A password change: a wrong current password is said so; the right one ends the others.
    again = new_context(user_agent=FIREFOX)
    api_login(again, server)
    page.get_by_label("Mot de passe actuel").fill("pas-le-bon-1")
    page.get_by_label("Nouveau mot de passe").fill("Nouveau-mot2")
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_role("alert").filter(has_text="actuel")).to_contain_text("Le mot de passe actuel est incorrect.")
    expect(page.get_by_label("Mot de passe actuel")).to_be_focused()
    page.get_by_label("Mot de passe actuel").fill(server.demo_password)
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_role("status")).to_contain_text("Mot de passe modifié. 1 autre appareil déconnecté.")
    assert not logged_in(again, server) and logged_in(mine, server)

    small = new_context(viewport={"width": 375, "height": 812})
    api_login(small, server, password="Nouveau-mot2")
    phone_page = small.new_page()
    phone_page.goto("/compte")
    expect(phone_page.locator("[data-devices]")).to_have_attribute("aria-busy", "false")
    phone_page.screenshot(path=str(screenshots / "account-375.png"), full_page=True)
