"""Findings of the security review (issue 11) the attack suite did not cover: redirects
after login, security headers, login CSRF, revocable logins, hygiene. Real app, SQLite
and PostgreSQL."""

from __future__ import annotations

import html
import re

import httpx

from tests.conftest import World
from tests.redirects import KEPT, hostile

PASSWORD = "motdepasse1"
DATA_NEXT = re.compile(r'data-next="([^"]*)"')
SIGNUP_LINK = re.compile(r'href="(/inscription[^"]*)"')


def _data_next(page: str) -> str:
    match = DATA_NEXT.search(page)
    assert match, page[:2000]
    return html.unescape(match.group(1))


async def test_login_and_signup_pages_keep_only_local_paths(client: httpx.AsyncClient) -> None:
    tried = 0
    for raw in hostile():
        for path in ("/connexion", "/inscription"):
            r = await client.get(path, params={"next": raw})
            assert r.status_code == 200
            assert _data_next(r.text) == "/", (path, raw)
            tried += 1
        link = SIGNUP_LINK.search((await client.get("/connexion", params={"next": raw})).text)
        assert link and html.unescape(link.group(1)) == "/inscription", raw
    for raw in KEPT:
        r = await client.get("/connexion", params={"next": raw})
        assert _data_next(r.text) == raw
    assert tried > 700


async def test_login_and_signup_answer_the_next_they_decided(world: World) -> None:
    staff = await world.user("admin@testix.fr")
    anonymous = world.client()
    for raw in [*hostile()[:12], "/\t/evil.example", "/\\evil.example", "javascript:alert(1)"]:
        r = await anonymous.post("/api/auth/login", json={"email": "admin@testix.fr", "password": PASSWORD, "next": raw})
        assert r.status_code == 200, r.text
        assert r.json()["next"] == "/", raw
    for raw in KEPT:
        r = await anonymous.post("/api/auth/login", json={"email": "admin@testix.fr", "password": PASSWORD, "next": raw})
        assert r.json()["next"] == raw
    r = await anonymous.post(
        "/api/auth/signup",
        json={"email": "new@testix.fr", "password": PASSWORD, "first_name": "A", "last_name": "B", "next": "//evil.example"},
    )
    assert r.status_code == 201 and r.json()["next"] == "/"
    r = await world.client().post(
        "/api/auth/signup",
        json={"email": "new2@testix.fr", "password": PASSWORD, "first_name": "A", "last_name": "B", "next": "/centre"},
    )
    assert r.status_code == 201 and r.json()["next"] == "/centre"
    # A non-string next is not an error: it simply goes home.
    r = await anonymous.post("/api/auth/login", json={"email": "admin@testix.fr", "password": PASSWORD, "next": 5})
    assert r.status_code == 200 and r.json()["next"] == "/"
    assert staff is not None
