"""`bench cross-process` joins each supervisor action with the version the event log gave
it, then with the moment each dashboard applied that version, split by process."""

from __future__ import annotations

from typing import Any

from bench.stats import action_deliveries


def action(cid: int, name: str, sent: float, *, server: int = 0, status: int = 200) -> dict[str, Any]:
    return {
        "sid": 1,
        "cid": cid,
        "action": name,
        "server": server,
        "due": sent,
        "sent": sent,
        "done": sent + 0.002,
        "status": status,
    }


def dashboard(server: int, applied: dict[int, float], keep: bool = True) -> dict[str, Any]:
    return {"sid": 1, "server": server, "keep": keep, "applied": applied}


def test_each_action_is_timed_to_its_own_version_on_each_process() -> None:
    actions = [action(7, "pause", 10.0), action(7, "resume", 20.0, server=1)]
    logged = {(1, 7): [(41, "paused"), (43, "unpaused")]}
    # Version 42 is someone else's change (a lease, say): never taken for an action.
    dashboards = [
        dashboard(0, {41: 10.003, 42: 15.0, 43: 20.004}),
        dashboard(1, {41: 10.005, 42: 15.0, 43: 20.001}),
        dashboard(1, {41: 10.006, 42: 15.0, 43: 20.002}),
    ]
    out = action_deliveries(actions, logged, dashboards)
    assert out["matched_to_the_event_log"] == 2 and out["unmatched"] == 0
    assert out["expected_deliveries"] == {"other_process": 3, "same_process": 3}
    assert out["missing_deliveries"] == {"other_process": 0, "same_process": 0}
    assert out["other_process_ms"]["count"] == 3
    assert out["other_process_ms"]["max"] == 6.0  # first action, slower of the two pages of process 1
    assert out["same_process_ms"]["max"] == 3.0
    assert out["other_process_every_dashboard_ms"]["count"] == 2
    assert out["http_response_ms"]["p50"] == 2.0


def test_a_page_that_never_applied_the_version_is_missing_and_a_refusal_is_not_matched() -> None:
    actions = [action(7, "pause", 10.0), action(8, "pause", 11.0, status=409)]
    logged = {(1, 7): [(41, "paused")]}
    dashboards = [dashboard(0, {41: 10.003}), dashboard(1, {}), dashboard(1, {41: 10.004})]
    out = action_deliveries(actions, logged, dashboards)
    assert out["acknowledged"] == 1 and out["refused"] == ["pause 1/8: 409"]
    assert out["missing_deliveries"] == {"other_process": 1, "same_process": 0}
    # Not every page of the other process had it: no "every dashboard" figure for it.
    assert out["other_process_every_dashboard_ms"] == {"count": 0}


def test_an_event_log_that_disagrees_is_unmatched_not_guessed() -> None:
    actions = [action(7, "resume", 10.0)]
    out = action_deliveries(actions, {(1, 7): [(41, "paused")]}, [dashboard(1, {41: 10.001})])
    assert out["matched_to_the_event_log"] == 0 and out["unmatched"] == 1
