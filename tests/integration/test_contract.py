"""The websocket contract's schema is served, and the suites' check of the event log
catches a malformed event (every test's log is checked by the autouse `event_contract`)."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import text
from starlette.applications import Starlette

from app.openapi import MESSAGES_SCHEMA
from tests import contract
from tests.conftest import World


async def test_the_messages_schema_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/schema/messages.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/schema+json")
    assert r.json() == json.loads(MESSAGES_SCHEMA.read_text())
    assert "/api/schema/messages.json" in (await client.get("/openapi.json")).json()["paths"]


async def test_a_malformed_event_in_the_log_is_reported(app: Starlette, world: World, database_url: str) -> None:
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre_id = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre_id)
    r = await staff.post(
        f"/api/sessions/{session['id']}/candidates",
        json={"last_name": "DUPONT", "first_name": "Paul", "birthdate": "1997-05-21"},
    )
    assert r.status_code == 201, r.text
    assert contract.event_log_problems(database_url) == []

    engine = app.state.services.db.engine
    with engine.connect() as conn:
        real = json.loads(conn.execute(text("SELECT payload FROM session_event ORDER BY version DESC")).scalar_one())
    assert real["counts"] == {"enrolled": 1, "present": 0, "in_progress": 0, "finished": 0}
    malformed = {**real, "version": real["version"] + 1, "candidate": {**real["candidate"], "status": "en_cours"}}
    del malformed["counts"]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO session_event (session_id, version, type, candidate_id, payload, at)"
                " VALUES (:s, :v, 'candidate.updated', NULL, :p, CURRENT_TIMESTAMP)"
            ),
            {"s": session["id"], "v": malformed["version"], "p": json.dumps(malformed)},
        )
    found = contract.event_log_problems(database_url)
    assert len(found) == 1 and f"event {malformed['version']}: " in found[0] and "'counts'" in found[0]
    # The row goes, so that this test's own end-of-test check (the same function) passes.
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM session_event WHERE version = :v"), {"v": malformed["version"]})
    assert contract.event_log_problems(database_url) == []

    # A change the log does not tell (here, behind the app's back) leaves its counts stale.
    with engine.begin() as conn:
        conn.execute(text("UPDATE candidate SET authorized_to_start = :t"), {"t": True})
    found = contract.event_log_problems(database_url)
    assert len(found) == 1 and "'present': 0" in found[0] and "'present': 1" in found[0]
    with engine.begin() as conn:
        conn.execute(text("UPDATE candidate SET authorized_to_start = :f"), {"f": False})


def test_a_malformed_message_seen_by_a_test_client_is_reported() -> None:
    contract.record('{"type": "heartbeat", "version": "douze"}', "server_message")
    contract.record("pas du json", "server_message")
    contract.record({"type": "resync", "since": 3}, "client_message")
    found, contract.VIOLATIONS[:] = list(contract.VIOLATIONS), []
    assert len(found) == 2 and "not JSON" in found[1]
