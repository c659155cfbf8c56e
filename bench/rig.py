"""One exam day on real processes: servers up, day planned through the API, browsers
spread over the load-generator processes, then measured windows and the final check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench import plan
from bench.fleet import Fleet
from bench.plan import Day, Endpoint
from bench.stack import (
    RESULTS,
    PgDatabase,
    RedisServer,
    Server,
    Usage,
    app_env,
    app_server,
    free_port,
    postgres_pids,
)
from bench.stats import answers_sent, deliveries
from bench.wire import HttpClient


@dataclass
class Shape:
    sessions: int = 100
    candidates_per_session: int = 20
    supervisors_per_session: int = 3
    period: float = 2.0  # one answer per candidate every period seconds
    heartbeat: float = 5.0
    duration: float = 60.0
    app_processes: int = 1
    redis: bool = False
    database: str = "postgresql"
    workers: int = 2
    deflate: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def candidates(self) -> int:
        return self.sessions * self.candidates_per_session

    def describe(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "candidates": self.candidates,
            "supervisors": self.sessions * self.supervisors_per_session,
            "answer_period_s": self.period,
            "offered_events_per_s": round(self.candidates / self.period, 1),
            "offered_deliveries_per_s": round(self.candidates / self.period * self.supervisors_per_session, 1),
            "heartbeat_s": self.heartbeat,
            "duration_s": self.duration,
            "app_processes": self.app_processes,
            "broker": "redis" if self.redis else "memory",
            "database": self.database,
            "load_generator_processes": self.workers,
            "permessage_deflate": self.deflate,
        }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def dashboards_seen(verdicts: Counter[str], bad: list[dict[str, Any]], dash: list[dict[str, Any]]) -> dict[str, Any]:
    """Every dashboard's verdict against the final state, and what each saw on the way: the
    run is complete when all are equal and none saw a hole or a double."""
    return {
        "complete": set(verdicts) == {"equal"} and all(d["gaps"] == 0 and d["duplicates"] == 0 for d in dash),
        "dashboards_checked": sum(verdicts.values()),
        "verdicts": dict(verdicts),
        "first_mismatches": bad,
        "version_gaps_seen_by_clients": sum(d["gaps"] for d in dash),
        "duplicates_seen_by_clients": sum(d["duplicates"] for d in dash),
        "reconnects": sum(d["reconnects"] for d in dash),
        "snapshots_received": sum(d["snapshots"] for d in dash),
    }


class Rig:
    def __init__(self, shape: Shape, label: str) -> None:
        self.shape = shape
        self.label = label
        self.log_dir = RESULTS / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.db: PgDatabase | None = None
        self.sqlite_dir: tempfile.TemporaryDirectory[str] | None = None
        self.redis: RedisServer | None = None
        self.servers: list[Server] = []
        self.fleet: Fleet | None = None
        self.day: Day | None = None
        self.endpoints: list[Endpoint] = []
        self.env: dict[str, str] = {}
        self.dashboards: list[dict[str, Any]] = []
        # Candidates whose join (and socket) succeeded, when up_floor opens their sockets.
        self.floor_candidates_joined = 0

    # ------------------------------------------------------------ bring up

    async def up(self, *, confirm: bool = True, start: bool = True) -> Rig:
        shape = self.shape
        if shape.database == "sqlite":
            self.sqlite_dir = tempfile.TemporaryDirectory(prefix="bench-sqlite-")
            url = f"sqlite:///{self.sqlite_dir.name}/bench.db"
        else:
            self.db = PgDatabase(self.label).create()
            url = self.db.url
        if shape.redis:
            self.redis = RedisServer().start()
        self.env = app_env(url, self.redis.url if self.redis else None, **shape.extra_env)
        # The first process migrates alone; the others start once the schema exists.
        first = app_server(self.env, self.log_dir).start()
        self.servers = [first]
        others = [app_server(self.env, self.log_dir) for _ in range(shape.app_processes - 1)]
        for s in others:
            s.start()
        self.servers += others
        self.endpoints = [Endpoint("127.0.0.1", s.port) for s in self.servers]
        log(f"{len(self.servers)} app process(es) up on {[s.port for s in self.servers]}")
        self.fleet = Fleet(shape.workers)
        self.day = await plan.plan_day(
            self.endpoints,
            self.env,
            sessions=shape.sessions,
            candidates_per_session=shape.candidates_per_session,
            supervisors_per_session=shape.supervisors_per_session,
            confirm_presence=confirm,
            label=self.label,
        )
        log(
            f"planned {shape.sessions} sessions, {shape.candidates} candidates, {len(self.day.supervisors)} supervisors"
        )
        await self._distribute()
        r = await self.fleet.all("connect_dashboards")
        log(f"dashboards connected: {sum(x['connected'] for x in r)} {[x['errors'] for x in r if x['errors']]}")
        if confirm:
            # Beating from the moment each socket opens, as a browser does: started after the
            # last join (a minute at full size), the first sockets' leases ran out meanwhile
            # and the server rightly showed their candidates « connexion perdue ».
            await self.fleet.all("heartbeats", every=shape.heartbeat)
            r = await self.fleet.all("join", start=start)
            errors = [x["errors"] for x in r if x["errors"]]
            log(f"candidates joined{' and started' if start else ''}: {sum(x['ok'] for x in r)} {errors}")
        return self

    async def up_floor(self, *, candidate_sockets: bool = False) -> Rig:
        """The same browsers against the bench's bare Redis-to-websocket server (no app, no DB):
        `shape.app_processes` floor processes sharing one Redis, each supervisor's page on the
        process `Rig.up` would give it. With `candidate_sockets`, candidates also join and keep
        a socket that heartbeats (otherwise they only answer over HTTP)."""
        shape = self.shape
        self.redis = RedisServer().start()
        for _ in range(shape.app_processes):
            port = free_port()
            argv = [sys.executable, "-m", "bench.floor", str(port), self.redis.url]
            self.servers.append(Server(argv, dict(os.environ), self.log_dir / f"floor-{port}.log", port).start())
            self.endpoints.append(Endpoint("127.0.0.1", port))
        log(f"{len(self.servers)} floor process(es) up on {[s.port for s in self.servers]}")
        self.fleet = Fleet(shape.workers)
        sessions = [
            plan.Session(
                sid,
                "",
                "",
                [
                    {"id": sid * 1000 + i, "last_name": "", "first_name": ""}
                    for i in range(shape.candidates_per_session)
                ],
            )
            for sid in range(1, shape.sessions + 1)
        ]
        # As plan.plan_day spreads them: supervisor i on process i % processes.
        sups = [
            plan.Supervisor(i, f"sup{i}", sessions[i // shape.supervisors_per_session].id, i % len(self.endpoints), {})
            for i in range(shape.sessions * shape.supervisors_per_session)
        ]
        self.day = Day(sessions, sups, {})
        await self._distribute(floor=True)
        r = await self.fleet.all("connect_dashboards")
        log(f"floor dashboards connected: {sum(x['connected'] for x in r)} {[x['errors'] for x in r if x['errors']]}")
        await self.fleet.all("heartbeats", every=shape.heartbeat)
        if candidate_sockets:
            r = await self.fleet.all("join", start=False)
            self.floor_candidates_joined = sum(x["ok"] for x in r)
            errors = [x["errors"] for x in r if x["errors"]]
            log(f"floor candidates joined, sockets open: {self.floor_candidates_joined} {errors}")
        return self

    async def _distribute(self, floor: bool = False) -> None:
        assert self.fleet is not None and self.day is not None
        n = self.fleet.size
        dash: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        exa: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        for sup in self.day.supervisors:
            ep = self.endpoints[sup.server]
            cookie = "; ".join(f"{k}={v}" for k, v in sup.cookies.items())
            d = {"index": sup.index, "sid": sup.sid, "host": ep.host, "port": ep.port, "cookie": cookie}
            self.dashboards.append(d)
            dash[sup.index % n].append(d)
        i = 0
        for s in self.day.sessions:
            for c in s.candidates:
                ep = self.endpoints[i % len(self.endpoints)]
                identity = {"last_name": c["last_name"], "first_name": c["first_name"], "birthdate": plan.BIRTH}
                exa[i % n].append(
                    {
                        "sid": s.id,
                        "cid": c["id"],
                        "identity": identity,
                        "access_code": s.access_code,
                        "host": ep.host,
                        "port": ep.port,
                    }
                )
                i += 1
        deflate = self.shape.deflate
        await self.fleet.each(
            "setup",
            [{"dashboards": dash[w], "examinees": exa[w], "deflate": deflate, "floor": floor} for w in range(n)],
        )

    # ------------------------------------------------------------ measuring

    def usages(self) -> list[Usage]:
        assert self.fleet is not None
        groups = [
            Usage("server", [s.pid for s in self.servers]),
            Usage("postgresql", postgres_pids() if self.shape.database == "postgresql" else []),
            Usage("load_generator", self.fleet.pids),
        ]
        if self.redis and self.redis.proc:
            groups.append(Usage("redis", [self.redis.proc.pid]))
        return groups

    async def sampled(self, coro: Any, every: float | None = 1.0) -> tuple[Any, dict[str, Any]]:
        """Run coro while sampling CPU and RSS of every process involved, every `every`
        seconds; None reads them at both ends only, for a coro whose own stamps a sampling
        pass on this loop would delay."""
        usages = self.usages()
        for u in usages:
            u.start()
        before = psutil.cpu_times()
        task = asyncio.ensure_future(coro)
        while not task.done():
            await asyncio.wait([task], timeout=every)
            for u in usages:
                u.sample()
        for u in usages:
            u.stop()
        after = psutil.cpu_times()
        out: dict[str, Any] = {u.label: u.summary() for u in usages}
        wall = max(usages[0].wall_end - usages[0].wall_start, 1e-9)
        busy = sum(after) - sum(before) - (after.idle - before.idle) - (after.iowait - before.iowait)
        ours = sum(u.cpu_end - u.cpu_start for u in usages)
        # Other sessions share this machine: what they used in the window, so a reader can discount it.
        out["machine"] = {
            "cpu_busy_percent_of_one_core": round(100 * busy / wall, 1),
            "cpu_outside_this_benchmark_percent_of_one_core": round(100 * max(0.0, busy - ours) / wall, 1),
            "load_average_1min": round(psutil.getloadavg()[0], 2),
        }
        return task.result(), out

    def offsets(self) -> dict[str, float]:
        assert self.day is not None
        keys = [f"{s.id}:{c['id']}" for s in self.day.sessions for c in s.candidates]
        random.Random(7).shuffle(keys)
        n = len(keys)
        return {k: self.shape.period * i / n for i, k in enumerate(keys)}

    async def answer_for(
        self, duration: float, lead: float = 1.0, period: float | None = None
    ) -> tuple[float, float, dict[str, Any]]:
        """Candidates answer on their schedule for `duration` seconds; returns the window
        and the resources used, with what could not even be sent in time."""
        assert self.fleet is not None
        t0 = time.monotonic() + lead
        period = period or self.shape.period
        offsets = {k: v * period / self.shape.period for k, v in self.offsets().items()}
        run = self.fleet.all("run", t0=t0, duration=duration, period=period, offsets=offsets)
        runs, usage = await self.sampled(run)
        usage["answers_sent"] = sum(r["answers"] for r in runs)
        usage["bytes"] = {k: sum(r["bytes"][k] for r in runs) for k in runs[0]["bytes"]}
        usage["bytes_seconds"] = round(max(r["bytes_seconds"] for r in runs), 2)
        usage["answers_due_but_never_sent"] = sum(r["unsent"] for r in runs)
        usage["wall_seconds_until_last_answer"] = round(time.monotonic() - t0, 1)
        return t0, t0 + duration, usage

    async def results(self) -> list[dict[str, Any]]:
        assert self.fleet is not None
        return await self.fleet.all("results")

    def latency(self, results: list[dict[str, Any]], window: tuple[float, float], **kw: Any) -> dict[str, Any]:
        sent = answers_sent(results)
        out = deliveries(results, sent, window=window, **kw)
        # A saturated server acknowledges the window's answers after it ends: the rate is
        # over the time it actually took.
        seconds = max(window[1], out.pop("last_acknowledgement")) - window[0]
        out["seconds_to_acknowledge_the_window"] = round(seconds, 1)
        out["events_per_s"] = round(out["answers"] / seconds, 1)
        out["deliveries_per_s"] = round((out["expected_deliveries"] - out["missing_deliveries"]) / seconds, 1)
        return out

    # ------------------------------------------------------------ checks

    async def completeness(self, settle: float = 1.0) -> dict[str, Any]:
        """Every dashboard against the database: same version, same candidates, same supervisors."""
        assert self.fleet is not None and self.day is not None
        await asyncio.sleep(settle)
        # A session still changing (a lease running out, say) is read again until its
        # dashboards and the database agree at one version; settled sessions are kept.
        final: dict[int, dict[str, Any]] = {}
        pending = {s.id for s in self.day.sessions}
        attempts = 0
        while pending and attempts < 10:
            attempts += 1
            snaps = await plan.snapshots(self.day, self.endpoints, only=pending)
            targets = {sid: s["version"] for sid, s in snaps.items()}
            await self.fleet.all("wait_versions", targets=targets, timeout=20)
            checks = [c for part in await self.fleet.all("check", snapshots=snaps) for c in part]
            by_session: dict[int, list[dict[str, Any]]] = {}
            for c in checks:
                by_session.setdefault(c["sid"], []).append(c)
            for sid, cs in by_session.items():
                if all(c["verdict"] != "ahead" for c in cs):
                    pending.discard(sid)
                for c in cs:
                    final[c["index"]] = c
            pending &= set(by_session)
        verdicts = Counter(c["verdict"] for c in final.values())
        bad = [c for c in final.values() if c["verdict"] != "equal"][:5]
        results = await self.results()
        dash = [d for w in results for d in w["dashboards"] if d["keep"]]
        log_ok = self.event_log_contiguous()
        seen = dashboards_seen(verdicts, bad, dash)
        return {
            **seen,
            "complete": seen["complete"] and log_ok is not False,
            "heartbeat_detected_gaps": sum(d["heartbeat_gaps"] for d in dash),
            "event_log_contiguous": log_ok,
            "answer_errors": sum(len(e["errors"]) for w in results for e in w["examinees"]),
            "first_answer_errors": [x for w in results for e in w["examinees"] for x in e["errors"]][:3],
        }

    def event_log_contiguous(self) -> bool | None:
        """In the database itself: versions 1..n with no hole nor double, per session."""
        if self.db is None:
            return None
        out = self.db.query(
            "SELECT count(*) FROM (SELECT e.session_id FROM session_event e JOIN exam_session s ON s.id = e.session_id "
            "GROUP BY e.session_id, s.version HAVING count(*) <> s.version OR min(e.version) <> 1 "
            "OR max(e.version) <> s.version OR count(DISTINCT e.version) <> count(*)) bad"
        )
        return out == "0"

    async def metrics(self) -> list[str]:
        texts = []
        for ep in self.endpoints:
            client = HttpClient(ep.host, ep.port)
            r = await client.get("/metrics")
            client.close()
            texts.append(r.body.decode())
        return texts

    # ------------------------------------------------------------ tear down

    async def down(self) -> None:
        if self.fleet is not None:
            await self.fleet.close()
        for s in self.servers:
            s.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.db is not None:
            self.db.drop()
        if self.sqlite_dir is not None:
            with contextlib.suppress(OSError):
                self.sqlite_dir.cleanup()


def metric_value(texts: list[str], name: str) -> float:
    """Sum of a Prometheus series over every process (labels ignored)."""
    total = 0.0
    for text in texts:
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                head, _, value = line.rpartition(" ")
                if head.split("{")[0] == name:
                    total += float(value)
    return total


def result_path(name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}.json"
