"""The records' pure parts: timelines rebuilt from events, formula-safe CSV cells, and a
page on hold counted as waiting."""

from __future__ import annotations

import datetime as dt

from app.actions.candidate_test import is_waiting
from app.records import Mark, Slice, _safe, _timeline

T0 = dt.datetime(2021, 12, 28, 10, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def event(minutes: float, action: str, connection: str = "connected", resume: bool = False) -> dict[str, object]:
    return {
        "at": at(minutes).isoformat().replace("+00:00", "Z"),
        "action": action,
        "candidate": {"connection": connection, "resume_requested": resume},
    }


def test_timeline_periods_and_marks() -> None:
    events = [
        event(-5, "presence_confirmed", "never"),
        event(0, "started", "never"),
        event(0.1, "connected"),
        event(10, "alert_raised"),
        event(20, "connection_lost", "lost"),
        event(21, "resume_requested", "lost", resume=True),
        event(23, "resumed", "lost"),
        event(23.2, "connected"),
        event(40, "finished"),
    ]
    slices, marks = _timeline(events, at(0), at(40))
    assert slices == [
        Slice(at(0.1), at(20), "connected"),
        Slice(at(20), at(21), "lost"),
        Slice(at(21), at(23), "waiting"),
        Slice(at(23), at(23.2), "lost"),
        Slice(at(23.2), at(40), "connected"),
    ]
    assert sorted(marks, key=lambda m: m.at) == [
        Mark(at(0), "start"),
        Mark(at(10), "alert"),
        Mark(at(23), "resume"),
        Mark(at(40), "end"),
    ]


def test_a_test_never_started_has_no_timeline() -> None:
    assert _timeline([event(0, "presence_confirmed", "never")], None, None) == ([], [])


def test_formulas_are_never_run_by_a_spreadsheet() -> None:
    for dangerous in ("=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert _safe(dangerous) == "'" + dangerous
    assert _safe("Arrivée à 11 h 20") == "Arrivée à 11 h 20"


def test_a_question_on_hold_is_a_waiting_page() -> None:
    running = {"status": "in_progress", "authorized_to_start": False, "resume_requested": False}
    assert not is_waiting({**running, "alert": None})
    assert is_waiting({**running, "alert": {"id": 1, "status": "pending"}})


def test_the_candidate_never_sees_the_staff_only_fields() -> None:
    from vocabulary import own_view

    view = {"id": 1, "status": "in_progress", "alert": None, "reports_count": 2}
    assert own_view(view) == {"id": 1, "status": "in_progress", "alert": None}
