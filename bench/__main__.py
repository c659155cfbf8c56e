"""`python -m bench <scenario> [--quick]`: run one scenario, print its figures, keep the JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bench import scenarios
from bench.rig import log, result_path
from bench.stack import machine, raise_fd_limit

Runner = Callable[[argparse.Namespace], Awaitable[dict[str, Any]]]

SCENARIOS: dict[str, tuple[str, Runner]] = {
    "exam-day": ("1. exam day, one process (PostgreSQL)", lambda a: scenarios.exam_day(a.quick, a.database)),
    "two-processes": ("2. two processes + Redis", lambda a: scenarios.two_processes(a.quick)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql", help="exam-day only")
    parser.add_argument("--out", help="where to write the JSON result (default: bench/results/)")
    args = parser.parse_args(argv)
    raise_fd_limit()
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "scenarios": {}}

    async def run_all() -> None:
        for name in names:
            title, runner = SCENARIOS[name]
            log(f"=== {title}{' (quick)' if args.quick else ''}")
            report["scenarios"][name] = {"title": title, **await runner(args)}
            print(json.dumps(report["scenarios"][name], indent=1)[:6000], flush=True)

    try:
        import uvloop

        uvloop.run(run_all())
    except ImportError:
        asyncio.run(run_all())
    path = args.out or str(result_path(args.scenario + ("-quick" if args.quick else "")))
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
