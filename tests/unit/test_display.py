"""The server's words and order for the dashboard's first paint: the same as the script's
(static/js/format.js, supervision.js), which takes the rows over from there."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.display import attention, clock, dashboard_order, filter_counts, paused_for, signed_minutes
from vocabulary import CandidateStatus, Connection

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def candidate(cid: int, last: str, first: str = "Paul", **facts: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": cid,
        "last_name": last,
        "first_name": first,
        "status": CandidateStatus.NOT_STARTED,
        "connection": Connection.CONNECTED,
        "resume_requested": False,
        "overtime": False,
        "alert": None,
    }
    view.update(facts)
    return view


def test_times_are_the_sessions_time_zone() -> None:
    assert clock("2026-11-30T09:05:00Z", "Europe/Paris") == "10:05"
    assert clock("2026-07-01T09:05:00Z", "Europe/Paris") == "11:05"
    assert clock(None, "Europe/Paris") == ""


def test_pauses_and_adjustments_in_the_scripts_words() -> None:
    assert paused_for("2026-11-30T08:59:30Z", NOW) == "moins d'1 min"
    assert paused_for("2026-11-30T08:48:00Z", NOW) == "12 min"
    assert paused_for("2026-11-30T07:55:00Z", NOW) == "1 h 05"
    assert signed_minutes(15) == "+15 min" and signed_minutes(-5) == "−5 min"


def test_the_rows_that_need_a_supervisor_come_first_then_names_folded() -> None:
    running = CandidateStatus.IN_PROGRESS
    rows = [
        candidate(1, "Zola"),
        candidate(2, "Ébert"),
        candidate(3, "Martin", status=running, connection=Connection.LOST),
        candidate(4, "Durand", status=running, resume_requested=True),
        candidate(5, "Petit", status=running, overtime=True),
        candidate(6, "Roux", alert={"id": 9}),
        candidate(7, "d'Arc"),
        # Lost but not running: nothing a supervisor can do about it from the list.
        candidate(8, "Blanc", connection=Connection.LOST),
    ]
    assert [attention(c) for c in rows] == [4, 4, 2, 1, 3, 0, 4, 4]
    assert [c["id"] for c in dashboard_order(rows)] == [6, 4, 3, 5, 8, 7, 2, 1]
    counts = filter_counts(rows)
    assert counts == {"all": 8, "todo": 4, "not_started": 5, "in_progress": 3, "ended": 0}
