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
from tests.browser.support import (
    CANDIDATES,
    api_access,
    api_candidate,
    api_login,
    candidate_id,
    open_dashboard,
    row,
    tick,
)

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


def varied_session(server: Server) -> None:
    """One row of every look: an alert, a pause with time adjusted, a test ended by a
    supervisor with its report, a presence ticked, and one not yet."""
    base = f"/api/supervision/sessions/{server.session_id}"
    for first in ("Sophie", "Simon", "Paul", "Martine"):
        tick(server, first)
    sophie = api_candidate(server, "Sophie", answers=3)
    qid = sophie.get("/api/candidate/test").json()["question"]["id"]
    sophie.post("/api/candidate/alerts", json={"question_id": qid, "category": "link"}).raise_for_status()
    sophie.close()
    api_candidate(server, "Simon", answers=5).close()
    api_candidate(server, "Paul", answers=2).close()
    with server.supervisor() as api:
        simon, paul = candidate_id(server, "Simon"), candidate_id(server, "Paul")
        api.post(f"{base}/candidates/{simon}/pause", json={"message": None}).raise_for_status()
        api.post(f"{base}/candidates/{simon}/adjust-time", json={"minutes": -5, "reason": "Retard"}).raise_for_status()
        api.post(f"{base}/candidates/{paul}/end-test", json={"category": "attendance"}).raise_for_status()
        api.post(f"{base}/candidates/{candidate_id(server, 'Martine')}/presence", json={"authorized": False})


# The server's rows, as sent (the page's own HTML parsed again, before any script touched it),
# against fresh clones of the page's <template> filled by candidate-row.js from the same
# snapshot: the two must be the same tree, in the same order, or the partial and the script
# have drifted apart.
COMPARE = """
async () => {
  const url = [...document.querySelectorAll("link[rel=modulepreload]")].map((l) => l.href).find((h) => h.includes("candidate-row"));
  const { fillRow, newRow } = await import(url);
  const html = await (await fetch(location.href)).text();
  const doc = new DOMParser().parseFromString(html, "text/html");
  const snapshot = JSON.parse(doc.getElementById("snapshot").textContent);
  const norm = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return node.data.replace(/\\s+/g, " ");
    const attrs = [...node.attributes].filter((a) => a.name !== "checked").map((a) => `${a.name}=${a.value}`).sort();
    if (node.tagName === "INPUT") attrs.push(`checked:${node.checked}`);
    return [node.tagName, attrs, [...node.childNodes].filter((n) => n.nodeType !== Node.COMMENT_NODE).map(norm)];
  };
  const served = [...doc.querySelectorAll("[data-candidates] > [data-candidate-id]")];
  const differ = [];
  for (const row of served) {
    const c = snapshot.candidates.find((x) => String(x.id) === row.dataset.candidateId);
    const filled = fillRow(newRow(doc), c, { frozen: true, pending: undefined, selecting: false, selected: false, now: Date.now() });
    const a = JSON.stringify(norm(row));
    const b = JSON.stringify(norm(filled));
    if (a !== b) {
      let i = 0;
      while (a[i] === b[i]) i += 1;
      differ.push({ id: c.id, served: a.slice(Math.max(0, i - 150), i + 80), filled: b.slice(Math.max(0, i - 150), i + 80) });
    }
  }
  const live = [...document.querySelectorAll("[data-candidates] > [data-candidate-id]")].map((r) => r.dataset.candidateId);
  return { differ, served: served.map((r) => r.dataset.candidateId), live };
}
"""


def test_the_rows_the_server_renders_are_the_rows_the_script_fills(server: Server, new_context: NewContext) -> None:
    varied_session(server)
    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    page.route_web_socket(re.compile(r".*/live$"), lambda ws: None)  # the embedded snapshot only
    page.goto(f"/surveillance/sessions/{server.session_id}")
    expect(page.locator("[data-candidate-id]")).to_have_count(4)
    result = page.evaluate(COMPARE)
    assert result["differ"] == [], result["differ"]
    # Sophie's alert first; then by name. The script kept the server's order.
    assert result["served"] == result["live"]
    assert result["served"][0] == str(candidate_id(server, "Sophie"))
    expect(page.locator("[data-alert-banner]")).to_contain_text("1 signalement en attente de décision")
    assert page.title().startswith("(1) Session")
    # Each look is there: the paused test and its adjusted time, the ended test and its report.
    simon = row(page, "Simon")
    expect(simon.locator(".tag:visible")).to_have_text(["En cours", "En pause · moins d'1 min", "Temps ajusté −5 min"])
    paul = row(page, "Paul")
    expect(paul.locator(".tag:visible")).to_have_text(["Terminé"])
    expect(paul.get_by_role("button", name="1 rapport d'incident sur DUPONT Paul : afficher")).to_be_visible()
    expect(row(page, "Sophie").get_by_role("progressbar", name="Questions répondues par DELARUE Sophie")).to_have_attribute(
        "aria-valuetext", re.compile(r"^3 sur \d+$")
    )


def test_live_events_fill_the_adopted_rows_and_clone_new_ones(server: Server, new_context: NewContext) -> None:
    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    page.add_init_script(SHIFTS)
    open_dashboard(page, server)
    rows = page.locator("[data-candidate-id]")
    expect(rows).to_have_count(4)
    # The server's element for Simon, marked: a change to Simon must fill it, not replace it.
    row(page, "Simon").evaluate("(el) => { el.__served = true; }")

    tick(server, "Simon")
    api_candidate(server, "Simon", answers=1).close()
    simon = row(page, "Simon")
    expect(simon.locator(".tag:visible")).to_have_text(["En cours"])
    expect(simon.get_by_role("progressbar")).to_have_attribute("value", "1")
    assert simon.evaluate("(el) => el.__served === true")

    # A candidate the centre enrols now: a row cloned from the template, once.
    with server.supervisor() as api:
        last, birth = CANDIDATES["Léa"]
        api.post(
            f"/api/sessions/{server.session_id}/candidates",
            json={"last_name": last, "first_name": "Léa", "birthdate": birth, "extra_time_percentage": 30},
        ).raise_for_status()
    expect(rows).to_have_count(5)
    lea = page.locator("[data-candidate-id]").filter(has_text="MARTIN Léa")
    expect(lea.get_by_role("checkbox", name=re.compile("MARTIN Léa"))).to_be_enabled()
    lea.get_by_role("checkbox", name=re.compile("MARTIN Léa")).check()
    expect(page.locator('[data-count="present"]')).to_have_text("2")
    expect(page.locator('[data-filter-count="all"]')).to_have_text("5")
    expect(rows).to_have_count(5)
