"""The page script's rule for `next` (static/js/next.js) in Chromium: the same verdicts as
the server's, and a login from a crafted link lands on this site."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.redirects import safe_next
from tests.browser.conftest import NewContext, Server
from tests.browser.support import ui_login
from tests.redirects import KEPT, hostile

pytestmark = pytest.mark.browser

# Both verdicts resolved by the browser, so "/./centre" and "/centre" compare equal.
VERDICTS = """async ([values, server]) => {
  const { safeNext } = await import("/static/js/next.js");
  const here = (v) => new URL(v, location.origin);
  return values.map((v, i) => {
    const mine = here(safeNext(v));
    return { mine: mine.href, origin: mine.origin, server: here(server[i]).href };
  });
}"""


def test_the_page_script_and_the_server_agree_on_every_next(server: Server, new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto("/connexion")
    values = [*hostile(), *KEPT]
    verdicts = page.evaluate(VERDICTS, [values, [safe_next(v) for v in values]])
    wrong = [(v, got) for v, got in zip(values, verdicts, strict=True) if got["mine"] != got["server"]]
    assert not wrong, wrong[:10]
    # What the script hands to location.assign stays here once the browser resolves it.
    assert {got["origin"] for got in verdicts} == {server.base}
    assert sum(got["mine"] == server.base + "/" for got in verdicts) >= len(hostile())


def test_a_crafted_link_still_lands_on_this_site(server: Server, new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto("/connexion?next=%2F%09%2Fevil.example")
    ui_login(page)
    # No page allowed, so the usual landing: the demo account is centre staff.
    page.wait_for_url(server.base + "/centre")
    # Even if an answer said otherwise (an old server, a proxy rewriting it), the script's
    # own rule keeps the browser here, and not on the page the form asked for either.
    page.goto("/connexion?next=/surveillance")
    expect(page.locator("[data-login-form]")).to_have_attribute("data-next", "/surveillance")
    page.route(
        "**/api/auth/login",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body='{"user": {}, "next": "/\\t/evil.example"}'
        ),
    )
    ui_login(page)
    page.wait_for_url(server.base + "/centre")
