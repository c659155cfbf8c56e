"""Read models: what supervisors, centre staff and candidates are shown, as JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from app.codes import fold
from app.labels import ALERT_CATEGORIES, REPORT_CATEGORIES
from app.models import (
    Alert,
    Candidate,
    Centre,
    ExamSession,
    IncidentReport,
    SessionEvent,
    SupervisorAccess,
    User,
    utcnow,
)
from vocabulary import ENDED, Action, CandidateStatus, Connection, EventName


class CandidateFields(Protocol):
    """What a candidate's view is built from: the ORM row, or the plain copy the answer
    path reads with one Core statement (`app.actions.answering`)."""

    @property
    def id(self) -> int | None: ...
    @property
    def last_name(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def birthdate(self) -> dt.date: ...
    @property
    def extra_time_percentage(self) -> int: ...
    @property
    def authorized_to_start(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def connection(self) -> str: ...
    @property
    def resume_requested(self) -> bool: ...
    @property
    def resume_authorized(self) -> bool: ...
    @property
    def started_at(self) -> dt.datetime | None: ...
    @property
    def ended_at(self) -> dt.datetime | None: ...
    @property
    def question_ids(self) -> str: ...
    @property
    def answered(self) -> int: ...
    @property
    def paused_since(self) -> dt.datetime | None: ...
    @property
    def paused_seconds(self) -> int: ...
    @property
    def pause_message(self) -> str | None: ...
    @property
    def time_adjustment_minutes(self) -> int: ...
    @property
    def pending_alert(self) -> str | None: ...
    @property
    def reports_count(self) -> int: ...


# Builds one candidate's view at a given moment (`Rules.view`).
CandidateView = Callable[[Candidate, dt.datetime | None], dict[str, Any]]


def me_view(user: User, centres: list[Centre]) -> dict[str, Any]:
    """Who is logged in: `GET /api/me`, and the same data embedded in every page they open."""
    return {
        "user": {"id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name},
        "centres": [{"id": c.id, "name": c.name} for c in centres],
    }


def iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def theoretical_end(c: CandidateFields, test_minutes: int) -> dt.datetime | None:
    """Start + time with extra time + the supervisors' adjustment + the pauses already over.
    A pause under way is not counted yet: its length is added when the test resumes."""
    if c.started_at is None:
        return None
    minutes = test_minutes * (100 + c.extra_time_percentage) / 100 + c.time_adjustment_minutes
    return c.started_at + dt.timedelta(minutes=minutes, seconds=c.paused_seconds)


def clock_now(c: CandidateFields, now: dt.datetime) -> dt.datetime:
    """The moment the test's clock shows: frozen at the start of a pause."""
    return c.paused_since if c.paused_since is not None else now


def time_left_seconds(c: CandidateFields, test_minutes: int, now: dt.datetime) -> int:
    end = theoretical_end(c, test_minutes)
    if end is None or c.status != CandidateStatus.IN_PROGRESS:
        return 0
    return max(0, int((end - clock_now(c, now)).total_seconds()))


def question_count(c: CandidateFields, default: int) -> int:
    return len(c.question_ids.split(",")) if c.question_ids else default


def candidate_view(c: CandidateFields, test_minutes: int, questions: int, now: dt.datetime | None) -> dict[str, Any]:
    """Called through `Rules.view` only, which knows the test's length and size."""
    end = theoretical_end(c, test_minutes)
    now = now or utcnow()
    return {
        "id": c.id,
        "last_name": c.last_name,
        "first_name": c.first_name,
        "birthdate": c.birthdate.isoformat(),
        "extra_time_percentage": c.extra_time_percentage,
        "authorized_to_start": c.authorized_to_start,
        "status": c.status,
        "connection": c.connection,
        "resume_requested": c.resume_requested,
        "resume_authorized": c.resume_authorized,
        # A resume asked while the browser of the current join is still connected: the
        # person asking may not be the candidate.
        "resume_while_connected": bool(c.resume_requested and c.connection == Connection.CONNECTED),
        "started_at": iso(c.started_at),
        "ended_at": iso(c.ended_at),
        "theoretical_end_at": iso(end),
        "overtime": bool(end is not None and c.status == CandidateStatus.IN_PROGRESS and clock_now(c, now) > end),
        "paused": c.paused_since is not None,
        "paused_since": iso(c.paused_since),
        "pause_message": c.pause_message,
        "time_adjustment_minutes": c.time_adjustment_minutes,
        "progress": {"answered": c.answered, "total": question_count(c, questions)},
        "alert": json.loads(c.pending_alert) if c.pending_alert else None,
        "reports_count": c.reports_count,
    }


def session_view(exam_session: ExamSession, centre: str, *, with_codes: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": exam_session.id,
        "centre": centre,
        "address": exam_session.address,
        "room": exam_session.room,
        "examiner": exam_session.examiner,
        "date": exam_session.date.isoformat(),
        "time": exam_session.time,
        "status": exam_session.status,
    }
    if with_codes:
        view["access_code"] = exam_session.access_code
        view["supervisor_password"] = exam_session.supervisor_password
    return view


def sort_key(c: Candidate) -> tuple[str, str, int]:
    return (fold(c.last_name), fold(c.first_name), c.id or 0)


def candidates_in(db: Session, session_id: int) -> list[Candidate]:
    """The session's candidates in the order every list shows them (name, then id)."""
    return sorted(db.execute(select(Candidate).where(col(Candidate.session_id) == session_id)).scalars(), key=sort_key)


def supervisors(db: Session, session_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(col(User.first_name), col(User.last_name), col(SupervisorAccess.online), col(SupervisorAccess.user_id))
        .join(User, col(User.id) == col(SupervisorAccess.user_id))
        .where(col(SupervisorAccess.session_id) == session_id)
        .order_by(col(SupervisorAccess.granted_at))
    ).all()
    return [{"id": uid, "name": f"{first} {last}", "online": bool(online)} for first, last, online, uid in rows]


# The actions after which `counts` may differ: their events carry the new counters. The
# others (answers, connections, supervisors coming and going) leave them as they were, and
# answers are the hot path: a counting query on each would cost about a millisecond.
COUNTED_ACTIONS = frozenset(
    {
        Action.ENROLLED,
        Action.REMOVED,
        Action.PRESENCE_CONFIRMED,
        Action.PRESENCE_WITHDRAWN,
        Action.STARTED,
        Action.FINISHED,
        Action.ENDED_BY_SUPERVISOR,
        Action.ENDED_BY_FINALIZATION,
        Action.ENDED_BY_EXPIRY,
    }
)


def counts(candidates: Iterable[tuple[str, bool]]) -> dict[str, int]:
    """The dashboard's counters from each candidate's (status, authorized_to_start): the one
    place they are computed, for the snapshot and for every event (pages only show them)."""
    tally = {"enrolled": 0, "present": 0, "in_progress": 0, "finished": 0}
    for status, authorized in candidates:
        tally["enrolled"] += 1
        tally["present"] += authorized or status != CandidateStatus.NOT_STARTED
        tally["in_progress"] += status == CandidateStatus.IN_PROGRESS
        tally["finished"] += status in ENDED
    return tally


# Built once: every counted event runs it.
_COUNTED = select(col(Candidate.status), col(Candidate.authorized_to_start)).where(
    col(Candidate.session_id) == bindparam("p_session")
)


def session_counts(db: Session, session_id: int) -> dict[str, int]:
    """`counts` of a session as the transaction sees it now (pending changes flushed first)."""
    rows = db.execute(_COUNTED, {"p_session": session_id}).all()
    return counts((status, authorized) for status, authorized in rows)


def centre_name(db: Session, centre_id: int) -> str:
    centre = db.get(Centre, centre_id)
    return centre.name if centre else ""


# What the activity feed shows; answers, connections and supervisors' presence are too chatty.
ACTIVITY = frozenset(Action) - {
    Action.ANSWERED,
    Action.CONNECTED,
    Action.CONNECTION_LOST,
    Action.SUPERVISOR_ONLINE,
    Action.SUPERVISOR_OFFLINE,
}
_ACTIVITY_TYPES = tuple(EventName)


# Connection losses have no actor but belong in the feed: a flapping network is told as
# one run per candidate (its first loss and its latest change), not line after line.
CONNECTION_ACTIVITY = (Action.CONNECTION_LOST, Action.CONNECTED)
CONNECTION_RUN = dt.timedelta(minutes=2)


def recent_activity(db: Session, session_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The last events worth a line in the activity feed, oldest first, so a page opened
    late (or reloaded) shows what happened before it."""
    rows = db.execute(
        select(col(SessionEvent.payload))
        .where(col(SessionEvent.session_id) == session_id, col(SessionEvent.type).in_(_ACTIVITY_TYPES))
        .order_by(col(SessionEvent.version).desc())
        .limit(limit * 5)
    ).scalars()
    oldest_first = reversed([json.loads(p) for p in rows])
    kept: list[dict[str, Any] | None] = []
    runs: dict[int, dict[str, Any]] = {}
    for e in oldest_first:
        action = e.get("action")
        if action in CONNECTION_ACTIVITY:
            cid = (e.get("candidate") or {}).get("id")
            at = dt.datetime.fromisoformat(str(e.get("at", "")).replace("Z", "+00:00"))
            run = runs.get(cid) if isinstance(cid, int) else None
            if run is not None and at - run["last"] < CONNECTION_RUN:
                run["last"] = at
                if run["tail"] is not None:
                    kept[run["tail"]] = None
                kept.append(e)
                run["tail"] = len(kept) - 1
            elif action == Action.CONNECTION_LOST and isinstance(cid, int):
                kept.append(e)
                runs[cid] = {"last": at, "tail": None}
        elif action in ACTIVITY and e.get("actor"):
            kept.append(e)
    return [e for e in kept if e is not None][-limit:]


def snapshot(db: Session, session_id: int, view: CandidateView) -> dict[str, Any] | None:
    """The supervisor's whole screen. The version is read first: candidates read after it
    can only be newer, and events carry whole candidate views, so replaying is harmless."""
    exam_session = db.get(ExamSession, session_id)
    if exam_session is None:
        return None
    version = exam_session.version
    candidates = candidates_in(db, session_id)
    now = utcnow()
    return {
        "session": session_view(exam_session, centre_name(db, exam_session.centre_id), with_codes=False)
        | {"access_code": exam_session.access_code},
        "version": version,
        "supervisors": supervisors(db, session_id),
        "counts": counts((c.status, c.authorized_to_start) for c in candidates),
        "candidates": [view(c, now) for c in candidates],
        "recent_events": recent_activity(db, session_id),
        "reports": session_reports(db, session_id),
    }


# ---------------------------------------------------------------- incidents


def alert_view(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "candidate_id": a.candidate_id,
        "question_index": a.question_index,
        "category": a.category,
        "category_label": ALERT_CATEGORIES.get(a.category, a.category),
        "comment": a.comment,
        "status": a.status,
        "created_at": iso(a.created_at),
        "decided_at": iso(a.decided_at),
        "decided_by": {"name": a.decided_by_name} if a.decided_by_name else None,
    }


def report_view(r: IncidentReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "candidate_id": r.candidate_id,
        "category": r.category,
        "category_label": REPORT_CATEGORIES.get(r.category, r.category),
        "comment": r.comment,
        "origin": r.origin,
        "alert_id": r.alert_id,
        "author": {"id": r.author_user_id, "name": r.author_name},
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
    }


def session_reports(db: Session, session_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(IncidentReport)
        .where(col(IncidentReport.session_id) == session_id)
        .order_by(col(IncidentReport.created_at), col(IncidentReport.id))
    ).scalars()
    return [report_view(r) for r in rows]
