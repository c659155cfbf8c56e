"""Read models: what supervisors, centre staff and candidates are shown, as JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.codes import fold
from app.models import Candidate, Centre, ExamSession, SessionEvent, SupervisorAccess, User, utcnow

ENDED = ("finished", "ended_by_supervisor", "ended_by_finalization")


def iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def theoretical_end(c: Candidate, test_minutes: int) -> dt.datetime | None:
    if c.started_at is None:
        return None
    minutes = test_minutes * (100 + c.extra_time_percentage) / 100
    return c.started_at + dt.timedelta(minutes=minutes)


def question_count(c: Candidate, default: int) -> int:
    return len(c.question_ids.split(",")) if c.question_ids else default


def candidate_view(c: Candidate, test_minutes: int, questions: int, now: dt.datetime | None = None) -> dict[str, Any]:
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
        "started_at": iso(c.started_at),
        "ended_at": iso(c.ended_at),
        "theoretical_end_at": iso(end),
        "overtime": bool(end is not None and c.status == "in_progress" and now > end),
        "progress": {"answered": c.answered, "total": question_count(c, questions)},
    }


def session_view(s: ExamSession, centre: str, *, with_codes: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": s.id,
        "centre": centre,
        "address": s.address,
        "room": s.room,
        "examiner": s.examiner,
        "date": s.date.isoformat(),
        "time": s.time,
        "status": s.status,
    }
    if with_codes:
        view["access_code"] = s.access_code
        view["supervisor_password"] = s.supervisor_password
    return view


def sort_key(c: Candidate) -> tuple[str, str, int]:
    return (fold(c.last_name), fold(c.first_name), c.id or 0)


def supervisors(db: Session, session_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(col(User.first_name), col(User.last_name), col(SupervisorAccess.online), col(SupervisorAccess.user_id))
        .join(User, col(User.id) == col(SupervisorAccess.user_id))
        .where(col(SupervisorAccess.session_id) == session_id)
        .order_by(col(SupervisorAccess.granted_at))
    ).all()
    return [{"id": uid, "name": f"{first} {last}", "online": bool(online)} for first, last, online, uid in rows]


def counts(candidates: list[Candidate]) -> dict[str, int]:
    return {
        "enrolled": len(candidates),
        "present": sum(1 for c in candidates if c.authorized_to_start or c.status != "not_started"),
        "in_progress": sum(1 for c in candidates if c.status == "in_progress"),
        "finished": sum(1 for c in candidates if c.status in ENDED),
    }


def centre_name(db: Session, centre_id: int) -> str:
    centre = db.get(Centre, centre_id)
    return centre.name if centre else ""


# What the activity feed shows; answers, connections and supervisors' presence are too chatty.
ACTIVITY = (
    "enrolled",
    "removed",
    "presence_confirmed",
    "presence_withdrawn",
    "started",
    "finished",
    "resume_requested",
    "resume_authorized",
    "resumed",
    "ended_by_supervisor",
    "ended_by_finalization",
    "finalized",
    "supervisor_joined",
)
_ACTIVITY_TYPES = ("candidate.updated", "candidate.removed", "session.updated", "supervisors.updated")


def recent_activity(db: Session, session_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The last events worth a line in the activity feed, oldest first, so a page opened
    late (or reloaded) shows what happened before it."""
    rows = db.execute(
        select(col(SessionEvent.payload))
        .where(
            col(SessionEvent.session_id) == session_id,
            col(SessionEvent.type).in_(_ACTIVITY_TYPES),
            col(SessionEvent.actor_name).is_not(None),
        )
        .order_by(col(SessionEvent.version).desc())
        .limit(limit * 3)
    ).scalars()
    events = [e for e in (json.loads(p) for p in rows) if e.get("action") in ACTIVITY]
    return list(reversed(events[:limit]))


def snapshot(db: Session, session_id: int, test_minutes: int, questions: int) -> dict[str, Any] | None:
    """The supervisor's whole screen. The version is read first: candidates read after it
    can only be newer, and events carry whole candidate views, so replaying is harmless."""
    s = db.get(ExamSession, session_id)
    if s is None:
        return None
    version = s.version
    candidates = list(db.execute(select(Candidate).where(col(Candidate.session_id) == session_id)).scalars())
    candidates.sort(key=sort_key)
    now = utcnow()
    return {
        "session": session_view(s, centre_name(db, s.centre_id), with_codes=False) | {"access_code": s.access_code},
        "version": version,
        "supervisors": supervisors(db, session_id),
        "counts": counts(candidates),
        "candidates": [candidate_view(c, test_minutes, questions, now) for c in candidates],
        "recent_events": recent_activity(db, session_id),
    }
