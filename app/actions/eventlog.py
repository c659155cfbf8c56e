"""The session's event log: the one way a change is recorded and later published.

Every change bumps the session's version and appends one row to `session_event` in the
same transaction; `Database.write` publishes the events only after commit. A client that
missed some replays them with `events_since`.

The version, the event and the changed candidate are written here by Core statements, at
once, rather than left to the ORM's flush at commit: on PostgreSQL the three are one
statement (data-modifying CTEs, as the answer's), where the flush took three round trips
and its unit-of-work bookkeeping. The ORM objects are then marked as written, so the
flush at commit has nothing left of them to write.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, insert, inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import Insert, Update
from sqlmodel import Session, col

from app import views
from app.actions.rules import Rules
from app.db import Tx
from app.models import Candidate, ExamSession, SessionEvent, User, utcnow
from vocabulary import Action, EventName, MessageType

_SESSION: Table = ExamSession.__table__  # type: ignore[attr-defined]
_CANDIDATE: Table = Candidate.__table__  # type: ignore[attr-defined]
_EVENT: Table = SessionEvent.__table__  # type: ignore[attr-defined]
_CANDIDATE_KEYS = tuple(_CANDIDATE.c.keys())
# The two writes of every event, by name (p_session, p_version, p_type, p_candidate,
# p_actor_user, p_actor_name, p_payload, p_now); the answer's path builds on them too.
BUMP_VERSION = update(_SESSION).where(_SESSION.c.id == bindparam("p_session")).values(version=bindparam("p_version"))
EVENT_ROW = insert(_EVENT).values(
    session_id=bindparam("p_session"),
    version=bindparam("p_version"),
    type=bindparam("p_type"),
    candidate_id=bindparam("p_candidate"),
    actor_user_id=bindparam("p_actor_user"),
    actor_name=bindparam("p_actor_name"),
    payload=bindparam("p_payload"),
    at=bindparam("p_now"),
)
_VERSION_AND_EVENT = EVENT_ROW.add_cte(BUMP_VERSION.cte("s"))


@dataclass(frozen=True)
class Actor:
    """Who did it, as the event log and the activity feed name them; None for the system."""

    name: str
    user_id: int | None = None

    @staticmethod
    def of(user: User) -> Actor:
        return Actor(name=f"{user.first_name} {user.last_name}", user_id=user.id)

    @staticmethod
    def candidate(candidate: views.CandidateFields) -> Actor:
        return Actor(name=f"{candidate.first_name} {candidate.last_name}")


def emit_candidate(
    tx: Tx,
    rules: Rules,
    exam_session: ExamSession,
    candidate: Candidate,
    action: Action,
    actor: Actor | None,
    details: dict[str, Any] | None = None,
    *,
    join: int | None = None,
) -> None:
    """A candidate changed: the event carries its whole new view, and `details` what the
    view cannot say (an adjustment's reason, a pause's length). `join`, on the events of a
    join, is its number: sockets of older joins close when they see it."""
    now = utcnow()
    event = _event(exam_session, EventName.CANDIDATE_UPDATED, action, actor, now)
    if candidate.id is None:
        tx.db.flush()  # a new candidate needs its id in the event
    event["candidate"] = rules.view(candidate, now)
    if details:
        event.update(details)
    if join is not None:
        event["join"] = join
    assert exam_session.id is not None
    # The room read under the lock follows its candidates; one it does not know is dropped.
    room = tx.rooms.get(exam_session.id)
    if room is not None and candidate.id in room:
        room[candidate.id] = (candidate.status, candidate.authorized_to_start)
    else:
        tx.rooms.pop(exam_session.id, None)
    _append(tx, exam_session, event, actor, now, candidate.id, _candidate_change(candidate))


def emit_removed(tx: Tx, exam_session: ExamSession, candidate: Candidate, actor: Actor) -> None:
    now = utcnow()
    event = _event(exam_session, EventName.CANDIDATE_REMOVED, Action.REMOVED, actor, now)
    event["candidate"] = {"id": candidate.id, "last_name": candidate.last_name, "first_name": candidate.first_name}
    _append(tx, exam_session, event, actor, now, None)


def emit_supervisors(
    tx: Tx, exam_session: ExamSession, action: Action, actor: Actor | None, *, revoked: int | None = None
) -> None:
    """The supervisors' list changed (someone joined, came online or went away). `revoked`
    names a supervisor whose access the centre took back: their sockets close on it."""
    tx.db.flush()
    assert exam_session.id is not None
    now = utcnow()
    event = _event(exam_session, EventName.SUPERVISORS_UPDATED, action, actor, now)
    event["supervisors"] = views.supervisors(tx.db, exam_session.id)
    if revoked is not None:
        event["revoked"] = revoked
    _append(tx, exam_session, event, actor, now, None)


def emit_room_message(tx: Tx, exam_session: ExamSession, message: dict[str, Any], actor: Actor) -> None:
    """A supervisor's message to the room (`to` null) or to one candidate."""
    now = utcnow()
    event = _event(exam_session, EventName.ROOM_MESSAGE, Action.MESSAGE_SENT, actor, now)
    event["message"] = message
    _append(tx, exam_session, event, actor, now, None)


def emit_session(tx: Tx, exam_session: ExamSession, action: Action, actor: Actor | None) -> None:
    now = utcnow()
    event = _event(exam_session, EventName.SESSION_UPDATED, action, actor, now)
    centre = views.centre_name(tx.db, exam_session.centre_id)
    event["session"] = views.session_view(exam_session, centre, with_codes=False)
    _append(tx, exam_session, event, actor, now, None)


def _event(
    exam_session: ExamSession, name: EventName, action: Action, actor: Actor | None, now: dt.datetime
) -> dict[str, Any]:
    """The envelope, in the key order clients have always received; bumps the version."""
    exam_session.version += 1
    return envelope(exam_session.version, name, action, actor, now)


def envelope(version: int, name: EventName, action: Action, actor: Actor | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "type": MessageType.EVENT,
        "version": version,
        "name": name,
        "action": action,
        "at": views.iso(now),
        "actor": {"name": actor.name} if actor else None,
    }


def payload_text(event: dict[str, Any]) -> str:
    """The event as the log stores it (and replays it): compact UTF-8 JSON."""
    return orjson.dumps(event).decode()


@dataclass(frozen=True, slots=True)
class _Change:
    """The UPDATE of a candidate's changed columns, and with it the statement that writes
    it with the version and the event (PostgreSQL). Built once per set of columns: a
    statement object keeps its cache key and compiled form, so each use only binds values."""

    update: Update
    together: Insert

    @staticmethod
    @functools.cache
    def of(keys: tuple[str, ...]) -> _Change:
        change = (
            update(_CANDIDATE)
            .where(_CANDIDATE.c.id == bindparam("p_candidate"))
            .values({key: bindparam(f"c_{key}") for key in keys})
        )
        return _Change(change, _VERSION_AND_EVENT.add_cte(change.cte("c")))


def _candidate_change(candidate: Candidate) -> tuple[_Change, dict[str, Any]] | None:
    """The candidate's changes not yet written, with their values; the ORM then counts them
    as written. None when nothing changed (or the row does not exist yet: the flush inserts it)."""
    state = inspect(candidate)
    if candidate.id is None or not (state.persistent or state.detached):
        return None
    unchanged = state.unmodified
    keys = tuple(key for key in _CANDIDATE_KEYS if key not in unchanged)
    if not keys:
        return None
    values: dict[str, Any] = {"p_candidate": candidate.id}
    for key in keys:
        values[f"c_{key}"] = value = getattr(candidate, key)
        set_committed_value(candidate, key, value)
    return _Change.of(keys), values


def _append(
    tx: Tx,
    exam_session: ExamSession,
    event: dict[str, Any],
    actor: Actor | None,
    now: dt.datetime,
    candidate_id: int | None,
    change: tuple[_Change, dict[str, Any]] | None = None,
) -> None:
    assert exam_session.id is not None
    # Whatever else the action changed on the session is still the flush's to write.
    tx.db.add(exam_session)
    set_committed_value(exam_session, "version", exam_session.version)
    if event["action"] in views.COUNTED_ACTIONS:
        # The counters as of this version, so that no page has to recount them.
        room = tx.rooms.get(exam_session.id)
        if room is not None and candidate_id is not None:
            event["counts"] = views.counts(room.values())
        else:
            # Read after the candidate's change; a removal or an enrolment changes who is counted.
            tx.rooms.pop(exam_session.id, None)
            if change is not None:
                tx.conn.execute(change[0].update, change[1])
                change = None
            event["counts"] = views.session_counts(tx.db, exam_session.id)
    text = payload_text(event)
    values = {
        "p_session": exam_session.id,
        "p_version": exam_session.version,
        "p_type": event["name"],
        "p_candidate": candidate_id,
        "p_actor_user": actor.user_id if actor else None,
        "p_actor_name": actor.name if actor else None,
        "p_payload": text,
        "p_now": now,
    }
    if tx.conn.dialect.name == "postgresql":
        if change is None:
            tx.conn.execute(_VERSION_AND_EVENT, values)
        else:
            tx.conn.execute(change[0].together, values | change[1])
    else:
        # SQLite has no data-modifying CTEs.
        if change is not None:
            tx.conn.execute(change[0].update, change[1])
        tx.conn.execute(BUMP_VERSION, values)
        tx.conn.execute(EVENT_ROW, values)
    tx.events.append((exam_session.id, text))


def events_since(db: Session, session_id: int, since: int, limit: int) -> list[dict[str, Any]] | None:
    """Events after `since`, in order; None when the client is too far behind to replay."""
    current = db.execute(select(col(ExamSession.version)).where(col(ExamSession.id) == session_id)).scalar()
    if current is None:
        return []
    if current - since > limit:
        return None
    rows = db.execute(
        select(col(SessionEvent.payload))
        .where(col(SessionEvent.session_id) == session_id, col(SessionEvent.version) > since)
        .order_by(col(SessionEvent.version))
    ).scalars()
    return [orjson.loads(p) for p in rows]


def current_version(db: Session, session_id: int) -> int:
    return db.execute(select(col(ExamSession.version)).where(col(ExamSession.id) == session_id)).scalar() or 0
