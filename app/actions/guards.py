"""Who may touch what, checked under the session's lock: the named refusals in one place.

Every action that changes a session first locks it (`lock_session`), then checks its
guards against the latest state: a check read before the lock would miss a finalisation
committed while the action waited for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Boolean, CompoundSelect, Integer, Select, String, and_, bindparam, literal, select, union_all
from sqlmodel import Session, col

from app import codes
from app.actions.eventlog import Actor
from app.actions.rules import Rules
from app.db import Tx
from app.errors import (
    CandidateNotInSession,
    DomainError,
    NoSupervisorAccess,
    NotAMember,
    NotAuthenticated,
    NotJoined,
    OpenedElsewhere,
    SessionFinalized,
    SessionNotFound,
    SupervisionOver,
    TestEndedByExpiry,
    TestEndedByFinalization,
    TestEndedBySupervisor,
)
from app.models import Candidate, Centre, ExamSession, Membership, SupervisorAccess, User
from app.security import CandidateClaim, claim_proves_join
from app.views import CandidateFields
from vocabulary import CandidateStatus, SessionStatus


def lock_session(tx: Tx, session_id: int) -> ExamSession:
    # Row lock on PostgreSQL; on SQLite the transaction already holds the write lock.
    exam_session: ExamSession | None = tx.db.execute(
        select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()
    ).scalar()
    if exam_session is None:
        raise SessionNotFound()
    return exam_session


def require_open(exam_session: ExamSession, refusal: type[SessionFinalized] = SessionFinalized) -> None:
    if exam_session.status == SessionStatus.FINALIZED:
        raise refusal()


def is_member(db: Session, centre_id: int, user_id: int) -> bool:
    found = db.execute(
        select(col(Membership.id)).where(col(Membership.centre_id) == centre_id, col(Membership.user_id) == user_id)
    ).first()
    return found is not None


def is_supervisor(db: Session, session_id: int, user_id: int) -> bool:
    """Whether this account entered the session with its password (and was not removed since)."""
    found = db.execute(
        select(col(SupervisorAccess.id)).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == user_id
        )
    ).first()
    return found is not None


def require_member(db: Session, centre_id: int, user_id: int) -> None:
    if not is_member(db, centre_id, user_id):
        raise NotAMember()


def require_centre_member(db: Session, centre_id: int, user_id: int) -> None:
    """An unknown centre is answered like someone else's: there is nothing to enumerate."""
    if db.get(Centre, centre_id) is None:
        raise NotAMember()
    require_member(db, centre_id, user_id)


def member_session(db: Session, session_id: int, user_id: int) -> ExamSession:
    exam_session = db.get(ExamSession, session_id)
    if exam_session is None:
        raise SessionNotFound()
    require_member(db, exam_session.centre_id, user_id)
    return exam_session


def candidate_of(db: Session, session_id: int, candidate_id: int) -> Candidate:
    candidate = db.get(Candidate, candidate_id)
    # Another session's candidate is answered exactly like an unknown one.
    if candidate is None or candidate.session_id != session_id:
        raise CandidateNotInSession()
    return candidate


def require_supervisor(db: Session, session_id: int, user_id: int) -> ExamSession:
    exam_session = db.get(ExamSession, session_id)
    if exam_session is None or not is_supervisor(db, session_id, user_id):
        raise NoSupervisorAccess()
    if exam_session.status == SessionStatus.FINALIZED:
        raise SupervisionOver()
    return exam_session


# The common case of a supervisor acting on one candidate, in two statements instead of
# four round trips. The first locks the session and the candidate, in that order, as the
# answer does. The access is read by the second, after the lock: read in the first, it
# would come from before the wait and miss an access removed meanwhile; locked in the
# first, it would deadlock with the lease renewal, which updates candidates and then
# accesses without the session's lock.
_SESSION_AND_CANDIDATE = (
    select(ExamSession, Candidate)
    .join(
        Candidate,
        and_(col(Candidate.id) == bindparam("p_candidate"), col(Candidate.session_id) == col(ExamSession.id)),
    )
    .where(col(ExamSession.id) == bindparam("p_session"))
    .with_for_update(of=[ExamSession.__table__, Candidate.__table__])  # type: ignore[attr-defined]
)
# The actor's name, when this user still holds an access to the session.
_ACTOR: Select[*tuple[Any, ...]] = select(
    col(User.first_name).label("first_name"),
    col(User.last_name).label("last_name"),
    literal(None, Integer).label("id"),
    literal(None, String).label("status"),
    literal(None, Boolean).label("authorized"),
).join(SupervisorAccess, col(SupervisorAccess.user_id) == col(User.id)).where(
    col(SupervisorAccess.session_id) == bindparam("p_session"), col(User.id) == bindparam("p_user")
)
# The same with every candidate's (status, authorized), for the counters of the event, in
# one round trip: the actor's row is the one without a candidate id.
_ACTOR_AND_ROOM: CompoundSelect[Any] = union_all(
    _ACTOR,
    select(
        literal(None, String),
        literal(None, String),
        col(Candidate.id),
        col(Candidate.status),
        col(Candidate.authorized_to_start),
    ).where(col(Candidate.session_id) == bindparam("p_session")),
)


def supervising(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, *, counted: bool = False
) -> tuple[ExamSession, Candidate, Actor] | None:
    """The session, the candidate and the actor when this supervisor may act on this
    candidate of this session, locked; None when anything is missing, for the caller's own
    checks to name the refusal. `counted`: the action changes the counters (presence, end),
    so the session's candidates are read too and left in `tx.rooms`; without them the
    event log counts by a query of its own."""
    params = {"p_session": session_id, "p_candidate": candidate_id, "p_user": user_id}
    locked = tx.db.execute(_SESSION_AND_CANDIDATE, params).first()
    if locked is None:
        return None
    rows = tx.conn.execute(_ACTOR_AND_ROOM if counted else _ACTOR, params).all()
    actor = next((row for row in rows if row.id is None), None)
    if actor is None:
        return None
    exam_session, candidate = locked
    if exam_session.status == SessionStatus.FINALIZED:
        raise SupervisionOver()
    if counted:
        tx.rooms[session_id] = {row.id: (row.status, row.authorized) for row in rows if row.id is not None}
    return exam_session, candidate, Actor(name=f"{actor.first_name} {actor.last_name}", user_id=user_id)


def supervised(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, *, counted: bool = False
) -> tuple[ExamSession, Candidate, Actor]:
    """A supervisor acting on one candidate: the session locked, access checked, the actor named."""
    found = supervising(tx, session_id, candidate_id, user_id, counted=counted)
    if found is not None:
        return found
    # Lock, then check. An unknown session locks nothing and is refused by the check.
    tx.db.execute(select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()).scalar()
    exam_session = require_supervisor(tx.db, session_id, user_id)
    candidate = candidate_of(tx.db, session_id, candidate_id)
    return exam_session, candidate, Actor.of(user_of(tx.db, user_id))


def user_of(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotAuthenticated()
    return user


def enter_code(
    tx: Tx,
    rules: Rules,
    session_id: int,
    key: str,
    typed: str,
    expected: Callable[[ExamSession], str],
    refusal: type[DomainError],
) -> ExamSession:
    """A session number and a code typed by a person, under the rate limit. The failure is
    counted under the session's lock so simultaneous guesses take turns, and an unknown
    session gets the same answer as a wrong code: there is nothing to enumerate."""
    exam_session: ExamSession | None = tx.db.execute(
        select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()
    ).scalar()
    rules.limiter.check(tx.db, key)
    if exam_session is None or not codes.same(typed, expected(exam_session)):
        rules.limiter.fail(tx.db, key)
        raise refusal()
    return exam_session


def claimed(db: Session, claim: CandidateClaim | None) -> Candidate:
    """The candidate holding this cookie, if it is still the newest join."""
    candidate = db.get(Candidate, claim.candidate_id) if claim else None
    if claim is None or candidate is None or candidate.session_id != claim.session_id:
        raise NotJoined()
    if not claim_proves_join(claim, candidate.join_token, candidate.join_secret):
        raise OpenedElsewhere()
    return candidate


def refuse_if_over(candidate: CandidateFields, session_status: str) -> None:
    """The test is over for the candidate's own pages: whoever ended it, they are told."""
    if candidate.status == CandidateStatus.ENDED_BY_SUPERVISOR:
        raise TestEndedBySupervisor()
    if candidate.status == CandidateStatus.ENDED_BY_EXPIRY:
        raise TestEndedByExpiry()
    if candidate.status == CandidateStatus.ENDED_BY_FINALIZATION or session_status == SessionStatus.FINALIZED:
        raise TestEndedByFinalization()


def locked_candidate(tx: Tx, claim: CandidateClaim | None) -> tuple[ExamSession, Candidate]:
    """The candidate holding this cookie, read under its session's lock, with a test still open."""
    if claim is None:
        raise NotJoined()
    exam_session = lock_session(tx, claim.session_id)
    candidate = claimed(tx.db, claim)
    refuse_if_over(candidate, exam_session.status)
    return exam_session, candidate
