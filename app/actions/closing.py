"""How tests and sessions close with their reasons: « Terminer le test » asks why (kept as
an incident report), and the centre's finalisation takes a reason for every test started
and not finished plus a comment on the session, all in the transaction that freezes it.
An alert still open when its test ends is closed: nobody is left to decide it.

A test a supervisor ended with a reason already has one: the finalisation does not ask
again (the form shows it, editable), and a reason given again unchanged adds no report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.actions import centres, supervision
from app.actions.eventlog import Actor
from app.actions.guards import lock_session, require_member, require_open, supervised, user_of
from app.actions.reports import Reason, end_reasons, record
from app.actions.rules import Rules
from app.db import Tx
from app.errors import CandidateNotInSession, ReasonMissing, ReasonNotNeeded
from app.models import Candidate
from vocabulary import CandidateStatus, ReportOrigin

SESSION_COMMENT_MAX = 2000
# Started and not finished: a reason is asked for each at finalisation.
UNFINISHED = (CandidateStatus.IN_PROGRESS, CandidateStatus.ENDED_BY_SUPERVISOR, CandidateStatus.ENDED_BY_EXPIRY)


def end_test(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, reason: Reason | None, rules: Rules
) -> dict[str, Any]:
    """The reason is recorded only when the test did end now (ending it again changes nothing)."""
    exam_session, candidate, actor = supervised(tx, session_id, candidate_id, user_id, counted=True)
    running = candidate.status == CandidateStatus.IN_PROGRESS
    view = supervision.end_test(tx, rules, exam_session, candidate, actor)
    if running and reason is not None:
        record(tx, rules, exam_session, candidate, reason, actor, ReportOrigin.END_TEST)
        view = rules.view(candidate)
    return view


def finalize(
    tx: Tx, session_id: int, user_id: int, comment: str, reasons: dict[int, Reason] | None, rules: Rules
) -> dict[str, Any]:
    """`reasons` None: a client of the original contract (a bodiless finalisation), which
    gives none; the procès-verbal then marks each unfinished test left without one."""
    exam_session = lock_session(tx, session_id)
    require_member(tx.db, exam_session.centre_id, user_id)
    require_open(exam_session)
    actor = Actor.of(user_of(tx.db, user_id))
    candidates = {
        c.id: c for c in tx.db.execute(select(Candidate).where(col(Candidate.session_id) == session_id)).scalars()
    }
    given = reasons or {}
    for cid in given:
        candidate = candidates.get(cid)
        if candidate is None:
            raise CandidateNotInSession()
        if candidate.status not in UNFINISHED:
            raise ReasonNotNeeded(candidate.first_name, candidate.last_name)
    recorded = end_reasons(tx.db, session_id)
    if reasons is not None:
        for c in sorted(candidates.values(), key=lambda c: (c.last_name.upper(), c.first_name, c.id or 0)):
            if c.status in UNFINISHED and c.id not in given and c.id not in recorded:
                raise ReasonMissing(c.first_name, c.last_name)
    for cid, reason in given.items():
        if recorded.get(cid) != reason:
            record(tx, rules, exam_session, candidates[cid], reason, actor, ReportOrigin.FINALIZATION)
    exam_session.finalization_comment = comment or None
    tx.db.add(exam_session)
    return centres.finalize(tx, session_id, user_id, rules)
