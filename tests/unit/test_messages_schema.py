"""The websocket messages' JSON Schema: valid, in the shared vocabulary, and strict enough
that a malformed event is caught (which is what makes the suites' check worth having)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import vocabulary
from app.openapi import messages_schema
from tests import contract

SCHEMA = messages_schema()
DEFS = SCHEMA["$defs"]

CANDIDATE: dict[str, Any] = {
    "id": 3,
    "last_name": "DUPONT",
    "first_name": "Paul",
    "birthdate": "1997-05-21",
    "extra_time_percentage": 0,
    "authorized_to_start": True,
    "status": "in_progress",
    "connection": "connected",
    "resume_requested": False,
    "resume_authorized": False,
    "resume_while_connected": False,
    "started_at": "2021-12-28T10:05:00Z",
    "ended_at": None,
    "theoretical_end_at": "2021-12-28T11:50:00Z",
    "overtime": False,
    "paused": False,
    "paused_since": None,
    "pause_message": None,
    "time_adjustment_minutes": 0,
    "progress": {"answered": 2, "total": 16},
}
COUNTS = {"enrolled": 4, "present": 2, "in_progress": 1, "finished": 0}
SESSION = {
    "id": 668,
    "centre": "Centre de Testix",
    "address": "Centre de Testix",
    "room": "Salle 3",
    "examiner": "Surveillant Test",
    "date": "2021-12-28",
    "time": "11:00",
    "status": "created",
}
EVENT: dict[str, Any] = {
    "type": "event",
    "version": 12,
    "name": "candidate.updated",
    "action": "started",
    "at": "2021-12-28T10:07:00Z",
    "actor": {"name": "Paul DUPONT"},
    "candidate": CANDIDATE,
    "counts": COUNTS,
}

# An event after which the counters cannot have changed carries none.
UNCOUNTED = {k: v for k, v in EVENT.items() if k != "counts"}


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(
    ("definition", "enum"),
    [
        ("candidate_status", vocabulary.CandidateStatus),
        ("session_status", vocabulary.SessionStatus),
        ("connection", vocabulary.Connection),
        ("event_name", vocabulary.EventName),
        ("action", vocabulary.Action),
        ("message_type", vocabulary.MessageType),
    ],
)
def test_its_words_are_the_vocabulary(definition: str, enum: type[vocabulary.StrEnum]) -> None:
    assert DEFS[definition]["enum"] == [m.value for m in enum]


def test_each_event_name_has_its_shape_and_each_action_one_name() -> None:
    variants = DEFS["event"]["oneOf"]
    names = [v["properties"]["name"]["const"] for v in variants]
    assert sorted(names) == sorted(vocabulary.EventName)
    actions: list[str] = []
    for v in variants:
        action = v["properties"]["action"]
        actions += action.get("enum", [action.get("const")])
    assert sorted(actions) == sorted(vocabulary.Action)


def test_events_carry_the_counters_exactly_after_the_actions_that_can_change_them() -> None:
    from app.views import COUNTED_ACTIONS

    assert sorted(DEFS["counted_action"]["enum"]) == sorted(COUNTED_ACTIONS)
    answered = {k: v for k, v in EVENT.items() if k != "counts"} | {"action": "answered"}
    assert contract.problem(answered, "event") is None
    assert contract.problem(answered | {"action": "started"}, "event") is not None  # counts missing
    assert contract.problem(EVENT | {"action": "answered"}, "event") is not None  # counts where none belong


@pytest.mark.parametrize(
    ("message", "definition"),
    [
        (EVENT, "event"),
        (EVENT, "server_message"),
        (
            {
                "type": "event",
                "version": 13,
                "name": "candidate.removed",
                "action": "removed",
                "at": "2021-12-28T10:07:00Z",
                "actor": {"name": "Alice Martin"},
                "candidate": {"id": 3, "last_name": "DUPONT", "first_name": "Paul"},
                "counts": COUNTS,
            },
            "event",
        ),
        (
            {
                "type": "event",
                "version": 14,
                "name": "session.updated",
                "action": "finalized",
                "at": "2021-12-28T12:00:00Z",
                "actor": {"name": "Alice Martin"},
                "session": SESSION | {"status": "finalized"},
            },
            "event",
        ),
        (
            {
                "type": "event",
                "version": 15,
                "name": "supervisors.updated",
                "action": "supervisor_offline",
                "at": "2021-12-28T12:00:00Z",
                "actor": None,
                "supervisors": [{"id": 1, "name": "Marie Curie", "online": False}],
            },
            "event",
        ),
        (
            {
                "type": "snapshot",
                "version": 12,
                "session": SESSION | {"access_code": "C-X4P7R"},
                "supervisors": [],
                "counts": COUNTS,
                "candidates": [CANDIDATE],
                "recent_events": [EVENT],
            },
            "server_message",
        ),
        (
            UNCOUNTED
            | {
                "action": "time_adjusted",
                "candidate": CANDIDATE | {"time_adjustment_minutes": 15},
                "adjustment": {"minutes": 15, "reason": "Panne", "total": 15},
            },
            "event",
        ),
        (
            UNCOUNTED
            | {
                "action": "paused",
                "candidate": CANDIDATE
                | {"paused": True, "paused_since": "2021-12-28T10:30:00Z", "pause_message": "Alarme"},
            },
            "event",
        ),
        (
            {
                "type": "event",
                "version": 16,
                "name": "room.message",
                "action": "message_sent",
                "at": "2021-12-28T11:40:00Z",
                "actor": {"name": "Marie Curie"},
                "message": {"text": "Il reste 10 minutes", "to": None},
            },
            "event",
        ),
        (
            {
                "type": "message",
                "message": {"text": "Merci", "to": {"id": 3, "last_name": "DUPONT", "first_name": "Paul"}},
                "actor": {"name": "Marie Curie"},
                "at": "2021-12-28T11:40:00Z",
                "version": 16,
            },
            "server_message",
        ),
        ({"type": "heartbeat", "version": 12}, "server_message"),
        ({"type": "candidate", "candidate": CANDIDATE, "version": 12}, "server_message"),
        (
            {
                "type": "candidate",
                "candidate": CANDIDATE,
                "version": 16,
                "session_status": "created",
                "messages": [
                    {
                        "type": "message",
                        "message": {"text": "Il reste 10 minutes", "to": None},
                        "actor": {"name": "Marie Curie"},
                        "at": "2021-12-28T11:40:00Z",
                        "version": 16,
                    }
                ],
            },
            "server_message",
        ),
        ({"type": "candidate", "candidate": None, "version": 0, "session_status": "finalized"}, "server_message"),
        ({"type": "error", "error": {"code": "INVALID_MESSAGE", "message": "Message incompris."}}, "server_message"),
        ({"type": "resync", "since": 10}, "client_message"),
        ({"type": "heartbeat"}, "client_message"),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{v.get('type')}:{v.get('name', '')}",
)
def test_every_kind_of_message_is_described(message: dict[str, Any], definition: str) -> None:
    assert contract.problem(message, definition) is None


def _broken(change: str) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    if change == "no counts":
        del event["counts"]
    elif change == "unknown status":
        event["candidate"]["status"] = "en_cours"
    elif change == "action of another name":
        event["action"] = "finalized"
    elif change == "unknown field":
        event["candidate"]["password"] = "secret"
    elif change == "version as text":
        event["version"] = "12"
    elif change == "local time":
        event["at"] = "2021-12-28 11:07"
    elif change == "session in a candidate event":
        event["session"] = SESSION
    elif change == "codes in a session event":
        event.update(name="session.updated", action="finalized", session=SESSION | {"access_code": "C-X4P7R"})
        del event["candidate"]
    return event


@pytest.mark.parametrize(
    "change",
    [
        "no counts",
        "unknown status",
        "action of another name",
        "unknown field",
        "version as text",
        "local time",
        "session in a candidate event",
        "codes in a session event",
    ],
)
def test_a_malformed_event_is_caught(change: str) -> None:
    assert contract.problem(_broken(change), "event") is not None
    assert contract.problem(_broken(change), "server_message") is not None


@pytest.mark.parametrize(
    "message",
    [
        {"type": "resync", "since": "hier"},
        {"type": "resync"},
        {"type": "heartbeat", "version": -1},
        {"type": "bonjour"},
    ],
)
def test_malformed_client_messages_are_caught(message: dict[str, Any]) -> None:
    assert contract.problem(message, "client_message") is not None
