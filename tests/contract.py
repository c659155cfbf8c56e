"""The websocket contract as the tests hold the server to it: every event written to the
log and every message a test client sees must match app/schema/messages.json, the schema
served at /api/schema/messages.json. As Zulip checks each event against its API
description, the autouse fixture `event_contract` (tests/conftest.py) fails a test whose
events or messages do not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from sqlalchemy import create_engine, text
from sqlmodel import Session

from app import views
from app.openapi import messages_schema
from app.settings import normalise_database_url

# Databases whose event log a test wrote to, registered by the fixtures that make them.
DATABASES = pytest.StashKey[list[str]]()
# What the test clients received or sent that broke the schema, for the fixture to report.
VIOLATIONS: list[str] = []


def _validator(definition: str) -> Draft202012Validator:
    schema = messages_schema()
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


# By direction and `type`, the one definition a message must match: its errors then say
# which field is wrong rather than "not valid under any of the given schemas".
BY_TYPE = {
    "server_message": {
        "snapshot": "snapshot",
        "event": "event",
        "heartbeat": "heartbeat",
        "candidate": "candidate_message",
        "message": "notice",
        "error": "error",
    },
    "client_message": {"resync": "resync", "heartbeat": "candidate_heartbeat"},
}
VALIDATORS = {name: _validator(name) for name in messages_schema()["$defs"]}


def problem(message: Any, definition: str) -> str | None:
    """Why `message` is not a `definition` of the schema, or None when it is one."""
    if isinstance(message, dict) and message.get("type") in BY_TYPE.get(definition, {}):
        definition = BY_TYPE[definition][message["type"]]
    error = best_match(VALIDATORS[definition].iter_errors(message))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(message)"
    rule = "/".join(str(p) for p in error.absolute_schema_path)
    return (
        f"{definition} at {where} (rule {rule}): {error.message[:200]}"
        f" in {json.dumps(message, ensure_ascii=False)[:300]}"
    )


def record(raw: str | bytes | dict[str, Any], definition: str) -> None:
    """Check one websocket message a test client received or sent; remember any breach."""
    try:
        message = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except ValueError:
        VIOLATIONS.append(f"{definition}: not JSON: {raw[:200]!r}")
        return
    found = problem(message, definition)
    if found:
        VIOLATIONS.append(found)


def watch(node: pytest.Item, database_url: str) -> None:
    """Have the event log of this database checked when the test ends."""
    node.stash.setdefault(DATABASES, []).append(database_url)


def event_log_problems(database_url: str) -> list[str]:
    """Each logged event against the schema; and, per session, the counters the log last
    carried against the counters of the candidates now (an action that changes them but
    sends none would leave the dashboards behind)."""
    engine = create_engine(normalise_database_url(database_url))
    found = []
    last_counts: dict[int, dict[str, int]] = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT session_id, version, payload FROM session_event ORDER BY session_id, version")
            ).all()
        for session_id, version, payload in rows:
            event = json.loads(payload)
            why = problem(event, "event")
            if why:
                found.append(f"session {session_id} event {version}: {why}")
            elif event["version"] != version:
                found.append(f"session {session_id} event {version}: the payload says version {event['version']}")
            elif "counts" in event:
                last_counts[session_id] = event["counts"]
        with Session(engine) as db:
            for session_id, logged in last_counts.items():
                now = views.session_counts(db, session_id)
                if logged != now:
                    found.append(f"session {session_id}: the log's last counts {logged}, the candidates' {now}")
    finally:
        engine.dispose()
    return found
