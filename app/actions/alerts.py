"""A candidate's « Signaler un problème » on the question on screen, and its decision by
the first supervisor to act: a replacement question (validated) or the same one (refused).

An open alert lives twice, changed in the same transaction: as its `Alert` row (the
record) and as `Candidate.pending_alert` (what every view of the candidate shows, so a
view needs no join). Every decision leaves an incident report (`reports`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app import views
from app.actions import transitions
from app.actions.candidate_test import test_state
from app.actions.eventlog import Actor, emit_candidate
from app.actions.guards import locked_candidate, require_supervisor, user_of
from app.actions.reports import add_report_row
from app.actions.rules import Rules
from app.actions.transitions import Command
from app.db import Tx
from app.errors import (
    AlertAlreadyHandled,
    AlertAlreadyOpen,
    AlertNotFound,
    NoReplacementQuestion,
    QuestionNotCurrent,
    TestPaused,
    TooManyAlerts,
)
from app.labels import ALERT_CATEGORIES
from app.models import Alert, Candidate, ExamSession, utcnow
from app.questions import by_id, load_bank
from app.security import CandidateClaim
from vocabulary import Action, AlertCategory, AlertStatus, CandidateStatus, ReportCategory, ReportOrigin

COMMENT_MAX = 500
# A candidate cannot flood the supervisors: `Rules.alerts_per_window` alerts at most per
# window. Each one must be decided before the next, so only a quick refuse-and-retry loop
# can reach it.
ALERT_WINDOW = dt.timedelta(minutes=10)

# The report a decision leaves behind is filed under the nearest report kind.
_REPORT_CATEGORY = {
    AlertCategory.IMAGE: ReportCategory.QUESTION,
    AlertCategory.DISPLAY: ReportCategory.QUESTION,
    AlertCategory.LINK: ReportCategory.QUESTION,
    AlertCategory.EXTRA_TIME: ReportCategory.ACCESSIBILITY,
    AlertCategory.ACCESSIBILITY: ReportCategory.ACCESSIBILITY,
    AlertCategory.OTHER: ReportCategory.OTHER,
}


# ---------------------------------------------------------------- the candidate


def raise_alert(
    tx: Tx, claim: CandidateClaim | None, question_id: str, category: str, comment: str, rules: Rules
) -> dict[str, Any]:
    exam_session, candidate = locked_candidate(tx, claim)
    transitions.decide(candidate.status, Command.RAISE_ALERT)
    # A paused test shows the pause, not the question: there is nothing on screen to signal.
    if candidate.paused_since is not None:
        raise TestPaused()
    if candidate.pending_alert:
        raise AlertAlreadyOpen()
    ids = candidate.question_ids.split(",") if candidate.question_ids else []
    if candidate.answered >= len(ids) or ids[candidate.answered] != question_id:
        raise QuestionNotCurrent()
    assert candidate.id is not None and exam_session.id is not None
    _check_rate(tx.db, candidate.id, rules.alerts_per_window)
    alert = Alert(
        session_id=exam_session.id,
        candidate_id=candidate.id,
        question_id=question_id,
        question_index=candidate.answered,
        category=category,
        comment=comment,
    )
    tx.db.add(alert)
    tx.db.flush()
    view = views.alert_view(alert)
    candidate.pending_alert = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
    tx.db.add(candidate)
    emit_candidate(
        tx, rules, exam_session, candidate, Action.ALERT_RAISED, Actor.candidate(candidate), {"alert": view}
    )
    return test_state(candidate, rules)


def _check_rate(db: Session, candidate_id: int, limit: int) -> None:
    since = utcnow() - ALERT_WINDOW
    count, oldest = db.execute(
        select(func.count(col(Alert.id)), func.min(col(Alert.created_at))).where(
            col(Alert.candidate_id) == candidate_id, col(Alert.created_at) > since
        )
    ).one()
    if count >= limit and oldest is not None:
        oldest_at = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        seconds = max(1, math.ceil((oldest_at + ALERT_WINDOW - utcnow()).total_seconds()))
        raise TooManyAlerts(seconds, max(1, math.ceil(seconds / 60)))


# ---------------------------------------------------------------- the supervisors


def _pending(tx: Tx, session_id: int, alert_id: int, user_id: int) -> tuple[ExamSession, Alert, Candidate, Actor]:
    # Lock, then check: the first decision committed is the one the second one sees.
    tx.db.execute(select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()).scalar()
    exam_session = require_supervisor(tx.db, session_id, user_id)
    alert = tx.db.get(Alert, alert_id)
    if alert is None or alert.session_id != session_id:
        raise AlertNotFound()
    if alert.status != AlertStatus.PENDING:
        raise AlertAlreadyHandled(alert.decided_by_name, views.alert_view(alert))
    candidate = tx.db.get(Candidate, alert.candidate_id)
    assert candidate is not None
    return exam_session, alert, candidate, Actor.of(user_of(tx.db, user_id))


def _replacement(db: Session, candidate: Candidate, broken: str) -> str:
    """A question this candidate has never been served: neither in the test nor taken away."""
    taken = db.execute(select(col(Alert.question_id)).where(col(Alert.candidate_id) == candidate.id)).scalars()
    served = set(candidate.question_ids.split(",")) | set(taken)
    fresh = [q for q in load_bank() if q.id not in served]
    if not fresh:
        raise NoReplacementQuestion()
    # The same domain keeps the test's spread; otherwise any unseen question.
    domain = by_id(broken).domain
    same = [q for q in fresh if q.domain == domain] or fresh
    return secrets.SystemRandom().choice(same).id


def decide(tx: Tx, session_id: int, alert_id: int, user_id: int, validate: bool, rules: Rules) -> dict[str, Any]:
    exam_session, alert, candidate, actor = _pending(tx, session_id, alert_id, user_id)
    ids = candidate.question_ids.split(",") if candidate.question_ids else []
    on_screen = (
        candidate.status == CandidateStatus.IN_PROGRESS
        and candidate.answered < len(ids)
        and ids[candidate.answered] == alert.question_id
    )
    if validate and on_screen:
        replacement = _replacement(tx.db, candidate, alert.question_id)
        ids[candidate.answered] = replacement
        candidate.question_ids = ",".join(ids)
        alert.replacement_question_id = replacement
    alert.status = AlertStatus.VALIDATED if validate else AlertStatus.REFUSED
    alert.decided_at = utcnow()
    alert.decided_by_user_id = actor.user_id
    alert.decided_by_name = actor.name
    tx.db.add(alert)
    candidate.pending_alert = None
    verdict = "validé : nouvelle question servie" if validate else "refusé : le candidat continue sur la même question"
    text = f"Signalement {verdict}. Question {alert.question_index + 1} — {ALERT_CATEGORIES.get(alert.category)}"
    if alert.comment:
        text += f" : « {alert.comment} »"
    category = _REPORT_CATEGORY.get(AlertCategory(alert.category), ReportCategory.OTHER)
    report = add_report_row(tx, candidate, category, text, actor, origin=ReportOrigin.ALERT, alert_id=alert.id)
    action = Action.ALERT_VALIDATED if validate else Action.ALERT_REFUSED
    decided = views.alert_view(alert)
    emit_candidate(
        tx, rules, exam_session, candidate, action, actor, {"alert": decided, "report": views.report_view(report)}
    )
    return {"alert": decided, "candidate": rules.view(candidate)}
