"""A load-generator process: owns a share of the dashboards, candidates and
pollers, and runs the orchestrator's commands on its own uvloop event loop.

Every timestamp is ``time.monotonic()``, one clock for every process of the
machine, so a send stamped here and a receipt stamped in another worker compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import traceback
from multiprocessing.connection import Connection
from typing import Any

from bench.actors import Dashboard, Examinee, Poller, comparable, now
from bench.stack import raise_fd_limit
from bench.wire import WsClient, ws_connect


async def _bounded(items: list[Any], fn: Any, limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(item: Any) -> Any:
        async with gate:
            try:
                return await fn(item)
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(one(i) for i in items)))


def _errors(results: list[Any]) -> list[str]:
    return [repr(r) for r in results if isinstance(r, BaseException)][:5]


class Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.dashboards: list[Dashboard] = []
        self.examinees: list[Examinee] = []
        self.pollers: list[Poller] = []
        self.idle: list[WsClient] = []
        self.stuck: list[WsClient] = []
        self.deflate = True
        self._beat_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ setup

    async def do_setup(
        self, dashboards: list[dict[str, Any]], examinees: list[dict[str, Any]], deflate: bool, floor: bool = False
    ) -> Any:
        self.deflate = deflate
        self.dashboards = [
            Dashboard(
                d["index"],
                d["sid"],
                d["host"],
                d["port"],
                d["cookie"],
                deflate,
                f"/floor/{d['sid']}/live" if floor else "",
            )
            for d in dashboards
        ]
        self.examinees = [
            Examinee(e["sid"], e["cid"], e["identity"], e["access_code"], e["host"], e["port"], floor)
            for e in examinees
        ]
        return {"dashboards": len(self.dashboards), "examinees": len(self.examinees)}

    async def do_connect_dashboards(self, concurrency: int = 20) -> Any:
        results = await _bounded(self.dashboards, lambda d: d.connect(), concurrency)
        return {"connected": sum(1 for d in self.dashboards if d.snapshot_at), "errors": _errors(results)}

    async def do_join(self, concurrency: int = 20, connect: bool = True, start: bool = True) -> Any:
        async def one(e: Examinee) -> None:
            status = await e.join()
            if status != 200:
                raise RuntimeError(f"join {status}")
            if connect:
                await e.connect(self.deflate)
            if start:
                status = await e.start()
                if status != 201:
                    raise RuntimeError(f"start {status}")
                await e.first_question()

        # Shuffled so that concurrent joins do not all queue on the same session's lock.
        order = random.Random(self.index).sample(self.examinees, len(self.examinees))
        results = await _bounded(order, one, concurrency)
        return {"ok": sum(1 for r in results if not isinstance(r, BaseException)), "errors": _errors(results)}

    async def do_start_burst(self, t0: float, spread: float) -> Any:
        """Every candidate presses « Commencer » at a random instant of [t0, t0 + spread)."""

        async def one(e: Examinee) -> None:
            await asyncio.sleep(max(0.0, t0 + random.uniform(0, spread) - now()))
            status = await e.start()
            if status != 201:
                raise RuntimeError(f"start {status}")

        results = await asyncio.gather(*(one(e) for e in self.examinees), return_exceptions=True)
        return {
            "ok": sum(1 for r in results if not isinstance(r, BaseException)),
            "errors": _errors(list(results)),
            "starts": [(e.sid, e.cid, e.start_sent, e.start_done) for e in self.examinees],
        }

    async def do_first_questions(self, concurrency: int = 20) -> Any:
        results = await _bounded(self.examinees, lambda e: e.first_question(), concurrency)
        return {"errors": _errors(results)}

    # ------------------------------------------------------------ load

    def _heartbeats(self, every: float) -> None:
        async def ticker() -> None:
            # One task for every socket: each candidate at its own phase of the period.
            tick = 0.1
            slots = max(1, round(every / tick))
            groups: list[list[Examinee]] = [[] for _ in range(slots)]
            for i, e in enumerate(self.examinees):
                groups[i % slots].append(e)
            n = 0
            start = now()
            while True:
                for e in groups[n % slots]:
                    e.heartbeat()
                n += 1
                await asyncio.sleep(max(0.0, start + n * tick - now()))

        if self._beat_task is None and self.examinees:
            self._beat_task = asyncio.create_task(ticker())

    async def do_heartbeats(self, every: float = 5.0) -> Any:
        self._heartbeats(every)
        return {}

    async def do_run(
        self, t0: float, duration: float, period: float, offsets: dict[str, float], grace: float = 5.0
    ) -> Any:
        """Open loop: answer k of a candidate is due at t0 + offset + k * period, whatever happened
        before. A candidate still waiting for an earlier answer sends the next one late, and its
        latency counts from when it was due. Past the window (plus a grace period) nothing more is
        sent: those answers are counted as offered but never sent."""
        end = t0 + duration
        unsent = 0

        async def drive(e: Examinee) -> None:
            nonlocal unsent
            due = t0 + offsets[f"{e.sid}:{e.cid}"]
            while due < end and e.question is not None:
                delay = due - now()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif now() > end + grace:
                    unsent += 1
                    due += period
                    continue
                await e.answer(due)
                due += period

        before = sum(len(e.answers) for e in self.examinees)
        bytes_before = self._bytes()
        started = now()
        await asyncio.gather(*(drive(e) for e in self.examinees), return_exceptions=True)
        bytes_after = self._bytes()
        return {
            "bytes_seconds": now() - started,
            "answers": sum(len(e.answers) for e in self.examinees) - before,
            "unsent": unsent,
            "bytes": {k: bytes_after[k] - bytes_before[k] for k in bytes_before},
        }

    def _bytes(self) -> dict[str, int]:
        return {
            "dashboards_in": sum(d.total_bytes_in() for d in self.dashboards if d.keep),
            "pollers_in": sum(p.http.bytes_in for p in self.pollers),
            "pollers_out": sum(p.http.bytes_out for p in self.pollers),
            "polls": sum(p.polls for p in self.pollers),
            "poll_bodies": sum(p.body_bytes for p in self.pollers),
        }

    async def do_poll(self, t0: float, duration: float, every: float) -> Any:
        end = t0 + duration

        async def loop(p: Poller, phase: float) -> None:
            due = t0 + phase
            while due < end:
                await asyncio.sleep(max(0.0, due - now()))
                with contextlib.suppress(Exception):
                    await p.poll()
                due += every

        await asyncio.gather(*(loop(p, random.uniform(0, every)) for p in self.pollers))
        return {"polls": sum(p.polls for p in self.pollers)}

    async def do_setup_pollers(self, pollers: list[dict[str, Any]]) -> Any:
        self.pollers = [Poller(p["sid"], p["host"], p["port"], p["cookies"]) for p in pollers]
        return {"pollers": len(self.pollers)}

    # ------------------------------------------------------------ storms and misbehaviour

    async def do_drop_all(self) -> Any:
        for d in self.dashboards:
            d.drop()
        for e in self.examinees:
            if e.ws is not None:
                e.ws.abort()
        return {"dropped": len(self.dashboards) + len(self.examinees)}

    async def do_reconnect_all(self, t0: float, spread: float) -> Any:
        """Every socket comes back at a random instant of [t0, t0 + spread)."""
        back: dict[int, tuple[float, float | None]] = {}

        async def dash(d: Dashboard) -> None:
            at = t0 + random.uniform(0, spread)
            await asyncio.sleep(max(0.0, at - now()))
            d.reconnects += 1
            await d.connect(timeout=120)
            back[d.index] = (at, d.snapshot_at)

        async def cand(e: Examinee) -> None:
            await asyncio.sleep(max(0.0, t0 + random.uniform(0, spread) - now()))
            await e.connect(self.deflate)

        results = await asyncio.gather(
            *(dash(d) for d in self.dashboards), *(cand(e) for e in self.examinees), return_exceptions=True
        )
        return {"back": back, "errors": _errors(list(results))}

    async def do_stall(self, fraction_indexes: list[int], rcvbuf: int) -> Any:
        """Chosen dashboards stop reading: their page is replaced by a socket with a tiny
        receive window that never reads again."""
        chosen = [d for d in self.dashboards if d.index in set(fraction_indexes)]
        for d in chosen:
            d.close()
            ws = await ws_connect(
                d.host,
                d.port,
                f"/api/supervision/sessions/{d.sid}/live",
                origin=f"http://{d.host}:{d.port}",
                cookie=d.cookie,
                deflate=False,
                read=False,
                rcvbuf=rcvbuf,
            )
            self.stuck.append(ws)
        return {"stalled": len(chosen)}

    async def do_idle(self, targets: list[dict[str, Any]], concurrency: int = 50) -> Any:
        """Open idle supervisor sockets that only answer pings."""

        async def one(t: dict[str, Any]) -> None:
            ws = await ws_connect(
                t["host"],
                t["port"],
                f"/api/supervision/sessions/{t['sid']}/live",
                origin=f"http://{t['host']}:{t['port']}",
                cookie=t["cookie"],
                deflate=t.get("deflate", True),
                timeout=120,
            )
            self.idle.append(ws)

        results = await _bounded(targets, one, concurrency)
        return {"open": sum(1 for w in self.idle if w.open), "errors": _errors(results)}

    async def do_close_idle(self) -> Any:
        for ws in self.idle:
            ws.close()
        n = len(self.idle)
        self.idle = []
        return {"closed": n}

    # ------------------------------------------------------------ checks and results

    async def do_stamp_versions(self) -> Any:
        for d in self.dashboards:
            d.applied = {}
        return {"stamping": len(self.dashboards)}

    async def do_applied(self) -> Any:
        """When each dashboard applied each version since stamping began."""
        return [{"index": d.index, "sid": d.sid, "keep": d.keep, "applied": d.applied or {}} for d in self.dashboards]

    async def do_versions(self) -> Any:
        return {d.index: d.version for d in self.dashboards}

    async def do_wait_versions(self, targets: dict[int, int], timeout: float) -> Any:
        async def one(d: Dashboard) -> bool:
            return await d.wait(lambda x: x.version >= targets.get(x.sid, 0), timeout)

        ok = await asyncio.gather(*(one(d) for d in self.dashboards if d.keep and d.sid in targets))
        return {"reached": sum(ok), "waited": len(ok)}

    async def do_check(self, snapshots: dict[int, dict[str, Any]]) -> Any:
        out = []
        for d in self.dashboards:
            if not d.keep or d.sid not in snapshots:
                continue
            snap = snapshots[d.sid]
            if d.version > snap["version"]:
                verdict = "ahead"
            elif d.version < snap["version"]:
                verdict = "behind"
            elif comparable(d.candidates) != comparable(snap["candidates"]):
                verdict = "differs"
            elif d.supervisors != snap["supervisors"]:
                verdict = "supervisors differ"
            else:
                verdict = "equal"
            out.append({"index": d.index, "sid": d.sid, "verdict": verdict, "version": d.version})
        return out

    async def do_results(self, seen_since: float = 0.0) -> Any:
        return {
            "dashboards": [
                {
                    "index": d.index,
                    "sid": d.sid,
                    "seen": [(cid, k, t) for (cid, k), t in d.seen.items() if k > 0 and t >= seen_since],
                    "started_seen": d.started_seen,
                    "events": d.events,
                    "duplicates": d.duplicates,
                    "gaps": d.gaps,
                    "heartbeat_gaps": d.heartbeat_gaps,
                    "snapshots": d.snapshots,
                    "reconnects": d.reconnects,
                    "closes": d.closes,
                    "bytes_in": d.total_bytes_in(),
                    "keep": d.keep,
                }
                for d in self.dashboards
            ],
            "examinees": [
                {"sid": e.sid, "cid": e.cid, "answers": e.answers, "errors": e.errors[:3], "messages": e.messages}
                for e in self.examinees
            ],
            "pollers": [
                {
                    "sid": p.sid,
                    "seen": [(cid, k, t) for (cid, k), t in p.seen.items() if t >= seen_since],
                    "polls": p.polls,
                    "errors": p.errors,
                    "bytes_in": p.http.bytes_in,
                    "bytes_out": p.http.bytes_out,
                }
                for p in self.pollers
            ],
        }

    async def do_close(self) -> Any:
        if self._beat_task is not None:
            self._beat_task.cancel()
        for d in self.dashboards:
            d.close()
        for e in self.examinees:
            if e.ws is not None:
                e.ws.close()
            e.http.close()
        for p in self.pollers:
            p.http.close()
        for ws in [*self.idle, *self.stuck]:
            ws.abort()
        await asyncio.sleep(0.2)
        return {}


async def _serve(conn: Connection, index: int) -> None:
    # Commands run as tasks, so a long one (answering for a minute) can be joined by
    # another (drop every socket now); replies carry the command's id.
    worker = Worker(index)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def run(ident: int, op: str, args: dict[str, Any]) -> None:
        try:
            result = await getattr(worker, f"do_{op}")(**args)
            conn.send({"id": ident, "ok": True, "result": result})
        except Exception:
            conn.send({"id": ident, "ok": False, "error": traceback.format_exc()})

    while True:
        message = await loop.run_in_executor(None, conn.recv)
        ident, op, args = message["id"], message["op"], message.get("args", {})
        if op == "exit":
            conn.send({"id": ident, "ok": True})
            return
        task = asyncio.create_task(run(ident, op, args))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def main(conn: Connection, index: int) -> None:
    import uvloop

    raise_fd_limit()
    # The generator holds 2,300 client sockets and every delivery's stamp: left alone, its
    # own full collections stall it for hundreds of ms and those stalls would be counted as
    # the server's latency. Its own tuning, not the app's, so that it can drive older code.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    uvloop.run(_serve(conn, index))
