"""The Content-Security-Policy in Chromium: every page is served with it, and the check the
other browser tests rely on (tests/browser/conftest.py: no violation on any page) does see
a violation when there is one."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_access, api_login, open_dashboard

pytestmark = pytest.mark.browser


def test_every_page_is_served_with_the_policy(server: Server, new_context: NewContext) -> None:
    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    sid = server.session_id
    for path in ["/", "/connexion", "/inscription", "/certification", "/centre", f"/centre/sessions/{sid}", "/surveillance", "/nulle-part"]:
        response = page.goto(path)
        assert response is not None
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, policy)
        expect(page.locator("main")).to_be_visible()
    open_dashboard(page, server)


def test_a_violation_would_be_seen(server: Server, new_context: NewContext, csp_violations: list[dict[str, Any]]) -> None:
    page = new_context().new_page()
    page.goto("/connexion")
    # What the policy forbids: a style attribute parsed from markup, and an inline script.
    page.evaluate("""() => {
      const div = document.createElement("div");
      div.setAttribute("style", "color: red");
      document.body.append(div);
      const s = document.createElement("script");
      s.textContent = "window.__ran = true";
      document.body.append(s);
    }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran === undefined")
    seen = [v for v in csp_violations if "directive" in v]
    assert {v["directive"].split("-")[0] for v in seen} >= {"style", "script"}, csp_violations
    csp_violations.clear()  # seen on purpose: the fixture's own check must not fail this test
