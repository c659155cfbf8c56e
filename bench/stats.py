"""Percentiles and the joins of send stamps with receipt stamps."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def percentiles(values: Iterable[float], scale: float = 1000.0) -> dict[str, Any]:
    """Nearest-rank p50 / p99 / p99.9 / max, in milliseconds by default."""
    data = sorted(values)
    n = len(data)
    if not n:
        return {"count": 0}

    def rank(p: float) -> float:
        return data[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] * scale

    return {
        "count": n,
        "p50": round(rank(50), 2),
        "p90": round(rank(90), 2),
        "p99": round(rank(99), 2),
        "p99.9": round(rank(99.9), 2),
        "max": round(data[-1] * scale, 2),
        "mean": round(sum(data) / n * scale, 2),
    }


def answers_sent(results: list[dict[str, Any]]) -> dict[tuple[int, int, int], tuple[float, float, float]]:
    """(session, candidate, answers given) -> (scheduled, sent, acknowledged)."""
    out: dict[tuple[int, int, int], tuple[float, float, float]] = {}
    for w in results:
        for e in w["examinees"]:
            for k, scheduled, sent, done in e["answers"]:
                out[(e["sid"], e["cid"], k)] = (scheduled, sent, done)
    return out


def deliveries(
    results: list[dict[str, Any]],
    sent: dict[tuple[int, int, int], tuple[float, float, float]],
    *,
    window: tuple[float, float] | None = None,
    kind: str = "dashboards",
    only: set[int] | None = None,
) -> dict[str, Any]:
    """Latency of every answer to every watcher of its session (dashboards or pollers),
    from the answer's scheduled send time; and how many never arrived."""
    watchers: dict[int, list[dict[tuple[int, int], float]]] = defaultdict(list)
    for w in results:
        for d in w[kind]:
            if kind == "dashboards" and (not d["keep"] or (only is not None and d["index"] not in only)):
                continue
            watchers[d["sid"]].append({(cid, k): t for cid, k, t in d["seen"]})
    from_schedule: list[float] = []
    from_send: list[float] = []
    client_lag: list[float] = []
    response: list[float] = []
    expected = missing = 0
    last_ack = 0.0
    for (sid, cid, k), (scheduled, at, done) in sent.items():
        if window is not None and not window[0] <= scheduled < window[1]:
            continue
        last_ack = max(last_ack, done)
        client_lag.append(at - scheduled)
        response.append(done - at)
        for seen in watchers.get(sid, ()):
            expected += 1
            t = seen.get((cid, k))
            if t is None:
                missing += 1
                continue
            from_schedule.append(t - scheduled)
            from_send.append(t - at)
    return {
        "answers": sum(1 for v in sent.values() if window is None or window[0] <= v[0] < window[1]),
        "last_acknowledgement": last_ack,
        "expected_deliveries": expected,
        "missing_deliveries": missing,
        "latency_ms": percentiles(from_schedule),
        "latency_from_actual_send_ms": percentiles(from_send),
        "client_send_lag_ms": percentiles(client_lag),
        "http_answer_response_ms": percentiles(response),
    }


# What each supervisor action of `bench cross-process` is called in the event log.
LOGGED_AS = {"pause": "paused", "resume": "unpaused"}


def action_deliveries(
    actions: list[dict[str, Any]],
    logged: dict[tuple[int, int], list[tuple[int, str]]],
    dashboards: list[dict[str, Any]],
) -> dict[str, Any]:
    """Supervisor actions joined with the version the event log gave each, then with the
    moment every dashboard of the session applied that version, from the request's send.

    actions: {sid, cid, action, server, due, sent, done, status} (server: the process
    that served the request); logged: (session, candidate) -> [(version, action name)] in version
    order; dashboards: {sid, server, keep, applied: {version: time}}. The actions of one
    candidate never overlap (each is answered before the next is sent), so the k-th
    acknowledged action of a candidate is its k-th logged one."""
    by_candidate: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for a in sorted(actions, key=lambda a: a["sent"]):
        if a["status"] == 200:
            by_candidate[(a["sid"], a["cid"])].append(a)
    versions: list[tuple[dict[str, Any], int]] = []
    unmatched = 0
    for key, acked in by_candidate.items():
        log = logged.get(key, [])
        for k, a in enumerate(acked):
            if k < len(log) and log[k][1] == LOGGED_AS[a["action"]]:
                versions.append((a, log[k][0]))
            else:
                unmatched += 1
    watchers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for d in dashboards:
        if d["keep"]:
            watchers[d["sid"]].append(d)
    groups: dict[str, list[float]] = {"other_process": [], "same_process": [], "other_process_every_dashboard": []}
    expected = {"other_process": 0, "same_process": 0}
    missing = {"other_process": 0, "same_process": 0}
    for a, version in versions:
        other: list[float | None] = []
        for d in watchers.get(a["sid"], ()):
            group = "same_process" if d["server"] == a["server"] else "other_process"
            expected[group] += 1
            t = d["applied"].get(version)
            delay = None if t is None else t - a["sent"]
            if delay is None:
                missing[group] += 1
            else:
                groups[group].append(delay)
            if group == "other_process":
                other.append(delay)
        # Until the last page of the other process shows it: only if every one did.
        if other and None not in other:
            groups["other_process_every_dashboard"].append(max(x for x in other if x is not None))
    return {
        "actions": len(actions),
        "acknowledged": sum(len(v) for v in by_candidate.values()),
        "refused": [f"{a['action']} {a['sid']}/{a['cid']}: {a['status']}" for a in actions if a["status"] != 200][:3],
        "matched_to_the_event_log": len(versions),
        "unmatched": unmatched,
        "expected_deliveries": expected,
        "missing_deliveries": missing,
        "other_process_ms": percentiles(groups["other_process"]),
        "other_process_every_dashboard_ms": percentiles(groups["other_process_every_dashboard"]),
        "same_process_ms": percentiles(groups["same_process"]),
        "http_response_ms": percentiles(a["done"] - a["sent"] for a, _ in versions),
        "client_send_lag_ms": percentiles(a["sent"] - a["due"] for a in actions),
    }
