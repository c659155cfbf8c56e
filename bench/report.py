"""Markdown tables from a result file, for BENCHMARKS.md.

python -m bench.report bench/results/FILE.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _lat(lat: dict[str, Any]) -> str:
    if not lat.get("count"):
        return "– | – | – | –"
    return f"{lat['p50']:g} | {lat['p99']:g} | {lat['p99.9']:g} | {lat['max']:g}"


def _cpu(usage: dict[str, Any], key: str) -> str:
    u = usage.get(key)
    return f"{u['cpu_percent_of_one_core']:g}" if u else "–"


def steady_row(name: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {name} | error: {r['error']} |"
    shape, lat, usage, comp = r["shape"], r["latency"], r["usage"], r["completeness"]
    return (
        f"| {name} | {shape['offered_events_per_s']:g} | {lat['events_per_s']:g} | {lat['deliveries_per_s']:g} | "
        f"{_lat(lat['latency_ms'])} | {lat['http_answer_response_ms'].get('p50', '–')} | "
        f"{_cpu(usage, 'server')} | {usage['server']['rss_max_mb']:g} | {_cpu(usage, 'postgresql')} | "
        f"{_cpu(usage, 'redis')} | {_cpu(usage, 'load_generator')} | "
        f"{usage['machine']['cpu_outside_this_benchmark_percent_of_one_core']:g} | "
        f"{usage.get('answers_due_but_never_sent', 0)} | {lat['missing_deliveries']} | "
        f"{'yes' if comp.get('complete') else 'NO'} |"
    )


def action_rows(r: dict[str, Any]) -> list[str]:
    """Scenario 9: one row per group, from the request's send."""
    if "error" in r:
        return [f"| error: {r['error']} |"]
    d = r["delivery"]
    rows = []
    for label, key in (
        ("other process, each dashboard", "other_process_ms"),
        ("other process, last dashboard of the action", "other_process_every_dashboard_ms"),
        ("same process, each dashboard", "same_process_ms"),
        ("HTTP response", "http_response_ms"),
    ):
        lat = d[key]
        figures = (
            f"{lat['p50']:g} | {lat['p90']:g} | {lat['p99']:g} | {lat['max']:g}"
            if lat.get("count")
            else "– | – | – | –"
        )
        rows.append(f"| {label} | {lat['count']} | {figures} |")
    return rows


def main() -> None:
    with open(sys.argv[1]) as f:
        report = json.load(f)
    m = report["machine"]
    print(f"Machine: {m['nproc']} cores, {m['cpu_model']}, {m['ram_gib']} GiB, Python {m['python']}\n")
    s = report["scenarios"]
    print(
        "| run | offered ev/s | achieved ev/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | "
        "HTTP answer p50 ms | server CPU % | server RSS max MB | PostgreSQL CPU % | Redis CPU % | "
        "load generator CPU % | other sessions' CPU % | answers never sent | missing deliveries | complete |"
    )
    print("|" + "---|" * 19)
    for key in ("exam-day", "exam-day-paced", "exam-day-sqlite", "two-processes", "floor"):
        if key in s:
            r = s[key]
            if key == "floor" and "error" not in r:
                r = {**r, "completeness": {"complete": r["completeness"]["version_gaps_seen_by_clients"] == 0}}
            print(steady_row(key, r))
    if "cross-process" in s:
        print("\n| single supervisor action at idle, from its send | count | p50 ms | p90 ms | p99 ms | max ms |")
        print("|" + "---|" * 6)
        print("\n".join(action_rows(s["cross-process"])))
    print()
    print(json.dumps({k: v.get("targets") for k, v in s.items()}, indent=1))


if __name__ == "__main__":
    main()
