"""Every text field of every route, fed long and expanding Unicode, on SQLite and
PostgreSQL: the answer is never a server error, a refusal has the contract's shape and a
French message, and a name that expands on normalisation still enrols and still joins.

PostgreSQL enforces column lengths where SQLite does not, so a key built from typed text
(the rate limit's key, the folded identity of a name) that grows past its column is a
500 there only: this test is the one that found them."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings, load_settings
from tests.conftest import ORIGIN, World

# Characters whose normalisation (NFKD, casefold, upper, lower) is longer than themselves.
EXPANDING = ["ﷺ", "ß", "İ", "ﬃ", "ǰ", "ΐ", "㍻", "ẞ", "ŉ", "ﬀ", "…", "㎒"]
assert all(
    max(len(unicodedata.normalize("NFKD", ch)), len(ch.casefold()), len(ch.upper()), len(ch.lower())) > 1
    for ch in EXPANDING
)


def bad_values(limit: int) -> list[str]:
    """For a field of at most `limit` characters: the edges, far past them, and expanding
    text that fits before normalisation but not after."""
    values = [
        "x" * limit,
        "x" * (limit + 1),
        "x" * 10_000,
        "é" * (limit + 1),
        "😀" * limit,  # 4 bytes each in UTF-8
        "\u0301" * limit,  # combining accents only: nothing left once folded
        "\u200b" * limit,  # invisible: nothing left once folded
        "a\u0000b",
        "\ud800",  # a lone surrogate: valid JSON, not encodable as UTF-8
        "a\udfffb",
        "\u202eevil",
        "\uffff\ufffe",
        " " * limit,
    ]
    values += [ch * limit for ch in EXPANDING]
    values += [ch * (limit // 2) + "@" + ch * (limit // 2 - 1) for ch in ("İ", "ß", "ﷺ")]
    return values


class Tally:
    tried = 0
    server_errors: list[str] = []  # noqa: RUF012


def raw_json(body: dict[str, Any]) -> bytes:
    # ensure_ascii escapes lone surrogates as \udXXX, which is valid JSON.
    return json.dumps(body).encode()


def check(response: httpx.Response, what: str) -> None:
    Tally.tried += 1
    if response.status_code >= 500:
        Tally.server_errors.append(f"{what}: {response.status_code} {response.text[:200]}")
        return
    if response.status_code >= 400:
        body = response.json()
        assert set(body["error"]) >= {"code", "message"}, what
        assert "Traceback" not in response.text and "SELECT" not in response.text, what


@pytest.fixture
def roomy_settings(settings_env: dict[str, str]) -> Settings:
    """Limits out of the way: every try must reach the code under test, not a 429."""
    return load_settings(
        settings_env
        | {
            "RATE_LIMIT_ATTEMPTS": "100000",
            "ADDRESS_BUDGET": "100000",
            "GLOBAL_BUDGET": "100000",
            "JOIN_GUESS_ATTEMPTS": "100000",
            "SUPERVISOR_ACCOUNT_ATTEMPTS": "100000",
            "HASH_QUEUE": "64",
        }
    )


@pytest.fixture
async def roomy_app(roomy_settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(roomy_settings)
    async with application.router.lifespan_context(application):
        yield application


def lenient(app: Starlette, like: httpx.AsyncClient | None = None) -> httpx.AsyncClient:
    """A client that gets the 500 answer instead of the server's exception, to count them all."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=ORIGIN,
        headers={"Origin": ORIGIN},
        cookies=like.cookies if like is not None else None,
        timeout=30,
    )


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, content=raw_json(body), headers={"Content-Type": "application/json"})


async def test_every_text_field_survives_long_and_expanding_unicode(roomy_app: Starlette) -> None:
    Tally.tried, Tally.server_errors = 0, []
    world = World(roomy_app)
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre)
    sid = session["id"]
    r = await staff.post(
        f"/api/sessions/{sid}/candidates", json={"last_name": "DELARUE", "first_name": "Sophie", "birthdate": "2001-07-04"}
    )
    assert r.status_code == 201
    sup = await world.user("marie@testix.fr", "Marie", "Curie")
    r = await sup.post("/api/supervision/access", json={"session_id": sid, "supervisor_password": session["supervisor_password"]})
    assert r.status_code == 204
    staff, sup = lenient(roomy_app, staff), lenient(roomy_app, sup)
    anonymous = lenient(roomy_app)
    candidate = lenient(roomy_app)
    base_join = {
        "session_id": sid,
        "access_code": session["access_code"],
        "first_name": "Sophie",
        "last_name": "DELARUE",
        "birthdate": "2001-07-04",
    }

    forms: list[tuple[httpx.AsyncClient, str, dict[str, Any], dict[str, int]]] = [
        (
            anonymous,
            "/api/auth/signup",
            {"email": "new@testix.fr", "password": "motdepasse1", "first_name": "A", "last_name": "B"},
            {"email": 254, "password": 200, "first_name": 100, "last_name": 100},
        ),
        (anonymous, "/api/auth/login", {"email": "admin@testix.fr", "password": "x"}, {"email": 254, "password": 200}),
        (
            staff,
            f"/api/centres/{centre}/sessions",
            {"address": "A", "room": "B", "examiner": "C", "date": "2022-01-01", "time": "10:00"},
            {"address": 300, "room": 200, "examiner": 200, "date": 10, "time": 5},
        ),
        (
            staff,
            f"/api/sessions/{sid}/candidates",
            {"last_name": "X", "first_name": "Y", "birthdate": "2000-01-01"},
            {"last_name": 100, "first_name": 100, "birthdate": 10},
        ),
        (sup, "/api/supervision/access", {"session_id": sid, "supervisor_password": "C-XXXXX"}, {"supervisor_password": 20, "session_id": 11}),
        (
            candidate,
            "/api/candidate/join",
            base_join,
            {"access_code": 20, "first_name": 100, "last_name": 100, "birthdate": 10, "session_id": 11},
        ),
        (candidate, "/api/candidate/answers", {"question_id": "q1", "answer": 0}, {"question_id": 20}),
    ]
    signups = 0
    for client, path, base, fields in forms:
        for field, limit in fields.items():
            for value in bad_values(limit):
                body = dict(base)
                body[field] = value
                if path == "/api/auth/signup" and field != "email":
                    signups += 1
                    body["email"] = f"fuzz{signups}@testix.fr"
                check(await post(client, path, body), f"POST {path} {field}={value[:12]!r}×{len(value)}")

    # The roster: the same values in each column of a CSV.
    for column in range(3):
        for value in bad_values(100):
            cells = ["NOM", "Prenom", "01/01/2000"]
            cells[column] = value.replace(";", ",")
            raw = ("nom;prenom;date_naissance\n" + ";".join(cells) + "\n").encode("utf-8", "surrogatepass")
            r = await staff.post(f"/api/sessions/{sid}/candidates/import", content=raw)
            check(r, f"import column {column}={value[:12]!r}×{len(value)}")

    # Query strings of the pages.
    for value in bad_values(100):
        for page in ("/connexion?next=", "/inscription?next=", "/surveillance?session=", "/certification?session="):
            r = await anonymous.get(page + quote(value.encode("utf-8", "surrogatepass"), safe=""))
            Tally.tried += 1
            if r.status_code >= 500:
                Tally.server_errors.append(f"GET {page}{value[:12]!r}: {r.status_code}")

    print(f"\nbad inputs tried: {Tally.tried}, server errors: {len(Tally.server_errors)}")
    assert Tally.server_errors == [], "\n".join(Tally.server_errors)
    for c in (staff, sup, anonymous, candidate):
        await c.aclose()
    await world.close()


@pytest.mark.parametrize(
    "last_name", ["ﷺ" * 100, "ß" * 100, "㍻" * 100, "ﬃ" * 50 + " " + "İ" * 49], ids=["arabic-ligature", "eszett", "era", "mixed"]
)
async def test_a_name_that_expands_when_folded_enrols_and_joins(roomy_app: Starlette, last_name: str) -> None:
    world = World(roomy_app)
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre)
    sid = session["id"]
    body = {"last_name": last_name, "first_name": "ﷺ" * 100, "birthdate": "2001-07-04"}
    r = await staff.post(f"/api/sessions/{sid}/candidates", json=body)
    assert r.status_code == 201, r.text
    cid = r.json()["candidate"]["id"]
    # The same person again is still a duplicate: the bounded key is a faithful one.
    r = await staff.post(f"/api/sessions/{sid}/candidates", json=body)
    assert r.status_code == 409, r.text
    sup = await world.user("marie@testix.fr", "Marie", "Curie")
    r = await sup.post("/api/supervision/access", json={"session_id": sid, "supervisor_password": session["supervisor_password"]})
    assert r.status_code == 204
    r = await sup.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    assert r.status_code == 200
    join = {"session_id": sid, "access_code": session["access_code"], "birthdate": "2001-07-04"}
    r = await world.client().post("/api/candidate/join", json=join | {"last_name": last_name, "first_name": "ﷺ" * 100})
    assert r.status_code == 200, r.text
    # One character less is someone else.
    r = await world.client().post("/api/candidate/join", json=join | {"last_name": last_name[:-1], "first_name": "ﷺ" * 100})
    assert r.status_code == 404, r.text
    await world.close()


async def test_a_long_email_is_limited_by_a_hashed_key(app: Starlette, world: World) -> None:
    """The attempts key column holds a hash: a 254-character e-mail is counted, not a 500."""
    email = "a" * 240 + "@testix.fr"
    c = world.client()
    for _ in range(5):
        r = await c.post("/api/auth/login", json={"email": email, "password": "faux-mot-2"})
        assert r.status_code == 401, r.text
    r = await c.post("/api/auth/login", json={"email": email, "password": "faux-mot-2"})
    assert r.status_code == 429, r.text
    engine = app.state.services.db.engine
    from sqlalchemy import text as sql

    with engine.connect() as conn:
        keys = conn.execute(sql("SELECT DISTINCT key FROM failed_attempt")).scalars().all()
    assert keys and all(len(k) <= 80 and email not in k for k in keys)
