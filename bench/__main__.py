"""`python -m bench <scenario> [--quick]`: run one scenario, print its figures, keep the JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bench import scenarios, wakeups
from bench.rig import log, result_path
from bench.stack import cleanup, machine, raise_fd_limit

Runner = Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]

SCENARIOS: dict[str, tuple[str, Runner]] = {
    "exam-day": (
        "1. exam day, one process",
        lambda a: scenarios.exam_day(a.quick, a.database, **_overrides(a)),
    ),
    "exam-day-paced": (
        "1b. exam day, one process, answers paced at 1 per 20 s",
        lambda a: scenarios.exam_day_paced(a.quick),
    ),
    "exam-day-sqlite": (
        "1c. exam day paced, one process on SQLite",
        lambda a: scenarios.exam_day_paced(a.quick, "sqlite"),
    ),
    "two-processes": ("2. two processes + Redis", lambda a: scenarios.two_processes(a.quick)),
    "polling": ("3. push against polling every 5 s", lambda a: scenarios.polling(a.quick)),
    "floor": ("4. the floor: bare Redis PUBLISH -> websocket", lambda a: scenarios.floor(a.quick)),
    "floor-paced": ("4b. the floor at the paced rate", lambda a: scenarios.floor(a.quick, paced=True)),
    "capacity": ("5. idle sockets held by one process", lambda a: scenarios.capacity(a.quick)),
    "storm": ("6. reconnect storm", lambda a: scenarios.storm(a.quick)),
    "slow-consumer": ("7. 2% of supervisors stop reading", lambda a: scenarios.slow_consumer(a.quick)),
    "start-burst": ("8. exam start burst", lambda a: scenarios.start_burst(a.quick)),
    "cross-process": (
        "9. single supervisor actions at idle, to the other process",
        lambda a: scenarios.cross_process(a.quick),
    ),
    "cross-floor": (
        "9f. the floor of 9: the same single actions, bare Redis PUBLISH -> websocket on two processes",
        lambda a: scenarios.cross_floor(a.quick),
    ),
    "wakeups": (
        "9w. the pieces of 9 on this machine: one round trip back to back and after idle",
        lambda a: asyncio.to_thread(wakeups.measure, a.quick),
    ),
    "soak": ("soak: RSS and open files over a long run", lambda a: scenarios.soak(a.quick, a.minutes)),
}
# Half an hour on its own: not part of `all`.
LONG = {"soak"}


def _overrides(a: argparse.Namespace) -> dict[str, Any]:
    names = ("sessions", "candidates_per_session", "period", "duration")
    changes = {n: getattr(a, n) for n in names if getattr(a, n) is not None}
    if a.processes is not None:
        changes["app_processes"] = a.processes
    if a.redis or (a.processes or 1) > 1:
        changes["redis"] = True  # several processes only see each other's events through Redis
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql", help="exam-day only")
    parser.add_argument("--out", help="where to write the JSON result (default: bench/results/)")
    # Exploring beyond the sizes (exam-day only): e.g. the highest rate one process keeps up with.
    parser.add_argument("--sessions", type=int)
    parser.add_argument("--candidates-per-session", type=int)
    parser.add_argument("--period", type=float, help="seconds between two answers of a candidate")
    parser.add_argument("--processes", type=int, help="app processes (2 or more implies --redis)")
    parser.add_argument("--redis", action="store_true", help="Redis pub/sub as the broker, even for one process")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--minutes", type=float, default=30.0, help="soak only: how long")
    parser.add_argument("--label", default="", help="suffix of the result file name")
    args = parser.parse_args(argv)
    raise_fd_limit()
    names = [n for n in SCENARIOS if n not in LONG] if args.scenario == "all" else [args.scenario]
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "scenarios": {}}

    path = args.out or str(result_path(args.scenario + ("-quick" if args.quick else "") + args.label))

    async def run_all() -> None:
        for name in names:
            title, runner = SCENARIOS[name]
            log(f"=== {title}{' (quick)' if args.quick else ''}")
            try:
                report["scenarios"][name] = {"title": title, **await runner(args)}
            except Exception as exc:
                if len(names) == 1:
                    raise
                # One broken scenario must not cost the others of a long run.
                log(f"{name} failed: {exc!r}")
                report["scenarios"][name] = {"title": title, "error": repr(exc)}
            print(json.dumps(report["scenarios"][name], indent=1)[:6000], flush=True)
            with open(path, "w") as f:
                json.dump(report, f, indent=1)

    # SIGTERM unwinds like Ctrl-C, so the servers and databases of the run are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        import uvloop

        uvloop.run(run_all())
    except ImportError:
        asyncio.run(run_all())
    finally:
        cleanup()
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
