"""Abuse an attacker can try over HTTP once the obvious doors are shut, on SQLite and
PostgreSQL: a removed candidate's cookie, floods from one address or many, guessing names
once the access code is known, guessing supervisor passwords across sessions, and the
centre's answers (a new session password, a supervisor's access taken back)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.security import CANDIDATE_COOKIE
from tests.conftest import ORIGIN, World, digest
from tests.integration.test_attacks import Site, signed


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
