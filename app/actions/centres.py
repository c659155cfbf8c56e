"""Centre staff: centres, planned sessions, enrolment (one or a whole file), removal,
finalisation, and what their pages read (the sessions, one session, the supervisor kit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, text
from sqlmodel import Session, col

from app import codes, views
from app.actions import accounts, transitions
from app.actions.endings import end_running
from app.actions.eventlog import Actor, emit_candidate, emit_removed, emit_session
from app.actions.guards import (
    candidate_of,
    lock_session,
    member_session,
    require_centre_member,
    require_member,
    require_open,
    user_of,
)
from app.actions.rules import Rules
from app.actions.transitions import Command
from app.db import Tx
from app.errors import CandidateAlreadyEnrolled, DomainError, InvalidCsv, NoAccessCodeLeft, UserNotFound
from app.i18n import gettext
from app.kit import KitInfo
from app.models import Candidate, Centre, ExamSession, Membership, User, utcnow
from app.pdf import Heading
from vocabulary import Action, SessionStatus


@dataclass(frozen=True)
class Enrolment:
    last_name: str
    first_name: str
    birthdate: dt.date
    extra_time_percentage: int = 0


@dataclass(frozen=True)
class SessionPlan:
    address: str
    room: str
    examiner: str
    date: dt.date
    time: str


def create_centre(tx: Tx, name: str, admin_email: str) -> Centre:
    user = tx.db.execute(select(User).where(col(User.email) == admin_email.strip().lower())).scalar()
    if user is None:
        raise UserNotFound(admin_email)
    centre = Centre(name=name)
    tx.db.add(centre)
    tx.db.flush()
    assert centre.id is not None and user.id is not None
    tx.db.add(Membership(centre_id=centre.id, user_id=user.id))
    return centre


def session_json(db: Session, exam_session: ExamSession) -> dict[str, Any]:
    """A session as centre staff see it, codes included."""
    return views.session_view(exam_session, views.centre_name(db, exam_session.centre_id), with_codes=True)


def listing(db: Session, user_id: int) -> list[dict[str, Any]]:
    """The centre page: each centre the user is a member of, with its sessions."""
    _, member_of = accounts.whoami(db, user_id)
    return [{"centre": c, "sessions": list_sessions(db, int(c.id or 0), user_id)} for c in member_of]


def list_sessions(db: Session, centre_id: int, user_id: int) -> list[dict[str, Any]]:
    require_centre_member(db, centre_id, user_id)
    rows = db.execute(
        select(ExamSession)
        .where(col(ExamSession.centre_id) == centre_id)
        .order_by(col(ExamSession.date).desc(), col(ExamSession.id).desc())
    ).scalars()
    return [session_json(db, exam_session) for exam_session in rows]


def session_detail(db: Session, session_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    exam_session = member_session(db, session_id, user_id)
    candidates = views.candidates_in(db, session_id)
    return {
        "session": session_json(db, exam_session),
        "candidates": [rules.view(c) for c in candidates],
        "reports": views.session_reports(db, session_id),
        "comment": exam_session.finalization_comment,
    }


def kit_info(db: Session, session_id: int, user_id: int) -> KitInfo:
    """What the supervisor kit prints, for the centre's members."""
    return kit_of(db, member_session(db, session_id, user_id))


def heading_of(db: Session, exam_session: ExamSession) -> Heading:
    """The session as its printed papers (kit, procès-verbal) name it."""
    assert exam_session.id is not None
    return Heading(
        session_id=exam_session.id,
        date=exam_session.date,
        time=exam_session.time,
        centre=views.centre_name(db, exam_session.centre_id),
        address=exam_session.address,
        room=exam_session.room,
        examiner=exam_session.examiner,
    )


def kit_of(db: Session, exam_session: ExamSession) -> KitInfo:
    """The session, its codes and how many are enrolled (the caller checked who asks)."""
    count = len(list(db.execute(select(col(Candidate.id)).where(col(Candidate.session_id) == exam_session.id))))
    return KitInfo(
        **vars(heading_of(db, exam_session)),
        supervisor_password=exam_session.supervisor_password,
        access_code=exam_session.access_code,
        candidate_count=count,
    )


def _unique_access_code(db: Session) -> str:
    for _ in range(50):
        code = codes.new_access_code()
        taken = db.execute(
            select(col(ExamSession.id)).where(
                col(ExamSession.access_code) == code, col(ExamSession.status) != SessionStatus.FINALIZED
            )
        ).first()
        if taken is None:
            return code
    raise NoAccessCodeLeft()


def create_session(tx: Tx, centre_id: int, user_id: int, plan: SessionPlan, number: int | None = None) -> ExamSession:
    """`number` asks for a given session number (the demo's 668); the caller checks it is free."""
    require_centre_member(tx.db, centre_id, user_id)
    exam_session = ExamSession(
        id=number,
        centre_id=centre_id,
        address=plan.address,
        room=plan.room,
        examiner=plan.examiner,
        date=plan.date,
        time=plan.time,
        access_code=_unique_access_code(tx.db),
        supervisor_password=codes.new_supervisor_password(),
    )
    tx.db.add(exam_session)
    tx.db.flush()
    if number is not None and tx.db.get_bind().dialect.name == "postgresql":
        # An explicit id does not move PostgreSQL's sequence: move it past ours.
        tx.db.execute(
            text("SELECT setval(pg_get_serial_sequence('exam_session', 'id'), (SELECT max(id) FROM exam_session))")
        )
    return exam_session


def plan_session(tx: Tx, centre_id: int, user_id: int, plan: SessionPlan) -> dict[str, Any]:
    return session_json(tx.db, create_session(tx, centre_id, user_id, plan))


def enrol_into(tx: Tx, exam_session: ExamSession, e: Enrolment, rules: Rules, actor: Actor) -> Candidate:
    assert exam_session.id is not None
    key = codes.identity_key(e.last_name, e.first_name)
    exists = tx.db.execute(
        select(col(Candidate.id)).where(
            col(Candidate.session_id) == exam_session.id,
            col(Candidate.identity_key) == key,
            col(Candidate.birthdate) == e.birthdate,
        )
    ).first()
    if exists:
        raise CandidateAlreadyEnrolled(e.first_name, e.last_name, e.birthdate)
    candidate = Candidate(session_id=exam_session.id, identity_key=key, **asdict(e))
    tx.db.add(candidate)
    emit_candidate(tx, rules, exam_session, candidate, Action.ENROLLED, actor)
    return candidate


def _staff_on_open_session(tx: Tx, session_id: int, user_id: int) -> tuple[ExamSession, Actor]:
    exam_session = lock_session(tx, session_id)
    require_member(tx.db, exam_session.centre_id, user_id)
    require_open(exam_session)
    return exam_session, Actor.of(user_of(tx.db, user_id))


def enrol(tx: Tx, session_id: int, user_id: int, e: Enrolment, rules: Rules) -> dict[str, Any]:
    exam_session, actor = _staff_on_open_session(tx, session_id, user_id)
    return rules.view(enrol_into(tx, exam_session, e, rules, actor))


def enrol_many(tx: Tx, session_id: int, user_id: int, rows: list[tuple[int, Enrolment]], rules: Rules) -> int:
    """All or nothing: one bad row (duplicate included) and no candidate is imported."""
    exam_session, actor = _staff_on_open_session(tx, session_id, user_id)
    seen: dict[tuple[str, dt.date], int] = {}
    problems: list[dict[str, Any]] = []
    for line, e in rows:
        key = (codes.identity_key(e.last_name, e.first_name), e.birthdate)
        if key in seen:
            problems.append(
                {"line": line, "field": "nom", "message": gettext("doublon de la ligne %(line)s") % {"line": seen[key]}}
            )
        seen[key] = line
    if problems:
        raise InvalidCsv(problems)
    for line, e in rows:
        try:
            enrol_into(tx, exam_session, e, rules, actor)
        except DomainError as refusal:
            problems.append({"line": line, "field": "nom", "message": refusal.text})
    if problems:
        raise InvalidCsv(problems)
    return len(rows)


def remove_candidate(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> None:
    exam_session = lock_session(tx, session_id)
    require_member(tx.db, exam_session.centre_id, user_id)
    require_open(exam_session)
    candidate = candidate_of(tx.db, session_id, candidate_id)
    transitions.decide(candidate.status, Command.REMOVE)
    tx.db.delete(candidate)
    tx.db.flush()
    emit_removed(tx, exam_session, candidate, Actor.of(user_of(tx.db, user_id)))


def finalize(tx: Tx, session_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    """Ends every running test, then freezes the session; answers the session as staff see it."""
    exam_session, actor = _staff_on_open_session(tx, session_id, user_id)
    now = utcnow()
    running = tx.db.execute(
        select(Candidate).where(
            col(Candidate.session_id) == session_id,
            col(Candidate.status).in_(transitions.moved_by(Command.FINALIZE)),
        )
    ).scalars()
    for candidate in running:
        ended = transitions.decide(candidate.status, Command.FINALIZE)
        assert isinstance(ended, str)
        end_running(tx, candidate, ended, actor, now)
        emit_candidate(tx, rules, exam_session, candidate, Action.ENDED_BY_FINALIZATION, actor)
    exam_session.status = SessionStatus.FINALIZED
    exam_session.finalized_at = now
    emit_session(tx, exam_session, Action.FINALIZED, actor)
    return session_json(tx.db, exam_session)
