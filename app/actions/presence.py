"""Connection leases: who is connected, as the database knows it (see app/presence.py for
the loop that renews and sweeps them)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import ColumnElement, select, text, tuple_, update
from sqlmodel import Session, col

from app.actions.eventlog import emit_candidate, emit_supervisors
from app.actions.guards import candidate_of, lock_session
from app.actions.rules import Rules
from app.db import Tx
from app.models import Candidate, SupervisorAccess, utcnow
from vocabulary import Action, Connection, SessionStatus


def candidate_connected(tx: Tx, session_id: int, candidate_id: int, join: int, rules: Rules) -> None:
    exam_session = lock_session(tx, session_id)
    candidate = candidate_of(tx.db, session_id, candidate_id)
    if candidate.join_token != join:
        return  # a browser of an older join shows nothing
    candidate.lease_until = utcnow() + dt.timedelta(seconds=rules.lease_seconds)
    tx.db.add(candidate)
    # A finalised session is frozen: nobody watches it any more.
    if candidate.connection != Connection.CONNECTED and exam_session.status != SessionStatus.FINALIZED:
        candidate.connection = Connection.CONNECTED
        emit_candidate(tx, rules, exam_session, candidate, Action.CONNECTED, None)


def supervisor_online(tx: Tx, session_id: int, user_id: int, rules: Rules) -> None:
    exam_session = lock_session(tx, session_id)
    access = tx.db.execute(
        select(SupervisorAccess).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == user_id
        )
    ).scalar()
    if access is None:
        return
    access.lease_until = utcnow() + dt.timedelta(seconds=rules.lease_seconds)
    tx.db.add(access)
    if not access.online:
        access.online = True
        emit_supervisors(tx, exam_session, Action.SUPERVISOR_ONLINE, None)


# The pairs travel as one parameter (two arrays, or one JSON text on SQLite) so the statement
# text never changes: an IN list of 2,000 pairs was rendered, parsed and compiled anew every
# few seconds, half of an idle process's CPU (BENCHMARKS.md, "deliveries and idle").
_PAIRS = {
    "postgresql": "SELECT * FROM unnest(CAST(:a AS INTEGER[]), CAST(:b AS INTEGER[]))",
    "sqlite": "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs)",
}


def _pairs_in(tx: Tx, first: Any, second: Any, pairs: list[tuple[int, int]]) -> ColumnElement[bool]:
    dialect = tx.db.get_bind().dialect.name
    if dialect == "postgresql":
        values = text(_PAIRS[dialect]).bindparams(a=[p[0] for p in pairs], b=[p[1] for p in pairs])
    else:
        values = text(_PAIRS["sqlite"]).bindparams(pairs=json.dumps(pairs))
    return tuple_(first, second).in_(values)


def renew_leases(
    tx: Tx, candidates: list[tuple[int, int]], supervisors: list[tuple[int, int]], seconds: int
) -> None:
    """One statement per kind for all of this process's live sockets: no event, no lock.
    A candidate's lease is renewed only by sockets of its newest join, (id, join) pairs:
    a stale browser cannot keep a candidate shown as connected."""
    until = utcnow() + dt.timedelta(seconds=seconds)
    quiet = {"synchronize_session": False}
    if candidates:
        current = _pairs_in(tx, col(Candidate.id), col(Candidate.join_token), candidates)
        tx.db.execute(update(Candidate).where(current).values(lease_until=until).execution_options(**quiet))
    if supervisors:
        pair = _pairs_in(tx, col(SupervisorAccess.session_id), col(SupervisorAccess.user_id), supervisors)
        tx.db.execute(update(SupervisorAccess).where(pair).values(lease_until=until).execution_options(**quiet))


def expired_sessions(db: Session) -> list[int]:
    now = utcnow()
    candidates = db.execute(
        select(col(Candidate.session_id))
        .where(col(Candidate.connection) == Connection.CONNECTED, col(Candidate.lease_until) < now)
        .distinct()
    ).scalars()
    supervisors = db.execute(
        select(col(SupervisorAccess.session_id))
        .where(col(SupervisorAccess.online) == True, col(SupervisorAccess.lease_until) < now)  # noqa: E712
        .distinct()
    ).scalars()
    return sorted(set(candidates) | set(supervisors))


def expire_leases(tx: Tx, session_id: int, rules: Rules) -> None:
    """Whoever's lease ran out is shown as gone: works even when the process holding the
    socket died without a word, since any process may sweep."""
    exam_session = lock_session(tx, session_id)
    now = utcnow()
    lost = tx.db.execute(
        select(Candidate).where(
            col(Candidate.session_id) == session_id,
            col(Candidate.connection) == Connection.CONNECTED,
            col(Candidate.lease_until) < now,
        )
    ).scalars()
    for candidate in lost:
        candidate.connection = Connection.LOST
        tx.db.add(candidate)
        emit_candidate(tx, rules, exam_session, candidate, Action.CONNECTION_LOST, None)
    gone = list(
        tx.db.execute(
            select(SupervisorAccess).where(
                col(SupervisorAccess.session_id) == session_id,
                col(SupervisorAccess.online) == True,  # noqa: E712
                col(SupervisorAccess.lease_until) < now,
            )
        ).scalars()
    )
    for access in gone:
        access.online = False
        tx.db.add(access)
    if gone:
        emit_supervisors(tx, exam_session, Action.SUPERVISOR_OFFLINE, None)
