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
