"""The pages through a PostgreSQL primary switch, in Chromium: the demo session on a primary
with a synchronous standby, a candidate answering and a supervisor watching. The primary
dies as the candidate validates an answer; the page says « Reconnexion au serveur… »,
checks whether the answer was recorded, sends it once the standby is promoted, and moves on;
the dashboard follows, and a presence the supervisor confirmed in the gap is retried until
applied. Nobody reloads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import expect

from app import migrate
from app.settings import load_settings
from tests.browser.conftest import NewContext, Server
from tests.browser.support import (
    answer_current,
    api_access,
    api_login,
    candidate_join,
    open_dashboard,
    presence,
    row,
    tick,
)
from tests.servers import PostgresPair, PostgresServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DB = "surveillance"
BANNER = "Reconnexion au serveur…"


@dataclass
class HAServer(Server):
    database_url: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "DATABASE_URL": self.database_url, "SUPERVISOR_HEARTBEAT_SECONDS": "2"}


@pytest.fixture
def pair() -> Iterator[PostgresPair]:
    def prepare(primary: PostgresServer) -> None:
        with psycopg.connect(primary.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DB}"')
        migrate.upgrade(load_settings({"DATABASE_URL": primary.url(DB), "SECRET_KEY": "t" * 32}))

    pg = PostgresPair()
    try:
        yield pg.start(prepare)
    finally:
        pg.stop()


@pytest.fixture
def server(tmp_path: Path, pair: PostgresPair) -> Iterator[Server]:
    srv = HAServer(tmp_path, database_url=pair.url(DB))
    srv.demo()
    srv.start()
    yield srv
    srv.stop()


def test_candidate_and_dashboard_ride_through_a_primary_switch(
    server: Server, pair: PostgresPair, new_context: NewContext, screenshots: Path
) -> None:
    supervisor = new_context()
    api_login(supervisor, server)
    api_access(supervisor, server)
    dashboard = supervisor.new_page()
    open_dashboard(dashboard, server)
    tick(server, "Sophie")

    candidate = new_context(viewport={"width": 375, "height": 740}).new_page()
    candidate_join(candidate, server, "Sophie")
    candidate.get_by_role("button", name="Commencer mon test").click()
    expect(candidate.get_by_text("Question 1 / 16")).to_be_visible()
    answer_current(candidate)
    expect(candidate.get_by_text("Question 2 / 16")).to_be_visible()
    expect(row(dashboard, "Sophie")).to_contain_text("1/16")
    for page in (candidate, dashboard):
        page.evaluate("window.__sameDocument = true")

    pair.primary.kill()
    answer_current(candidate)
    # The supervisor confirms Simon meanwhile: an idempotent action, retried through the gap.
    presence(dashboard, "Simon").click()
    expect(dashboard.get_by_text(BANNER)).to_be_visible()
    banner = candidate.get_by_text(BANNER)
    expect(banner).to_be_visible()
    expect(candidate.locator("[data-reconnecting]")).to_have_attribute("role", "status")
    candidate.screenshot(path=str(screenshots / "ha-reconnecting-375.png"))
    candidate.set_viewport_size({"width": 1280, "height": 800})
    candidate.screenshot(path=str(screenshots / "ha-reconnecting-1280.png"))
    expect(candidate.get_by_text("Question 2 / 16")).to_be_visible()  # not moved on: nothing recorded yet

    pair.promote()
    expect(candidate.get_by_text("Question 3 / 16")).to_be_visible(timeout=30_000)
    expect(banner).to_be_hidden()
    expect(row(dashboard, "Sophie")).to_contain_text("2/16", timeout=15_000)
    expect(presence(dashboard, "Simon")).to_be_checked()
    expect(dashboard.get_by_text(BANNER)).to_be_hidden()
    for page in (candidate, dashboard):
        assert page.evaluate("window.__sameDocument") is True

    # Exactly the two answers the candidate gave, on the new primary: none lost, none twice.
    with psycopg.connect(pair.standby.url(DB)) as conn:
        count = conn.execute(
            "SELECT count(*) FROM answer JOIN candidate ON candidate.id = answer.candidate_id "
            "WHERE candidate.first_name = 'Sophie'"
        ).fetchone()
        simon = conn.execute("SELECT authorized_to_start FROM candidate WHERE first_name = 'Simon'").fetchone()
    assert count == (2,)
    assert simon == (True,)
