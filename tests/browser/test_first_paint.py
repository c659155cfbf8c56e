"""The dashboard shows the room from its own HTML and embedded snapshot, before its socket
opens; the socket then takes over from that version: nothing missed, nothing twice, and
nothing on the page moves while it happens."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_access, api_login, candidate_id, row

pytestmark = pytest.mark.browser

SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shifts.push(e.value);
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.mark.parametrize("width", [375, 1280])
def test_the_socket_takes_over_from_the_embedded_snapshot(server: Server, new_context: NewContext, width: int) -> None:
    context = new_context(viewport={"width": width, "height": 800})
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    page.add_init_script(SHIFTS)
    held: list[WebSocketRoute] = []
    # The page's socket is held open without reaching the server, as on a slow link.
    page.route_web_socket(re.compile(r".*/live$"), lambda ws: held.append(ws))

    page.goto(f"/surveillance/sessions/{server.session_id}")
    rows = page.locator("[data-candidate-id]")
    expect(rows).to_have_count(4)
    expect(row(page, "Sophie").get_by_role("checkbox")).to_be_disabled()  # not live yet: no action
    expect(page.locator("[data-candidates]")).to_have_attribute("aria-busy", "true")
    expect(page.locator('[data-count="enrolled"]')).to_have_text("4")
    expect(page.locator("[data-live-banner]")).to_be_hidden()  # connecting, not "reconnecting"
    assert len(held) == 1

    # A change the embedded snapshot does not have, made before the socket reaches the server.
    sophie = candidate_id(server, "Sophie")
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/candidates/{sophie}/presence", json={"authorized": True}
        ).raise_for_status()
    expect(row(page, "Sophie").get_by_role("checkbox")).not_to_be_checked()

    sent: list[Any] = []
    upstream = held[0].connect_to_server()
    held[0].on_message(lambda m: (sent.append(m), upstream.send(m)))
    expect(page.locator("[data-candidates]")).to_have_attribute("aria-busy", "false")
    expect(row(page, "Sophie").get_by_role("checkbox")).to_be_checked()
    expect(page.locator('[data-count="present"]')).to_have_text("1")

    # Then live: the next change arrives as an event, applied once.
    martine = candidate_id(server, "Martine")
    with server.supervisor() as api:
        api.post(
            f"/api/supervision/sessions/{server.session_id}/candidates/{martine}/presence", json={"authorized": True}
        ).raise_for_status()
    expect(row(page, "Martine").get_by_role("checkbox")).to_be_checked()
    expect(page.locator('[data-count="present"]')).to_have_text("2")
    activity = page.locator("[data-activity] .activity__text")
    expect(activity.filter(has_text="a confirmé la présence de DUPONT Martine")).to_have_count(1)
    expect(activity.filter(has_text="a confirmé la présence de DELARUE Sophie")).to_have_count(1)
    expect(rows).to_have_count(4)
    # No gap was seen: the page never had to ask for a replay.
    assert not [m for m in sent if json.loads(m).get("type") == "resync"], sent

    shifts = page.evaluate("window.__shifts")
    assert sum(shifts) <= 0.02, shifts
