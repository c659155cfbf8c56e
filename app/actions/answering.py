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

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Row

from app.actions.eventlog import BUMP_VERSION, EVENT_ROW, Actor, envelope, payload_text
from app.actions.guards import locked_candidate, refuse_if_over
from app.actions.rules import Rules
from app.db import Tx
from app.errors import NotJoined, OpenedElsewhere
from app.models import Answer, Candidate, ExamSession
from app.security import CandidateClaim, claim_proves_join
from app.views import COUNTED_ACTIONS, session_counts
from vocabulary import Action, EventName

_CANDIDATE: Table = Candidate.__table__  # type: ignore[attr-defined]
_SESSION: Table = ExamSession.__table__  # type: ignore[attr-defined]
_ANSWER: Table = Answer.__table__  # type: ignore[attr-defined]


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

# Built once: a statement object keeps its compiled form and cache key, so each answer
# only binds values (building them per answer cost more than running them).
_READ = (
    select(_SESSION.c.status, _SESSION.c.version, *_COLUMNS)
    .join_from(_SESSION, _CANDIDATE, _CANDIDATE.c.session_id == _SESSION.c.id)
    .where(_SESSION.c.id == bindparam("p_session"), _CANDIDATE.c.id == bindparam("p_candidate"))
    # Both rows: after waiting for the session's lock PostgreSQL re-reads the rows it
    # locks, and only those; an unlocked candidate would be the one seen before the wait,
    # missing the answer just committed. Every change of a session locks its row first, so
    # the candidate's lock is never waited for in reverse.
    .with_for_update()
)
_ANSWER_ROW = insert(_ANSWER).values(
    candidate_id=bindparam("p_candidate"),
    question_id=bindparam("p_question"),
    answer=bindparam("p_choice"),
    correct=bindparam("p_correct"),
    answered_at=bindparam("p_now"),
)
_ANSWERED = (
    update(_CANDIDATE).where(_CANDIDATE.c.id == bindparam("p_candidate")).values(answered=bindparam("p_answered"))
)
# The last answer ends the test: a pending resume request or authorisation means nothing then.
_FINISHED = _ANSWERED.values(
    status=bindparam("p_status"), ended_at=bindparam("p_now"), resume_requested=False, resume_authorized=False
)
# PostgreSQL: the four writes in one statement, one round trip.
_ALL_WRITES = EVENT_ROW.add_cte(_ANSWER_ROW.cte("a"), _ANSWERED.cte("c"), BUMP_VERSION.cte("s"))


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
        row = tx.conn.execute(_READ, {"p_session": claim.session_id, "p_candidate": claim.candidate_id}).first()
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
    action: Action,
    now: dt.datetime,
) -> dict[str, Any]:
    """Writes the answer already applied to `locked.candidate` (its count, and its status
    and end when it was the last), bumps the version and appends the event; returns the
    candidate's new view (the event's)."""
    candidate = locked.candidate
    version = locked.version + 1
    actor = Actor.candidate(candidate)
    view = rules.view(candidate, now)
    event = envelope(version, EventName.CANDIDATE_UPDATED, action, actor, now)
    event["candidate"] = view
    values: dict[str, Any] = {
        "p_session": locked.session_id,
        "p_candidate": candidate.id,
        "p_question": question_id,
        "p_choice": choice,
        "p_correct": correct,
        "p_now": now,
        "p_answered": candidate.answered,
        "p_status": candidate.status,
        "p_version": version,
        "p_type": EventName.CANDIDATE_UPDATED,
        "p_actor_user": actor.user_id,
        "p_actor_name": actor.name,
    }
    finished = action == Action.FINISHED
    if finished or tx.conn.dialect.name != "postgresql":
        # The counters are read after the candidate's change; SQLite has no DML in CTEs.
        tx.conn.execute(_ANSWER_ROW, values)
        tx.conn.execute(_FINISHED if finished else _ANSWERED, values)
        tx.conn.execute(BUMP_VERSION, values)
        if action in COUNTED_ACTIONS:
            event["counts"] = session_counts(tx.db, locked.session_id)
        values["p_payload"] = text = payload_text(event)
        tx.conn.execute(EVENT_ROW, values)
    else:
        values["p_payload"] = text = payload_text(event)
        tx.conn.execute(_ALL_WRITES, values)
    tx.events.append((locked.session_id, text))
    return view
