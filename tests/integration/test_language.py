"""The language switch: a form post to /langue keeps the choice in the `lang` cookie and, for
a logged-in account, in its profile, which a fresh login on another browser brings back."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from tests.conftest import ORIGIN, World, make_client

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}


async def switch(
    c: httpx.AsyncClient, lang: str, next_: str = "/", headers: dict[str, str] | None = None
) -> httpx.Response:
    return await c.post("/langue", content=f"lang={lang}&next={next_}", headers=headers or FORM)


def saved_locale(app: Starlette, email: str) -> str | None:
    with app.state.services.db.engine.connect() as conn:
        value = conn.execute(text('SELECT locale FROM "user" WHERE email = :e'), {"e": email}).scalar()
    return None if value is None else str(value)


async def test_every_page_has_the_switch_to_the_other_language(client: httpx.AsyncClient) -> None:
    for path in ("/", "/connexion", "/inscription", "/certification", "/surveillance/aide", "/nulle-part"):
        french = (await client.get(path)).text
        assert (
            'action="/langue"' in french
            and 'name="lang" value="en" lang="en"><span class="lang-switch__code">EN</span> <span class="lang-switch__name">English</span></button>'
            in french
        )
        english = (await client.get(path, headers={"Accept-Language": "en"})).text
        assert (
            'name="lang" value="fr" lang="fr"><span class="lang-switch__code">FR</span> <span class="lang-switch__name">Français</span></button>'
            in english
        ), path
        assert f'name="next" value="{path}"' in english


async def test_the_switch_sets_the_cookie_and_goes_back(client: httpx.AsyncClient) -> None:
    r = await switch(client, "en", "/connexion%3Fnext%3D/centre")
    assert r.status_code == 303 and r.headers["location"] == "/connexion?next=/centre"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("lang=en;") and "Path=/" in cookie and "SameSite=lax" in cookie
    page = await client.get("/connexion")
    assert '<html lang="en">' in page.text and "Log in" in page.text and "Connectez-vous" not in page.text
    r = await switch(client, "fr")
    assert (await client.get("/connexion")).text.count("Connectez-vous") == 1


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example", "//evil.example", "/%2F%2Fevil.example", "javascript:alert(1)"]
)
async def test_the_way_back_stays_on_the_site(client: httpx.AsyncClient, unsafe: str) -> None:
    r = await switch(client, "en", unsafe)
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_another_site_cannot_switch_the_language(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as bare:
        for origin in ("https://evil.example", None):
            headers = {"Content-Type": FORM["Content-Type"], **({"Origin": origin} if origin else {})}
            r = await switch(bare, "en", headers=headers)
            assert r.status_code == 403 and r.json()["error"]["code"] == "CSRF_REJECTED"
            assert "set-cookie" not in r.headers


async def test_an_unknown_language_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    r = await switch(client, "xx", headers={**FORM, "Accept-Language": "en"})
    assert r.status_code == 422 and "set-cookie" not in r.headers
    assert r.json()["error"] == {"code": "INVALID_PAYLOAD", "message": "lang: unknown language (fr or en)."}
    assert r.json()["field"] == "lang"


async def test_api_errors_follow_the_cookie_and_keep_their_code(client: httpx.AsyncClient) -> None:
    french = await client.get("/api/me")
    client.cookies.set("lang", "en")
    english = await client.get("/api/me")
    assert french.json()["error"] == {"code": "NOT_AUTHENTICATED", "message": "Vous devez être connecté."}
    assert english.json()["error"] == {"code": "NOT_AUTHENTICATED", "message": "You must be logged in."}


async def test_an_account_keeps_its_language_across_a_fresh_login(app: Starlette, world: World) -> None:
    email = "ada@example.org"
    marie = await world.user(email)
    assert saved_locale(app, email) is None
    r = await switch(marie, "en", "/compte")
    assert r.status_code == 303 and saved_locale(app, email) == "en"

    # Another browser, no lang cookie, a French Accept-Language: the account's choice wins.
    async with make_client(app) as other:
        other.headers["Accept-Language"] = "fr"
        assert "Connectez-vous" in (await other.get("/connexion")).text
        login = await other.post("/api/auth/login", json={"email": email, "password": "motdepasse1"})
        assert login.status_code == 200 and "lang=en;" in login.headers["set-cookie"]
        other.cookies.delete("lang")
        page = await other.get("/compte")
        assert '<html lang="en">' in page.text and "My account" in page.text
        refusal = await other.get("/api/sessions/999999")
        assert refusal.json()["error"]["message"] in (
            "Session not found.",
            "You are not a member of this certification centre.",
        )

        # Switching back while logged in changes the profile too.
        await switch(other, "fr", "/compte")
        assert saved_locale(app, email) == "fr"
        assert '<html lang="fr">' in (await other.get("/compte", headers={"Accept-Language": "en"})).text


async def test_pages_write_dates_and_statuses_the_reader_s_way(world: World) -> None:
    """Dates and statuses in the reader's language; the hour on the 24-hour clock as typed in
    both, as the pages' scripts write times."""
    staff = await world.user("grace@example.org")
    centre_id = await world.centre("Centre Hopper", "grace@example.org")
    session = await world.session(staff, centre_id, date="2021-12-28", time="14:05")
    french = (await staff.get("/centre")).text
    assert "28/12/2021 · 14:05" in french and "1 session" in french and "Ouverte" in french
    staff.cookies.set("lang", "en")
    english = (await staff.get("/centre")).text
    assert "28 Dec 2021 · 14:05" in english and "1 session" in english and ">Open<" in english
    detail = (await staff.get(f"/centre/sessions/{session['id']}")).text
    assert f"Session {session['id']}" in detail and "Access code (candidates)" in detail
