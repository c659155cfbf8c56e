"""The browser's catalog, built from js.po, embedded in each page and served as JSON."""

from __future__ import annotations

import httpx

from app import i18n
from app.main import create_app
from app.settings import Settings


def test_english_has_words_and_forms_french_is_empty() -> None:
    english = i18n.browser_catalog("en")
    assert english["Message envoyé."] == "Message sent."
    assert english["%(n)s test en cours"] == ["%(n)s test in progress", "%(n)s tests in progress"]
    assert i18n.browser_catalog("fr") == {}


async def test_catalog_route_in_both_languages_and_unknown_is_a_json_404(settings: Settings) -> None:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        en = await client.get("/api/i18n/en.json")
        fr = await client.get("/api/i18n/fr.json", headers={"Accept-Language": "en"})
        again = await client.get("/api/i18n/en.json", headers={"If-None-Match": en.headers["etag"]})
        unknown = await client.get("/api/i18n/de.json")
        odd = await client.get("/api/i18n/..%2Fen.json")
    assert en.status_code == 200 and en.headers["content-type"].startswith("application/json")
    assert en.json() == i18n.browser_catalog("en") and "public" in en.headers["cache-control"]
    # The language is the one in the path, whatever the browser asks for.
    assert fr.status_code == 200 and fr.json() == {}
    assert again.status_code == 304 and not again.content
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    assert odd.status_code == 404


async def test_pages_embed_the_catalog_of_their_language(settings: Settings) -> None:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        english = await client.get("/certification", headers={"Accept-Language": "en"})
        french = await client.get("/certification", headers={"Accept-Language": "en"}, cookies={"lang": "fr"})
    assert '<script type="application/json" id="i18n">{' in english.text
    assert "Your test is open in another tab." in english.text
    assert '<script type="application/json" id="i18n">{}</script>' in french.text
