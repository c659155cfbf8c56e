"""What Chromium fetches to show a page: hashed static files it keeps (a second visit takes
them from its cache, asking the server nothing), compressed, and no call to /api/me."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NewContext, Server
from tests.browser.support import api_access, api_login, open_dashboard

pytestmark = pytest.mark.browser


def test_static_files_come_from_the_cache_on_the_next_visit(server: Server, new_context: NewContext) -> None:
    context = new_context()
    api_login(context, server)
    api_access(context, server)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    seen: list[dict[str, Any]] = []
    cdp.on("Network.responseReceived", lambda e: seen.append({**e["response"], "requestId": e["requestId"]}))
    cached: list[str] = []
    cdp.on("Network.requestServedFromCache", lambda e: cached.append(e["requestId"]))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    open_dashboard(page, server)
    first = [r for r in seen if "/static/" in r["url"]]
    # The stylesheets, the favicon, the entry modules and every module they import.
    assert len(first) >= 10, [r["url"] for r in first]
    for response in first:
        headers = {k.lower(): v for k, v in response["headers"].items()}
        assert "?v=" in response["url"], response["url"]
        assert headers["cache-control"] == "public, max-age=31536000, immutable", response["url"]
        if not response["url"].split("?")[0].endswith(".png"):
            assert headers.get("content-encoding") in {"br", "gzip"}, response["url"]
    assert not [u for u in requests if "/api/me" in u]

    # Another page of the same space, then the dashboard again: its files come from the cache.
    page.goto("/surveillance")
    expect(page.get_by_role("heading", name="Surveiller une session")).to_be_visible()
    seen.clear()
    open_dashboard(page, server)
    again = [r for r in seen if "/static/" in r["url"]]
    # Chromium asks for the favicon again only when its own favicon store decides to (once
    # in a full run it did not): it may be missing, never new.
    asked = {r["url"] for r in first}
    assert {r["url"] for r in again} <= asked
    assert {u for u in asked if "/favicon" not in u} <= {r["url"] for r in again}
    # Served from Chromium's memory or disk cache: the server was not asked, not even to revalidate.
    from_network = [r["url"] for r in again if not (r["requestId"] in cached or r.get("fromDiskCache"))]
    assert not from_network, from_network
    assert not [u for u in requests if "/api/me" in u]
