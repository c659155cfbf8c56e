"""The candidate's own test: join with the access code, consent and start, answer one
question at a time, and what the candidate's page and socket read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import codes, views
from app.actions import answering, transitions
from app.actions.eventlog import Actor, emit_candidate
from app.actions.guards import claimed, enter_code, locked_candidate, refuse_if_over
from app.actions.room import messages_for, require_join_window
from app.actions.rules import Rules
from app.actions.transitions import Command
from app.db import Tx
from app.errors import (
    AlertPending,
    CandidateNotRecognised,
    ConsentRequired,
    InvalidPayload,
    InvalidSessionOrCode,
    NotAuthorizedToJoin,
    NotAuthorizedToResume,
    NotJoined,
    OpenedElsewhere,
    QuestionNotCurrent,
    SessionNotAccessible,
    TestPaused,
)
from app.i18n import N_
from app.models import Candidate, ExamSession, utcnow
from app.questions import by_id, draw_test, public_view
from app.security import CandidateClaim, claim_proves_join, new_join_secret, secret_digest
from vocabulary import ENDED, Action, CandidateStatus, Connection, MessageType, SessionStatus, own_view

# Where the candidate's page goes after a join.
NEXT_CONSENT = "consent"
NEXT_TEST = "test"


@dataclass(frozen=True)
class Joined:
    candidate: dict[str, Any]
    next: str
    claim: CandidateClaim


def join(
    tx: Tx,
    session_id: int,
    typed_code: str,
    first_name: str,
    last_name: str,
    birthdate: dt.date,
    rules: Rules,
    held: CandidateClaim | None = None,
) -> Joined:
    """`held`: the candidate cookie the browser sent with this join, if any."""
    exam_session = enter_code(
        tx,
        rules,
        session_id,
        f"access:{session_id}",
        codes.normalise_access_code(typed_code),
        lambda found: found.access_code,
        InvalidSessionOrCode,
    )
    if exam_session.status == SessionStatus.FINALIZED:
        raise SessionNotAccessible()
    require_join_window(exam_session, rules)
    wanted = codes.identity_key(last_name, first_name)
    # Once the code is known, names and birth dates are what an impersonator guesses:
    # counted per session (names) and per person (birth dates), before the lookup, so a
    # right guess is refused too once the budget is spent.
    guesses = [
        (rules.guess_limiter, f"join-guess:{session_id}"),
        (rules.limiter, f"join-guess:{session_id}:{wanted}"),
    ]
    for limiter, key in guesses:
        limiter.check(tx.db, key)
    candidate = tx.db.execute(
        select(Candidate).where(
            col(Candidate.session_id) == session_id,
            col(Candidate.identity_key) == wanted,
            col(Candidate.birthdate) == birthdate,
        )
    ).scalar()
    if candidate is None:
        for limiter, key in guesses:
            limiter.fail(tx.db, key)
        # One answer for an unknown name and a wrong birth date.
        raise CandidateNotRecognised()
    assert candidate.id is not None and exam_session.id is not None
    # Refused candidates may still listen for their own changes, so the page can continue
    # by itself; token -1 never matches join_token, so it grants nothing else.
    waiting = CandidateClaim(candidate_id=candidate.id, session_id=exam_session.id, token=-1)
    transitions.decide(candidate.status, Command.JOIN)
    actor = Actor.candidate(candidate)
    # The browser of the join about to be replaced is still connected, and it is not the
    # one joining now: worth a line in the log and a look from the supervisor.
    supersedes_live = (
        candidate.join_token >= 1
        and candidate.connection == Connection.CONNECTED
        and not (
            held is not None
            and held.candidate_id == candidate.id
            and claim_proves_join(held, candidate.join_token, candidate.join_secret)
        )
    )
    if candidate.status == CandidateStatus.NOT_STARTED:
        if not candidate.authorized_to_start:
            raise NotAuthorizedToJoin(private={"claim": waiting})
        candidate.join_token += 1
        tx.db.add(candidate)
        next_step = NEXT_CONSENT
    else:
        if not candidate.resume_authorized:
            if not candidate.resume_requested:
                candidate.resume_requested = True
                tx.db.add(candidate)
                emit_candidate(tx, rules, exam_session, candidate, Action.RESUME_REQUESTED, actor)
            raise NotAuthorizedToResume(private={"claim": waiting})
        # The authorisation is used up by this join; the old browser loses its token.
        candidate.resume_authorized = False
        candidate.resume_requested = False
        candidate.join_token += 1
        tx.db.add(candidate)
        emit_candidate(tx, rules, exam_session, candidate, Action.RESUMED, actor, join=candidate.join_token)
        next_step = NEXT_TEST
    if supersedes_live:
        # `join` tells the older join's sockets, on every process, to close.
        emit_candidate(tx, rules, exam_session, candidate, Action.JOIN_SUPERSEDED, actor, join=candidate.join_token)
    secret = new_join_secret()
    candidate.join_secret = secret_digest(secret)
    tx.db.add(candidate)
    claim = CandidateClaim(
        candidate_id=candidate.id, session_id=exam_session.id, token=candidate.join_token, secret=secret
    )
    return Joined(own_view(rules.view(candidate)), next_step, claim)


def start(tx: Tx, claim: CandidateClaim | None, consent: bool, rules: Rules) -> dict[str, Any]:
    exam_session, candidate = locked_candidate(tx, claim)
    started = transitions.decide(candidate.status, Command.START)
    if started == candidate.status:
        return own_view(rules.view(candidate))  # already running: a repeated start changes nothing
    if not consent:
        raise ConsentRequired()
    if not candidate.authorized_to_start:
        raise NotAuthorizedToJoin()
    assert isinstance(started, CandidateStatus)
    candidate.status = started
    candidate.started_at = utcnow()
    # The presence confirmation is used up by this start.
    candidate.authorized_to_start = False
    candidate.question_ids = ",".join(draw_test(rules.questions_per_test))
    tx.db.add(candidate)
    emit_candidate(tx, rules, exam_session, candidate, Action.STARTED, Actor.candidate(candidate))
    return own_view(rules.view(candidate))


def test_state(
    candidate: views.CandidateFields, rules: Rules, now: dt.datetime | None = None, view: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`view`: the candidate's view at `now`, when the caller has built it already."""
    now = now or utcnow()
    ids = candidate.question_ids.split(",") if candidate.question_ids else []
    running = candidate.status == CandidateStatus.IN_PROGRESS
    question = None
    # A paused test shows the pause, not the question (the candidate's `paused` says so).
    if running and candidate.answered < len(ids) and candidate.paused_since is None:
        question = public_view(by_id(ids[candidate.answered]), candidate.answered)
    left = views.time_left_seconds(candidate, rules.test_minutes, now)
    if view is None:
        view = rules.view(candidate, now)
    return {"candidate": own_view(view), "question": question, "time_left_seconds": left}


def read_test(db: Session, claim: CandidateClaim | None, rules: Rules) -> dict[str, Any]:
    candidate = claimed(db, claim)
    exam_session = db.get(ExamSession, candidate.session_id)
    refuse_if_over(candidate, exam_session.status if exam_session else SessionStatus.FINALIZED)
    return test_state(candidate, rules)


def answer(tx: Tx, claim: CandidateClaim | None, question_id: str, choice: int, rules: Rules) -> dict[str, Any]:
    locked = answering.lock_and_read(tx, claim)
    candidate = locked.candidate
    ids = candidate.question_ids.split(",") if candidate.question_ids else []
    if question_id in ids[: candidate.answered]:
        # A repeated answer (double click, retried request) changes nothing.
        return test_state(candidate, rules)
    if candidate.paused_since is not None:
        raise TestPaused()
    last = candidate.answered == len(ids) - 1
    after = transitions.decide(candidate.status, Command.ANSWER_LAST if last else Command.ANSWER)
    if candidate.answered >= len(ids) or ids[candidate.answered] != question_id:
        raise QuestionNotCurrent()
    if candidate.pending_alert:
        raise AlertPending()  # on hold until a supervisor decides on the candidate's alert
    question = by_id(question_id)
    if not 0 <= choice < len(question.choices):
        raise InvalidPayload("answer", N_("réponse hors des choix proposés."))
    assert isinstance(after, CandidateStatus)
    now = utcnow()
    candidate.answered += 1
    if after != candidate.status:
        candidate.status = after
        candidate.ended_at = now
        # A pending resume request or authorisation means nothing once the test is over.
        candidate.resume_requested = False
        candidate.resume_authorized = False
    action = Action.FINISHED if candidate.status == CandidateStatus.FINISHED else Action.ANSWERED
    view = answering.record(tx, rules, locked, question_id, choice, choice == question.answer, action, now)
    return test_state(candidate, rules, now, view)


def is_waiting(view: dict[str, Any] | None) -> bool:
    """A candidate's page waiting on a supervisor: presence not yet confirmed, a resume asked
    for, a paused test (a lost "resumed" publish must not leave the page paused for good), or a
    question on hold until an alert is decided."""
    if not view:
        return True
    return bool(
        (view.get("status") == CandidateStatus.NOT_STARTED and not view.get("authorized_to_start"))
        or view.get("resume_requested")
        or (view.get("status") == CandidateStatus.IN_PROGRESS and view.get("paused"))
        or view.get("alert")
    )


def listening_join(db: Session, claim: CandidateClaim | None) -> int:
    """Which join a candidate socket may count for in presence: its own when it holds the
    newest, 0 for a refused join's listener before any join, -1 (listens, counts for
    nothing) for one after. A socket of a superseded join is refused."""
    candidate = db.get(Candidate, claim.candidate_id) if claim else None
    if claim is None or candidate is None or candidate.session_id != claim.session_id:
        raise NotJoined()
    if claim.token >= 1:
        if claim_proves_join(claim, candidate.join_token, candidate.join_secret):
            return claim.token
        if claim.token < candidate.join_token:
            raise OpenedElsewhere()
        raise NotJoined()
    return 0 if candidate.join_token == 0 else -1


def holds_seat(db: Session, claim: CandidateClaim | None) -> bool:
    """The cookie names a candidate still enrolled in its session (an old token may still listen)."""
    candidate = db.get(Candidate, claim.candidate_id) if claim else None
    return candidate is not None and claim is not None and candidate.session_id == claim.session_id


def candidate_message(db: Session, session_id: int, candidate_id: int, rules: Rules) -> dict[str, Any]:
    """What the candidate's socket sends: its own view and the session's status, and the
    supervisors' recent messages to it, which a page whose socket was down has missed."""
    candidate = db.get(Candidate, candidate_id)
    exam_session = db.get(ExamSession, session_id)
    version = exam_session.version if exam_session else 0
    if candidate is None or candidate.session_id != session_id:
        return {
            "type": MessageType.CANDIDATE,
            "candidate": None,
            "version": version,
            "session_status": SessionStatus.FINALIZED,
        }
    message = {
        "type": MessageType.CANDIDATE,
        "candidate": own_view(rules.view(candidate)),
        "version": version,
        "session_status": exam_session.status if exam_session else SessionStatus.FINALIZED,
    }
    if candidate.status not in ENDED:
        # Read after the version: every message up to it is in, so the socket may drop a live
        # message at or below that version (the page shows each version once).
        message["messages"] = messages_for(db, session_id, candidate_id)
    return message
