"""Incident reports: what a supervisor writes about a candidate (or an action records),
live for the other supervisors, edited and removed by their author only, until the
session is finalised; and who may read a session's records.

A report an action wrote (the reason of « Terminer le test », a decision on an alert, a time
adjustment, a finalisation reason) can be corrected by its author but not removed: it is the
record of that action, and the procès-verbal reads a test's end reason from it.

`Candidate.reports_count` is kept with the rows, in the same transaction, so every view
of the candidate carries the count without a join.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import views
from app.actions import centres
from app.actions.eventlog import Actor, emit_candidate
from app.actions.guards import is_member, is_supervisor, lock_session, supervised
from app.actions.rules import Rules
from app.db import Tx
from app.errors import NoSupervisorAccess, NotReportAuthor, ReportNotFound, ReportNotRemovable
from app.models import Candidate, ExamSession, IncidentReport, utcnow
from vocabulary import Action, ReportOrigin, SessionStatus

REPORT_COMMENT_MAX = 1000


@dataclass(frozen=True)
class Reason:
    """A report's category and comment, as typed (a report, an end of test, a finalisation)."""

    category: str
    comment: str


def add_report_row(
    tx: Tx,
    candidate: Candidate,
    category: str,
    comment: str,
    actor: Actor,
    *,
    origin: str = ReportOrigin.SUPERVISOR,
    alert_id: int | None = None,
) -> IncidentReport:
    """The row and the candidate's count; the caller emits the event that tells it."""
    assert candidate.id is not None
    report = IncidentReport(
        session_id=candidate.session_id,
        candidate_id=candidate.id,
        category=category,
        comment=comment,
        origin=origin,
        alert_id=alert_id,
        author_user_id=actor.user_id,
        author_name=actor.name,
    )
    tx.db.add(report)
    tx.db.flush()
    candidate.reports_count += 1
    tx.db.add(candidate)
    return report


def record(
    tx: Tx,
    rules: Rules,
    exam_session: ExamSession,
    candidate: Candidate,
    reason: Reason,
    actor: Actor,
    origin: str,
) -> IncidentReport:
    """A report written by an action (end of test, finalisation), told like any other."""
    report = add_report_row(tx, candidate, reason.category, reason.comment, actor, origin=origin)
    emit_candidate(
        tx, rules, exam_session, candidate, Action.REPORT_ADDED, actor, {"report": views.report_view(report)}
    )
    return report


def end_reasons(db: Session, session_id: int) -> dict[int, Reason]:
    """The reason each test was ended with by a supervisor, as it reads now (its author may
    have corrected it): the latest end-of-test report of each candidate."""
    rows = db.execute(
        select(IncidentReport)
        .where(col(IncidentReport.session_id) == session_id, col(IncidentReport.origin) == ReportOrigin.END_TEST)
        .order_by(col(IncidentReport.id))
    ).scalars()
    return {r.candidate_id: Reason(r.category, r.comment) for r in rows}


def add_report(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, reason: Reason, rules: Rules
) -> dict[str, Any]:
    exam_session, candidate, actor = supervised(tx, session_id, candidate_id, user_id)
    report = record(tx, rules, exam_session, candidate, reason, actor, ReportOrigin.SUPERVISOR)
    return views.report_view(report)


def _own_report(tx: Tx, candidate: Candidate, report_id: int, actor: Actor) -> IncidentReport:
    report = tx.db.get(IncidentReport, report_id)
    if report is None or report.candidate_id != candidate.id:
        raise ReportNotFound()
    if report.author_user_id is None or report.author_user_id != actor.user_id:
        raise NotReportAuthor(report.author_name)
    return report


def edit_report(
    tx: Tx,
    session_id: int,
    candidate_id: int,
    report_id: int,
    user_id: int,
    category: str | None,
    comment: str | None,
    rules: Rules,
) -> dict[str, Any]:
    exam_session, candidate, actor = supervised(tx, session_id, candidate_id, user_id)
    report = _own_report(tx, candidate, report_id, actor)
    changed = (category is not None and category != report.category) or (
        comment is not None and comment != report.comment
    )
    if changed:
        report.category = category if category is not None else report.category
        report.comment = comment if comment is not None else report.comment
        report.updated_at = utcnow()
        tx.db.add(report)
        emit_candidate(
            tx, rules, exam_session, candidate, Action.REPORT_EDITED, actor, {"report": views.report_view(report)}
        )
    return views.report_view(report)


def remove_report(tx: Tx, session_id: int, candidate_id: int, report_id: int, user_id: int, rules: Rules) -> None:
    exam_session, candidate, actor = supervised(tx, session_id, candidate_id, user_id)
    report = _own_report(tx, candidate, report_id, actor)
    if report.origin != ReportOrigin.SUPERVISOR:
        raise ReportNotRemovable()
    gone = {"id": report.id, "candidate_id": report.candidate_id, "deleted": True}
    tx.db.delete(report)
    candidate.reports_count = max(0, candidate.reports_count - 1)
    tx.db.add(candidate)
    tx.db.flush()
    emit_candidate(tx, rules, exam_session, candidate, Action.REPORT_REMOVED, actor, {"report": gone})


def remove_candidate(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> None:
    """A candidate removed before starting takes their reports along (an absence noted by
    mistake); `centres.remove_candidate` refuses a started one, which rolls this back."""
    lock_session(tx, session_id)
    rows = tx.db.execute(
        select(IncidentReport).where(
            col(IncidentReport.candidate_id) == candidate_id, col(IncidentReport.session_id) == session_id
        )
    ).scalars()
    for report in rows:
        tx.db.delete(report)
    tx.db.flush()
    centres.remove_candidate(tx, session_id, candidate_id, user_id, rules)


def require_reader(db: Session, session_id: int, user_id: int) -> ExamSession:
    """The records of a session are for the centre's members and the session's supervisors,
    finalised or not; anyone else is told they have no access, session known or not."""
    exam_session = db.get(ExamSession, session_id)
    if exam_session is None:
        raise NoSupervisorAccess()
    if not is_member(db, exam_session.centre_id, user_id) and not is_supervisor(db, session_id, user_id):
        raise NoSupervisorAccess()
    return exam_session


def verbal_ready(db: Session, session_id: int, user_id: int) -> bool:
    """Whether this account can download the session's procès-verbal now: finalised, and
    theirs to read (a page offers the link only then)."""
    try:
        return require_reader(db, session_id, user_id).status == SessionStatus.FINALIZED
    except NoSupervisorAccess:
        return False
