"""The answer's transaction in Core statements: the hot path of an exam day.

The ORM version of this transaction (lock, load, two flushes) cost about a millisecond of
interpreter time per answer in object loading and unit-of-work bookkeeping. Here one
statement locks the session row and reads the candidate, and one more (PostgreSQL: a
statement with data-modifying CTEs) records the answer, updates the candidate, bumps the
session's version and appends the event. The rules are those of `candidate_test.answer`:
same checks, same order, same refusals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from app.actions.eventlog import Actor, envelope, payload_text
from app.actions.guards import locked_candidate, refuse_if_over
from app.actions.rules import Rules
from app.db import Tx
from app.errors import NotJoined, OpenedElsewhere
from app.models import Answer, Candidate, ExamSession, SessionEvent
from app.security import CandidateClaim, claim_proves_join
from app.views import COUNTED_ACTIONS, session_counts
from vocabulary import Action, EventName

_CANDIDATE: Table = Candidate.__table__  # type: ignore[attr-defined]
_SESSION: Table = ExamSession.__table__  # type: ignore[attr-defined]
_ANSWER: Table = Answer.__table__  # type: ignore[attr-defined]
_EVENT: Table = SessionEvent.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class CandidateState:
    """The candidate's row as the answer path reads it: a plain copy, not an ORM object
    (it satisfies `views.CandidateFields`, so views are built from it the same way)."""

    id: int
    session_id: int
    last_name: str
    first_name: str
    birthdate: dt.date
    extra_time_percentage: int
    authorized_to_start: bool
    status: str
    connection: str
    resume_requested: bool
    resume_authorized: bool
    join_token: int
    join_secret: str | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    question_ids: str
    answered: int
    paused_since: dt.datetime | None
    paused_seconds: int
    pause_message: str | None
    time_adjustment_minutes: int
    pending_alert: str | None
    reports_count: int


_COLUMNS = [_CANDIDATE.c[f.name] for f in fields(CandidateState)]


@dataclass(frozen=True, slots=True)
class Locked:
    session_id: int
    session_status: str
    version: int
    candidate: CandidateState


def lock_and_read(tx: Tx, claim: CandidateClaim | None) -> Locked:
    """The session locked and the claim's candidate read, in one statement. Anything but
    the common case (no claim, unknown session or candidate, a superseded join) is handed to
    `locked_candidate`, which names the refusal."""
    row: Row[Any] | None = None
    if claim is not None:
        row = tx.conn.execute(
            select(_SESSION.c.status, _SESSION.c.version, *_COLUMNS)
            .join_from(_SESSION, _CANDIDATE, _CANDIDATE.c.session_id == _SESSION.c.id)
            .where(_SESSION.c.id == claim.session_id, _CANDIDATE.c.id == claim.candidate_id)
            # Both rows: after waiting for the session's lock PostgreSQL re-reads the rows
            # it locks, and only those; an unlocked candidate would be the one seen before
            # the wait, missing the answer just committed. Every change of a session
            # locks its row first, so the candidate's lock is never waited for in reverse.
            .with_for_update()
        ).first()
    if row is None or claim is None:
        locked_candidate(tx, claim)  # raises the refusal that applies
        raise NotJoined()
    session_status, version, *columns = tuple(row)
    candidate = CandidateState(*columns)
    if not claim_proves_join(claim, candidate.join_token, candidate.join_secret):
        raise OpenedElsewhere()
    refuse_if_over(candidate, session_status)
    return Locked(claim.session_id, session_status, version, candidate)


def record(
    tx: Tx,
    rules: Rules,
    locked: Locked,
    question_id: str,
    choice: int,
    correct: bool,
    ended: bool,
    action: Action,
    now: dt.datetime,
) -> dict[str, Any]:
    """Writes the answer already applied to `locked.candidate`, bumps the version and
    appends the event; returns the candidate's new view (the event's)."""
    candidate = locked.candidate
    version = locked.version + 1
    actor = Actor.candidate(candidate)
    view = rules.view(candidate, now)
    event = envelope(version, EventName.CANDIDATE_UPDATED, action, actor, now)
    event["candidate"] = view
    answer_row = insert(_ANSWER).values(
        candidate_id=candidate.id, question_id=question_id, answer=choice, correct=correct, answered_at=now
    )
    changes: dict[str, Any] = {"answered": candidate.answered}
    if ended:
        changes |= {
            "status": candidate.status,
            "ended_at": candidate.ended_at,
            "resume_requested": False,
            "resume_authorized": False,
        }
    candidate_row = update(_CANDIDATE).where(_CANDIDATE.c.id == candidate.id).values(changes)
    session_row = update(_SESSION).where(_SESSION.c.id == locked.session_id).values(version=version)
    counted = action in COUNTED_ACTIONS
    postgres = tx.conn.dialect.name == "postgresql"
    if counted or not postgres:
        # Counters are read after the candidate's change; SQLite has no DML in CTEs.
        for statement in (answer_row, candidate_row, session_row):
            tx.conn.execute(statement)
        if counted:
            event["counts"] = session_counts(tx.db, locked.session_id)
        tx.conn.execute(_event_row(locked.session_id, version, candidate.id, actor, event, now))
    else:
        tx.conn.execute(
            _event_row(locked.session_id, version, candidate.id, actor, event, now).add_cte(
                answer_row.cte("a"), candidate_row.cte("c"), session_row.cte("s")
            )
        )
    tx.events.append((locked.session_id, event))
    return view


def _event_row(
    session_id: int, version: int, candidate_id: int, actor: Actor, event: dict[str, Any], now: dt.datetime
) -> Any:
    values: dict[str, ColumnElement[Any] | Any] = {
        "session_id": session_id,
        "version": version,
        "type": EventName.CANDIDATE_UPDATED,
        "candidate_id": candidate_id,
        "actor_user_id": actor.user_id,
        "actor_name": actor.name,
        "payload": payload_text(event),
        "at": now,
    }
    return insert(_EVENT).values(values)
