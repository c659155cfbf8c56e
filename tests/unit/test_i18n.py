"""The language a request gets and the server's own words in it."""

from __future__ import annotations

import httpx
import pytest

from app import i18n
from app.main import create_app
from app.settings import Settings


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.5,fr;q=0.4", "en"),
        ("de,fr;q=0.1,en;q=0.2", "en"),
        ("en;q=0,fr", "fr"),
        ("en;q=abc,fr;q=0.5", "fr"),
        ("*", None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_explicit_choice_wins_then_browser_then_french() -> None:
    assert i18n.negotiate("en", accept_language="fr") == "en"
    assert i18n.negotiate("xx", None, accept_language="en-US") == "en"
    assert i18n.negotiate(None, accept_language="de") == "fr"


def test_catalog_translates_and_french_is_the_source() -> None:
    token = i18n.current.set("en")
    try:
        assert i18n.gettext("Aller au contenu") == "Skip to content"
        assert i18n.gettext("Pas encore traduit, jamais") == "Pas encore traduit, jamais"
    finally:
        i18n.current.reset(token)
    assert i18n.gettext("Aller au contenu") == "Aller au contenu"


async def test_page_follows_cookie_then_browser(settings: Settings) -> None:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        french = await client.get("/connexion")
        english = await client.get("/connexion", headers={"Accept-Language": "en-GB,en;q=0.8"})
        chosen = await client.get("/connexion", headers={"Accept-Language": "en"}, cookies={"lang": "fr"})
    assert '<html lang="fr">' in french.text and "Aller au contenu" in french.text
    assert '<html lang="en">' in english.text and "Skip to content" in english.text
    assert '<html lang="fr">' in chosen.text
