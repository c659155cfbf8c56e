"""Abuse an attacker can try over HTTP once the obvious doors are shut, on SQLite and
PostgreSQL: a removed candidate's cookie, floods from one address or many, guessing names
once the access code is known, guessing supervisor passwords across sessions, and the
centre's answers (a new session password, a supervisor's access taken back)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.budget import client_key
from app.main import create_app
from app.security import CANDIDATE_COOKIE
from app.settings import load_settings
from tests.conftest import ORIGIN, World, digest, event_log
from tests.integration.test_attacks import Site, from_address, signed
from tests.servers import RedisProcess


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = RedisProcess().start()
    yield server.url
    server.stop()


@pytest.fixture
async def site(world: World) -> Site:
    return await Site(world).build()


def candidate_client(app: Starlette, cookie: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=ORIGIN, headers={"Origin": ORIGIN}, cookies={CANDIDATE_COOKIE: cookie}
    )


# ---------------------------------------------------------------- finding 2: removed candidates


async def test_a_removed_candidates_cookie_cannot_drive_the_next_one_enrolled(site: Site) -> None:
    """SQLite handed a removed candidate's id to the next one enrolled, and the join token
    counted from 0 for both: the first candidate's cookie then started the second's test."""
    sid = site.a["id"]
    first = await site.enrol(site.a, "MARTIN", "Jean", "1999-01-01")
    await site.presence(first)
    old = site.world.client()
    r = await old.post("/api/candidate/join", json=site.join_body(site.a, first_name="Jean", last_name="MARTIN", birthdate="1999-01-01"))
    assert r.status_code == 200, r.text
    r = await site.staff.delete(f"/api/sessions/{sid}/candidates/{first}")
    assert r.status_code == 204, r.text
    second = await site.enrol(site.a, "BERNARD", "Lucie", "2000-02-02")
    assert second != first, "a removed candidate's id was given again"
    await site.presence(second)
    new = site.world.client()
    r = await new.post("/api/candidate/join", json=site.join_body(site.a, first_name="Lucie", last_name="BERNARD", birthdate="2000-02-02"))
    assert r.status_code == 200, r.text
    before = digest(site.app)
    r = await old.post("/api/candidate/start", json={"consent": True})
    assert r.status_code == 401, r.text
    assert (await old.get("/api/candidate/test")).status_code == 401
    assert digest(site.app) == before
    # And had the id come back anyway, the old cookie's secret would not match.
    key = site.app.state.services.settings.secret_key
    for token in (0, 1, 2):
        forged = signed(key, "surveillance.candidate", {"c": second, "s": sid, "t": token}, 0)
        async with candidate_client(site.app, forged) as c:
            r = await c.post("/api/candidate/start", json={"consent": True})
        assert r.status_code == 401, (token, r.text)
    assert digest(site.app) == before
    r = await new.post("/api/candidate/start", json={"consent": True})
    assert r.status_code == 201, r.text


async def test_the_candidate_cookie_carries_a_fresh_random_secret_at_each_join(site: Site) -> None:
    await site.presence(site.cand_a)
    signer = site.app.state.services.signer
    seen = set()
    for _ in range(3):
        c = site.world.client()
        assert (await c.post("/api/candidate/join", json=site.join_body(site.a))).status_code == 200
        claim = signer.read_candidate(c.cookies[CANDIDATE_COOKIE])
        assert claim is not None and len(claim.secret) >= 32
        seen.add(claim.secret)
    assert len(seen) == 3
    # Only the digest is stored: the database does not hold what the cookie proves.
    with site.app.state.services.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT join_secret FROM candidate WHERE id = :i"), {"i": site.cand_a}).scalar()
    assert stored and all(s not in stored for s in seen)


async def test_candidate_and_session_ids_are_never_given_again(app: Starlette, site: Site) -> None:
    sid = site.a["id"]
    ids = []
    for n in range(3):
        cid = await site.enrol(site.a, f"NOM{n}", "Prenom", "1990-01-01")
        ids.append(cid)
        r = await site.staff.delete(f"/api/sessions/{sid}/candidates/{cid}")
        assert r.status_code == 204
    assert len(set(ids)) == 3 and ids == sorted(ids)
    engine = app.state.services.db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            for table in ("candidate", "exam_session", "user"):
                sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar()
                assert "AUTOINCREMENT" in sql.upper(), table


# ---------------------------------------------------------------- finding 3: abuse budget


@pytest.fixture
async def tight_app(settings_env: dict[str, str]) -> AsyncIterator[Starlette]:
    """Small budgets, so a test can spend them: 5 tries per address and door, 8 for everyone."""
    application = create_app(load_settings(settings_env | {"ADDRESS_BUDGET": "5", "GLOBAL_BUDGET": "8"}))
    async with application.router.lifespan_context(application):
        yield application


def assert_budget_refusal(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error"]["code"] == "TOO_MANY_REQUESTS"
    assert "réessayer dans" in body["error"]["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 300


DOORS = {
    "signup": ("/api/auth/signup", lambda n: {"email": f"x{n}@spam.fr", "password": "motdepasse1", "first_name": "A", "last_name": "B"}),
    "login": ("/api/auth/login", lambda n: {"email": f"x{n}@spam.fr", "password": "motdepasse1"}),
    "join": ("/api/candidate/join", lambda n: {"session_id": 900 + n, "access_code": "BBBB22", "first_name": "A", "last_name": "B", "birthdate": "2000-01-01"}),
    "access": ("/api/supervision/access", lambda n: {"session_id": 900 + n, "supervisor_password": "C-BBBBBBB"}),
}


@pytest.mark.parametrize("door", list(DOORS))
async def test_one_address_has_a_budget_on_each_open_door(tight_app: Starlette, door: str) -> None:
    """Random e-mails and session numbers: no target is tried twice, so only a budget per
    address stops one client from keeping the hash and the database busy."""
    path, body = DOORS[door]
    world = World(tight_app)
    member = await world.user("membre@testix.fr") if door == "access" else None
    cookies = member.cookies if member else None
    before = digest(tight_app)
    async with from_address(tight_app, 7, cookies) as c:
        for n in range(5):
            r = await c.post(path, json=body(n))
            assert r.status_code != 429, (n, r.text)
        after_allowed = digest(tight_app)
        r = await c.post(path, json=body(99))
        assert_budget_refusal(r)
        assert digest(tight_app) == after_allowed
    # Another address is not held back by this one.
    async with from_address(tight_app, 8, cookies) as c:
        assert (await c.post(path, json=body(100))).status_code != 429
    assert before is not None
    await world.close()


def from_ipv6(app: Starlette, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 1234)),
        base_url=ORIGIN,
        headers={"Origin": ORIGIN},
        timeout=30,
    )


async def test_one_ipv6_subscriber_rotating_through_its_64_is_one_client(tight_app: Starlette) -> None:
    """A /64 is one subscriber's: a new address in it per try spends the same budget."""
    statuses = []
    for n in range(7):
        async with from_ipv6(tight_app, f"2001:db8:5:6::{n + 1:x}:{n * 7919:x}") as c:
            r = await c.post("/api/auth/login", json={"email": f"v6-{n}@spam.fr", "password": "motdepasse1"})
            statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5, statuses
    assert statuses[5:] == [429, 429], statuses
    # The neighbouring /64 is someone else.
    async with from_ipv6(tight_app, "2001:db8:5:7::1") as c:
        r = await c.post("/api/auth/login", json={"email": "v6-next@spam.fr", "password": "motdepasse1"})
        assert r.status_code == 401


def test_what_one_client_is_for_its_budget() -> None:
    assert client_key("203.0.113.9") == "203.0.113.9"
    assert client_key("2001:db8:5:6:a:b:c:d") == client_key("2001:db8:5:6::1") == "2001:db8:5:6::/64"
    assert client_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_key(None) == "unknown"
    assert client_key("not-an-address") == "not-an-address"


async def test_a_small_global_budget_holds_when_addresses_are_spread(tight_app: Starlette) -> None:
    statuses = []
    for n in range(12):
        async with from_address(tight_app, 100 + n) as c:
            r = await c.post("/api/auth/login", json={"email": f"x{n}@spam.fr", "password": "motdepasse1"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert_budget_refusal(r)
                assert "trop de demandes" in r.json()["error"]["message"]
    assert statuses[:8] == [401] * 8 and statuses[8:] == [429] * 4
    # A refused address does not eat into everyone's budget: spread again, still refused.


async def test_the_budget_is_shared_by_every_process_through_redis(settings_env: dict[str, str], redis_url: str) -> None:
    env = settings_env | {"ADDRESS_BUDGET": "5", "GLOBAL_BUDGET": "100", "REDIS_URL": redis_url}
    apps = [create_app(load_settings(env)) for _ in range(2)]
    statuses = []
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        for n in range(8):
            async with from_address(apps[n % 2], 9) as c:
                r = await c.post("/api/auth/login", json={"email": f"x{n}@spam.fr", "password": "motdepasse1"})
                statuses.append(r.status_code)
    assert statuses == [401] * 5 + [429] * 3


async def test_password_hashes_run_on_a_bounded_pool_that_refuses_when_full(settings_env: dict[str, str]) -> None:
    application = create_app(load_settings(settings_env | {"HASH_WORKERS": "1", "HASH_QUEUE": "0"}))
    async with application.router.lifespan_context(application):
        world = World(application)
        await world.user("marie@testix.fr")

        async def login(n: int) -> httpx.Response:
            async with from_address(application, n) as c:
                return await c.post("/api/auth/login", json={"email": "marie@testix.fr", "password": "motdepasse1"})

        answers = await asyncio.gather(*(login(n) for n in range(8)))
        statuses = sorted(r.status_code for r in answers)
        assert 200 in statuses and 503 in statuses, statuses
        assert set(statuses) <= {200, 503}
        for r in answers:
            if r.status_code == 503:
                assert r.json()["error"]["code"] == "SERVICE_BUSY"
                assert "réessayer" in r.json()["error"]["message"]
                assert r.headers["Retry-After"].isdecimal()
        # A refused login recorded no try against the account: five wrong ones still fit.
        for n in range(5):
            assert (await login(50 + n)).status_code == 200
        await world.close()


# ---------------------------------------------------------------- finding 5: impersonation


async def test_name_guesses_are_limited_per_session_once_the_code_is_known(site: Site) -> None:
    await site.presence(site.cand_a)
    for n in range(30):
        async with from_address(site.app, 60 + n) as c:
            r = await c.post("/api/candidate/join", json=site.join_body(site.a, last_name=f"INCONNU{n}"))
            assert r.status_code == 404, r.text
    async with from_address(site.app, 99) as c:
        r = await c.post("/api/candidate/join", json=site.join_body(site.a))
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "TOO_MANY_ATTEMPTS" and int(r.headers["Retry-After"]) > 0
    # Another session is not held back.
    async with from_address(site.app, 99) as c:
        r = await c.post("/api/candidate/join", json=site.join_body(site.b, first_name="Paul", last_name="DUPONT", birthdate="1997-05-21"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION", r.text


async def test_birth_date_guesses_are_limited_per_person(site: Site) -> None:
    await site.presence(site.cand_a)
    other = await site.enrol(site.a, "MARTIN", "Jean", "1999-01-01")
    await site.presence(other)
    for day in range(1, 6):
        async with from_address(site.app, 70 + day) as c:
            r = await c.post("/api/candidate/join", json=site.join_body(site.a, birthdate=f"2001-07-{day + 10:02d}"))
            assert r.status_code == 404, r.text
    async with from_address(site.app, 80) as c:
        r = await c.post("/api/candidate/join", json=site.join_body(site.a))
        assert r.status_code == 429, r.text
        # Someone else of the same session still joins.
        r = await c.post("/api/candidate/join", json=site.join_body(site.a, first_name="Jean", last_name="MARTIN", birthdate="1999-01-01"))
        assert r.status_code == 200, r.text


async def test_an_unknown_candidate_and_a_wrong_birth_date_answer_alike(site: Site) -> None:
    answers = []
    for who in ({"last_name": "PERSONNE"}, {"birthdate": "2001-07-05"}, {"first_name": "Sophia"}):
        c = site.world.client()
        r = await c.post("/api/candidate/join", json=site.join_body(site.a, **who))
        answers.append((r.status_code, r.json(), CANDIDATE_COOKIE in c.cookies))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404 and answers[0][2] is False


async def join_as_sophie(site: Site, client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/api/candidate/join", json=site.join_body(site.a))


async def test_a_join_that_supersedes_a_connected_browser_is_recorded(site: Site) -> None:
    sid, cid = site.a["id"], site.cand_a
    presence = site.app.state.services.presence
    await site.presence(cid)
    first = site.world.client()
    assert (await join_as_sophie(site, first)).status_code == 200
    # The same browser joining again (its page reloaded) supersedes nothing.
    await presence.candidate_connected(sid, cid, 1)
    assert (await join_as_sophie(site, first)).status_code == 200
    log = await event_log(site.app, sid)
    assert not [e for e in log if e[1] == "candidate.updated" and e[3] == cid and "superseded" in str(e)]
    await presence.candidate_connected(sid, cid, 2)
    before = len(await event_log(site.app, sid))
    second = site.world.client()
    assert (await join_as_sophie(site, second)).status_code == 200
    with site.app.state.services.db.engine.connect() as conn:
        actions = conn.execute(
            text("SELECT payload FROM session_event WHERE session_id = :s ORDER BY version"), {"s": sid}
        ).scalars().all()
    new = [json.loads(p) for p in actions[before:]]
    assert [e["action"] for e in new] == ["join_superseded"]
    assert new[0]["actor"] == {"name": "Sophie DELARUE"} and new[0]["join"] == 3
    # The first browser can no longer act.
    assert (await first.post("/api/candidate/start", json={"consent": True})).status_code == 401


async def test_a_resume_asked_while_the_original_browser_is_connected_is_flagged(site: Site) -> None:
    sid, cid = site.a["id"], site.cand_a
    presence = site.app.state.services.presence
    await site.presence(cid)
    taking = site.world.client()
    assert (await join_as_sophie(site, taking)).status_code == 200
    assert (await taking.post("/api/candidate/start", json={"consent": True})).status_code == 201
    # Not connected: a resume request is the ordinary case (the computer crashed).
    r = await join_as_sophie(site, site.world.client())
    assert r.status_code == 403
    view = await candidate_view(site, cid)
    assert view["resume_requested"] and view["resume_while_connected"] is False
    # Connected: someone else asks to resume while the candidate's browser is live.
    await presence.candidate_connected(sid, cid, 1)
    view = await candidate_view(site, cid)
    assert view["connection"] == "connected" and view["resume_while_connected"] is True
    # The field is in the live events too (the dashboard renders from them).
    with site.app.state.services.db.engine.connect() as conn:
        last = conn.execute(
            text("SELECT payload FROM session_event WHERE session_id = :s ORDER BY version DESC LIMIT 1"), {"s": sid}
        ).scalar()
    assert json.loads(last)["candidate"]["resume_while_connected"] is True


async def candidate_view(site: Site, cid: int) -> dict[str, Any]:
    snap = (await site.sup.get(f"/api/supervision/sessions/{site.a['id']}")).json()
    return next(c for c in snap["candidates"] if c["id"] == cid)


# ---------------------------------------------------------------- finding 8: supervisor passwords


async def test_wrong_session_passwords_are_limited_per_account_across_sessions(site: Site) -> None:
    """Sessions are numbered in sequence and accounts are free: per session, one guess on
    each of many sessions was never limited. Per account it is."""
    sessions = [await site.world.session(site.staff, site.centre, room=f"Salle {n}") for n in range(6)]
    tries = 0
    for s in sessions:
        for _ in range(2):
            async with from_address(site.app, 10 + tries, site.other.cookies) as c:
                r = await c.post("/api/supervision/access", json=site.access_body(s, "C-BBBBBBB"))
            tries += 1
            if tries <= 10:
                assert r.status_code == 403, (tries, r.text)
            else:
                assert r.status_code == 429, (tries, r.text)
                assert r.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
    # Even the right password of a fresh session is refused to this account for now…
    fresh = await site.world.session(site.staff, site.centre, room="Salle 9")
    r = await site.other.post("/api/supervision/access", json=site.access_body(fresh))
    assert r.status_code == 429, r.text
    # … and not to another account.
    r = await site.sup.post("/api/supervision/access", json=site.access_body(fresh))
    assert r.status_code == 204, r.text


async def test_new_sessions_get_seven_character_passwords_and_old_ones_keep_working(site: Site) -> None:
    assert len(site.a["supervisor_password"]) == 9 and site.a["supervisor_password"].startswith("C-")
    with site.app.state.services.db.engine.begin() as conn:
        conn.execute(text("UPDATE exam_session SET supervisor_password = 'C-BCDFG' WHERE id = :i"), {"i": site.b["id"]})
    r = await site.other.post("/api/supervision/access", json=site.access_body(site.b, "cbcdfg"))
    assert r.status_code == 204, r.text


async def test_the_centre_rotates_a_session_password(site: Site) -> None:
    sid = site.a["id"]
    old = site.a["supervisor_password"]
    before = digest(site.app)
    # Only the centre's members, only on an open session.
    r = await site.sup.post(f"/api/sessions/{sid}/supervisor-password")
    assert r.status_code == 403 and r.json()["error"]["code"] == "NOT_A_MEMBER"
    assert digest(site.app) == before
    r = await site.staff.post(f"/api/sessions/{sid}/supervisor-password")
    assert r.status_code == 200, r.text
    new = r.json()["session"]["supervisor_password"]
    assert new != old and len(new) == 9 and r.headers.get("cache-control", "").startswith("no-store")
    # The old password opens nothing any more; the new one does; who had access keeps it.
    r = await site.other.post("/api/supervision/access", json=site.access_body(site.a, old))
    assert r.status_code == 403 and r.json()["error"]["code"] == "INCORRECT_DATA"
    assert (await site.sup.get(f"/api/supervision/sessions/{sid}")).status_code == 200
    r = await site.other.post("/api/supervision/access", json=site.access_body(site.a, new))
    assert r.status_code == 204
    log = await event_log(site.app, sid)
    assert log[-2][1] == "session.updated" and log[-2][2] == "Alice Martin"
    assert (await site.staff.post(f"/api/sessions/{sid}/finalize")).status_code == 200
    r = await site.staff.post(f"/api/sessions/{sid}/supervisor-password")
    assert r.status_code == 409 and r.json()["error"]["code"] == "SESSION_FINALIZED"


async def test_the_centre_lists_and_revokes_a_sessions_supervisors(site: Site) -> None:
    sid, cid = site.a["id"], site.cand_a
    r = await site.staff.get(f"/api/sessions/{sid}/supervisors")
    assert r.status_code == 200, r.text
    listed = r.json()["supervisors"]
    assert [(s["name"], s["online"]) for s in listed] == [("Marie Curie", False)]
    marie = listed[0]["id"]
    for outsider in (site.sup, site.other):
        assert (await outsider.get(f"/api/sessions/{sid}/supervisors")).status_code == 403
        assert (await outsider.delete(f"/api/sessions/{sid}/supervisors/{marie}")).status_code == 403
    before = digest(site.app)
    r = await site.staff.delete(f"/api/sessions/{sid}/supervisors/999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "SUPERVISOR_NOT_FOUND"
    assert digest(site.app) == before
    r = await site.staff.delete(f"/api/sessions/{sid}/supervisors/{marie}")
    assert r.status_code == 204, r.text
    # Every supervisor route of the session is closed to her at once.
    assert (await site.sup.get(f"/api/supervision/sessions/{sid}")).status_code == 403
    r = await site.sup.post(f"/api/supervision/sessions/{sid}/candidates/{cid}/presence", json={"authorized": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "NO_SUPERVISOR_ACCESS"
    assert (await site.staff.get(f"/api/sessions/{sid}/supervisors")).json()["supervisors"] == []
    with site.app.state.services.db.engine.connect() as conn:
        last = conn.execute(
            text("SELECT payload FROM session_event WHERE session_id = :s ORDER BY version DESC LIMIT 1"), {"s": sid}
        ).scalar()
    event = json.loads(last)
    assert event["action"] == "supervisor_revoked" and event["revoked"] == marie and event["supervisors"] == []
    assert event["actor"] == {"name": "Alice Martin"}


async def test_the_budget_lets_tries_through_while_redis_is_down() -> None:
    """An outage of Redis must not lock every candidate out on exam day: the per-target
    limits and the hash pool still hold meanwhile."""
    from app.budget import budget_for

    server = RedisProcess().start()
    budget = budget_for(server.url, per_address=1, overall=100, window=60)
    await budget.spend("join", "10.0.0.1")
    server.stop()
    for _ in range(3):
        await budget.spend("join", "10.0.0.1")  # no 429, no crash
    await budget.close()


async def test_simultaneous_guesses_of_one_account_across_sessions_cannot_exceed_its_budget(site: Site) -> None:
    """Twenty wrong session passwords fired at once by one account on twenty sessions: the
    account's row lock makes them take turns, so at most ten are judged."""
    sessions = [await site.world.session(site.staff, site.centre, room=f"Salle {n}") for n in range(20)]
    clients = [from_address(site.app, 100 + n, site.other.cookies) for n in range(20)]
    try:
        answers = await asyncio.gather(
            *(c.post("/api/supervision/access", json=site.access_body(s, "C-BBBBBBB")) for c, s in zip(clients, sessions, strict=True))
        )
    finally:
        for c in clients:
            await c.aclose()
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(403) <= 10 and set(statuses) <= {403, 429}, statuses
