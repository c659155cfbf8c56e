"""The time rules of room control that need no database: closing a pause, the join window.

Kept apart from the actions so the lifecycle's own ends of a test (supervisor, finalisation,
expiry) can fold a pause under way without importing the room's actions.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.i18n import Text
from app.models import Candidate, ExamSession


def close_pause(c: Candidate, now: dt.datetime) -> int:
    """End a pause under way: its whole seconds move to paused_seconds (so the theoretical
    end moves by exactly that much). Returns the pause's length, 0 when there was none."""
    if c.paused_since is None:
        return 0
    seconds = max(0, int((now - c.paused_since).total_seconds()))
    c.paused_seconds += seconds
    c.paused_since = None
    c.pause_message = None
    return seconds


def scheduled_at(exam_session: ExamSession, timezone: str) -> dt.datetime:
    """The session's date and time, typed in the centre's local time, as an aware UTC moment."""
    hour, minute = (int(part) for part in exam_session.time.split(":", 1))
    local = dt.datetime.combine(exam_session.date, dt.time(hour, minute), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC)


def join_opens_at(exam_session: ExamSession, timezone: str, minutes_before: int) -> dt.datetime:
    return scheduled_at(exam_session, timezone) - dt.timedelta(minutes=minutes_before)


def local_clock(moment: dt.datetime, timezone: str) -> Text:
    """A moment in the session's time zone, in the reader's words: "28/12/2021 à 9 h 05"."""
    local = moment.astimezone(ZoneInfo(timezone))
    minute = str(local.minute).zfill(2)
    return Text.gettext("%(date)s à %(hour)s h %(minute)s", date=local.date(), hour=local.hour, minute=minute)
