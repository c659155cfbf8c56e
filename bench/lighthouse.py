"""Lighthouse over every page of the three spaces, mobile and desktop, on a real server.

`scripts/lighthouse` runs it. A fresh `surveillance serve` on a temporary SQLite file holds
the guide's demo session grown to 30 candidates in every state a dashboard shows (waiting,
present, in progress, a resume request, finished); the logged-in pages are audited with the
demo account's cookie (Lighthouse's --extra-headers). Lighthouse comes from the npm registry
(installed under .cache/ by the script) and drives Debian's Chromium through CHROME_PATH.

    python -m bench.lighthouse [--runs N] [--write] [--only PATH]

Each page and preset is run N times and the run with the median performance score is kept.
--write puts the table into BENCHMARKS.md, section "Pages".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / ".cache" / "node_modules" / ".bin" / "lighthouse"
RESULTS = ROOT / "bench" / "results" / "lighthouse"
BIN = Path(sys.executable).parent / "surveillance"
DEMO_EMAIL = "surveillant@testix.fr"
CANDIDATES = 30
CATEGORIES = ("performance", "accessibility", "best-practices")
METRICS = {
    "first-contentful-paint": ("FCP", "ms"),
    "largest-contentful-paint": ("LCP", "ms"),
    "total-blocking-time": ("TBT", "ms"),
    "cumulative-layout-shift": ("CLS", ""),
    "speed-index": ("SI", "ms"),
}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"


@dataclass
class Page:
    name: str
    path: str
    logged_in: bool


@dataclass
class Result:
    page: Page
    preset: str
    scores: dict[str, int]
    metrics: dict[str, float]
    runs: list[int]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(folder: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A `surveillance serve` with the demo session; yields its URL and the demo's codes."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{folder / 'db.sqlite'}", SECRET_KEY="lighthouse-" + "l" * 32, LOG_PLAIN="1")
    out = subprocess.run(
        [str(BIN), "demo"], env=env, cwd=folder, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    codes = {
        "session": re.search(r"Numéro de session\s*:\s*(\d+)", out),
        "password": re.search(r"Mot de passe de la session\s*:\s*(\S+)", out),
        "code": re.search(r"Code d'accès\s*:\s*(\S+)", out),
        # The demo account's password is drawn anew by each `demo` and printed once.
        "demo_password": re.search(r"Mot de passe\s*:\s*(\S+)\s+\(affiché une seule fois\)", out),
    }
    found = {k: m.group(1) for k, m in codes.items() if m}
    assert len(found) == 4, out
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("ab")
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start: see " + str(folder / "server.log"))
            time.sleep(0.2)
        yield base, found
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def populate(base: str, codes: dict[str, str]) -> str:
    """The demo session grown to 30 candidates in every state; returns the demo account's cookie."""
    sid = int(codes["session"])
    staff = httpx.Client(base_url=base, headers={"Origin": base}, timeout=30)
    staff.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": codes["demo_password"]}).raise_for_status()
    staff.post(
        "/api/supervision/access", json={"session_id": sid, "supervisor_password": codes["password"]}
    ).raise_for_status()
    have = len(staff.get(f"/api/supervision/sessions/{sid}").json()["candidates"])
    first_names = [
        "Camille",
        "Lucas",
        "Chloé",
        "Hugo",
        "Inès",
        "Louis",
        "Jade",
        "Nathan",
        "Manon",
        "Théo",
        "Lina",
        "Jules",
        "Zoé",
    ]
    last_names = ["BERNARD", "PETIT", "ROBERT", "RICHARD", "MOREAU", "LAURENT"]
    for i in range(CANDIDATES - have):
        staff.post(
            f"/api/sessions/{sid}/candidates",
            json={
                "last_name": last_names[i % len(last_names)],
                "first_name": first_names[i % len(first_names)]
                + ("" if i < len(first_names) else " " + "ABC"[i // len(first_names)]),
                "birthdate": f"{1980 + i % 25}-{1 + i % 12:02d}-{1 + i % 27:02d}",
                "extra_time_percentage": 30 if i % 9 == 0 else 0,
            },
        ).raise_for_status()
    candidates = sorted(staff.get(f"/api/supervision/sessions/{sid}").json()["candidates"], key=lambda c: c["id"])

    def join(c: dict[str, Any]) -> dict[str, Any]:
        who = {k: c[k] for k in ("first_name", "last_name", "birthdate")}
        return {"session_id": sid, "access_code": codes["code"], **who}

    # A third waiting, a few present, most in progress at various points, some finished.
    for n, c in enumerate(candidates):
        if n % 3 == 0:
            continue
        staff.post(
            f"/api/supervision/sessions/{sid}/candidates/{c['id']}/presence", json={"authorized": True}
        ).raise_for_status()
        if n % 7 == 1:
            continue
        with httpx.Client(base_url=base, headers={"Origin": base}, timeout=30) as cand:
            cand.post("/api/candidate/join", json=join(c)).raise_for_status()
            cand.post("/api/candidate/start", json={"consent": True}).raise_for_status()
            answers = 16 if n % 5 == 0 else n % 14
            for _ in range(answers):
                question = cand.get("/api/candidate/test").json()["question"]
                if question is None:
                    break
                cand.post(
                    "/api/candidate/answers", json={"question_id": question["id"], "answer": 0}
                ).raise_for_status()
        if n % 11 == 2:
            # Comes back from another computer: a resume request the dashboard puts first.
            with httpx.Client(base_url=base, headers={"Origin": base}, timeout=30) as again:
                again.post("/api/candidate/join", json=join(c))
    cookie = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())
    staff.close()
    return cookie


def audit(url: str, preset: str, headers: Path | None, out: Path) -> dict[str, Any]:
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--only-categories=" + ",".join(CATEGORIES),
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    if headers is not None:
        command.append(f"--extra-headers={headers}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    # On a loaded machine Chromium sometimes loses the trace of the load (NO_NAVSTART, NO_FCP):
    # Lighthouse itself says to run it again, so once more before giving up.
    if done.returncode != 0 and "run Lighthouse again" in done.stderr:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed on {url} ({preset}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(out.read_text())
    if report.get("runtimeError"):
        raise RuntimeError(f"lighthouse: {report['runtimeError']}")
    return report


def summary(report: dict[str, Any]) -> tuple[dict[str, int], dict[str, float]]:
    scores = {k: round((report["categories"][k]["score"] or 0) * 100) for k in CATEGORIES}
    metrics = {k: float(report["audits"][k]["numericValue"]) for k in METRICS}
    return scores, metrics


def run(pages: list[Page], presets: list[str], runs: int, base: str, cookie: str, folder: Path) -> list[Result]:
    headers = folder / "headers.json"
    headers.write_text(json.dumps({"Cookie": cookie}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for page in pages:
        for preset in presets:
            found = []
            for i in range(runs):
                out = RESULTS / f"{page.name}-{preset}-{i}.json"
                out.unlink(missing_ok=True)
                report = audit(base + page.path, preset, headers if page.logged_in else None, out)
                found.append(summary(report))
            performance = [s["performance"] for s, _ in found]
            median = statistics.median_low(performance)
            scores, metrics = next(f for f in found if f[0]["performance"] == median)
            result = Result(page, preset, scores, metrics, performance)
            print(line(result), flush=True)
            results.append(result)
    return results


def line(r: Result) -> str:
    def metric(key: str) -> str:
        value = r.metrics[key]
        return f"{value:.3f}" if METRICS[key][1] == "" else f"{value:,.0f}".replace(",", " ")

    runs = "" if len(r.runs) == 1 else f" ({', '.join(map(str, r.runs))})"
    scores = " | ".join(str(r.scores[c]) + (runs if c == "performance" else "") for c in CATEGORIES)
    return (
        f"| {r.page.name} | `{r.page.path}` | {r.preset} | {scores} | "
        + " | ".join(metric(k) for k in METRICS)
        + " |"
    )


def table(results: list[Result]) -> str:
    head = (
        "| page | path | preset | performance | accessibility | best practices | "
        + " | ".join(f"{label}{' (ms)' if unit else ''}" for label, unit in METRICS.values())
        + " |"
    )
    rule = "|" + " --- |" * (head.count("|") - 1)
    return "\n".join([head, rule, *(line(r) for r in results)])


START, END = "<!-- lighthouse:start -->", "<!-- lighthouse:end -->"


def write_benchmarks(text: str) -> None:
    """The table goes between the section's markers; the prose around it is kept."""
    path = ROOT / "BENCHMARKS.md"
    doc = path.read_text()
    block = f"{START}\n{text.strip()}\n{END}"
    if START in doc and END in doc:
        doc = doc[: doc.index(START)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n## Pages\n\n" + block + "\n"
    path.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lighthouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per page and preset (the median is kept)")
    parser.add_argument("--preset", choices=["mobile", "desktop"], action="append", help="default: both")
    parser.add_argument("--only", action="append", help="only the pages whose name contains this")
    parser.add_argument("--write", action="store_true", help="put the table into BENCHMARKS.md (section Pages)")
    args = parser.parse_args(argv)
    if not LIGHTHOUSE.exists():
        print(f"Lighthouse is missing ({LIGHTHOUSE}): run scripts/lighthouse, which installs it.", file=sys.stderr)
        return 2
    presets = args.preset or ["mobile", "desktop"]
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp, server(Path(tmp)) as (base, codes):
        cookie = populate(base, codes)
        sid = codes["session"]
        pages = [
            Page("home", "/", False),
            Page("login", "/connexion", False),
            Page("signup", "/inscription", False),
            Page("candidate", "/certification", False),
            Page("supervisor access", "/surveillance", True),
            Page("supervisor help", "/surveillance/aide", False),
            Page("dashboard", f"/surveillance/sessions/{sid}", True),
            Page("centre", "/centre", True),
            Page("centre session", f"/centre/sessions/{sid}", True),
        ]
        if args.only:
            pages = [p for p in pages if any(o in p.name for o in args.only)]
        print(table([]), flush=True)
        results = run(pages, presets, args.runs, base, cookie, Path(tmp))
    version = subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True).stdout.strip()
    chromium = subprocess.run(
        [os.environ.get("CHROME_PATH", "/usr/bin/chromium"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg()
    note = (
        f"Lighthouse {version}, {chromium}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC "
        f"({(dt.datetime.now(dt.UTC) - started).seconds // 60} min), {args.runs} run(s) per page and preset "
        f"(the run with the median performance score is shown, all scores in brackets), load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores. Dashboard: {CANDIDATES} candidates."
    )
    text = table(results) + "\n\n" + note
    print("\n" + note)
    if args.write:
        write_benchmarks(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
