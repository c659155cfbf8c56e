"""Supervisors: access with the session's password, the snapshot, and their three actions
on a candidate (presence, resume, end of test)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import codes, views
from app.actions import transitions
from app.actions.endings import end_running
from app.actions.eventlog import Actor, emit_candidate, emit_supervisors
from app.actions.guards import enter_code, require_open, require_supervisor, supervised, user_of
from app.actions.rules import Rules
from app.actions.transitions import Command
from app.db import Tx
from app.errors import IncorrectData, SessionFinalizedForAccess
from app.models import Candidate, ExamSession, SupervisorAccess, User, utcnow
from vocabulary import Action, CandidateStatus


def grant_supervision(tx: Tx, session_id: int, typed_password: str, user_id: int, rules: Rules) -> None:
    # Per account too, across sessions: sessions are numbered in sequence and accounts are
    # free, so one guess on each of many sessions is what an attacker would try. The
    # account's row lock makes simultaneous guesses of one account take turns.
    account = f"supervision-account:{user_id}"
    tx.db.execute(select(col(User.id)).where(col(User.id) == user_id).with_for_update()).first()
    rules.account_limiter.check(tx.db, account)
    try:
        exam_session = enter_code(
            tx,
            rules,
            session_id,
            f"supervision:{session_id}",
            codes.normalise_supervisor_password(typed_password),
            lambda found: found.supervisor_password,
            IncorrectData,
        )
    except IncorrectData:
        rules.account_limiter.fail(tx.db, account)
        raise
    require_open(exam_session, SessionFinalizedForAccess)
    user = user_of(tx.db, user_id)
    existing = tx.db.execute(
        select(SupervisorAccess).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == user_id
        )
    ).scalar()
    # Entering again changes nothing: granted_at orders the supervisors' list on every
    # dashboard, and a change without its event would leave the open ones behind.
    if existing is not None:
        return
    tx.db.add(SupervisorAccess(session_id=session_id, user_id=user_id))
    emit_supervisors(tx, exam_session, Action.SUPERVISOR_JOINED, Actor.of(user))


def snapshot(db: Session, session_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    """The supervisor's whole screen, for a supervisor of this open session only."""
    require_supervisor(db, session_id, user_id)
    data = views.snapshot(db, session_id, rules.view)
    assert data is not None
    return data


def set_presence(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, authorized: bool, rules: Rules
) -> dict[str, Any]:
    exam_session, candidate, actor = supervised(tx, session_id, candidate_id, user_id, counted=True)
    transitions.decide(candidate.status, Command.CONFIRM_PRESENCE if authorized else Command.WITHDRAW_PRESENCE)
    # Once started, a confirmation is already used up: confirming again changes nothing.
    if candidate.status == CandidateStatus.NOT_STARTED and candidate.authorized_to_start != authorized:
        candidate.authorized_to_start = authorized
        tx.db.add(candidate)
        action = Action.PRESENCE_CONFIRMED if authorized else Action.PRESENCE_WITHDRAWN
        emit_candidate(tx, rules, exam_session, candidate, action, actor)
    return rules.view(candidate)


def authorize_resume(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    exam_session, candidate, actor = supervised(tx, session_id, candidate_id, user_id)
    transitions.decide(candidate.status, Command.AUTHORIZE_RESUME)
    if not candidate.resume_authorized:
        candidate.resume_authorized = True
        candidate.resume_requested = False
        tx.db.add(candidate)
        emit_candidate(tx, rules, exam_session, candidate, Action.RESUME_AUTHORIZED, actor)
    return rules.view(candidate)


def end_test(tx: Tx, rules: Rules, exam_session: ExamSession, candidate: Candidate, actor: Actor) -> dict[str, Any]:
    """« Terminer le test », for a supervisor already checked by `supervised`."""
    ended = transitions.decide(candidate.status, Command.END_TEST)
    if ended != candidate.status:
        assert isinstance(ended, CandidateStatus)
        end_running(tx, candidate, ended, actor, utcnow())
        emit_candidate(tx, rules, exam_session, candidate, Action.ENDED_BY_SUPERVISOR, actor)
    return rules.view(candidate)
