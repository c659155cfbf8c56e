"""The eight scenarios of the benchmark issue, and issue 14's single action across processes (9)
with its floor (9f). Each returns a JSON-able dict."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import psutil
import redis.asyncio as aioredis

from bench.plan import Day
from bench.rig import Rig, Shape, dashboards_seen, log, metric_value
from bench.stats import LOGGED_AS, action_deliveries, percentiles
from bench.wire import HttpClient


def _targets(
    latency: dict[str, Any], completeness: dict[str, Any], p50: float = 10.0, p99: float = 50.0
) -> dict[str, Any]:
    lat = latency["latency_ms"]
    return {
        f"p50<={p50:g}ms": bool(lat.get("count")) and lat["p50"] <= p50,
        f"p99<={p99:g}ms": bool(lat.get("count")) and lat["p99"] <= p99,
        "zero_loss": latency["missing_deliveries"] == 0 and completeness["complete"],
    }


# At the rate (one answer per candidate every 2 s) one process is saturated (see
# scenario 1), and every figure of a scenario about something else would be queueing.
# Those scenarios keep the exam-day population and pace its answers at one per 20 s.
PACED = 20.0


def paced_shape(quick: bool, **changes: Any) -> Shape:
    return exam_day_shape(quick, **({} if quick else {"period": PACED}) | changes)


def quick_shape(shape: Shape) -> bool:
    return shape.candidates < 1000


def exam_day_shape(quick: bool, **changes: Any) -> Shape:
    if quick:
        shape = Shape(sessions=10, candidates_per_session=10, supervisors_per_session=3, duration=10.0)
    else:
        shape = Shape()
    for key, value in changes.items():
        setattr(shape, key, value)
    return shape


async def steady(shape: Shape, label: str) -> dict[str, Any]:
    """Answers at the set rate for the whole window, then the completeness check."""
    rig = Rig(shape, label)
    try:
        await rig.up()
        # What the connected population costs on its own (heartbeats, pings, lease renewals, refreshes).
        _, idle = await rig.sampled(asyncio.sleep(10.0 if quick_shape(shape) else 20.0))
        log(f"answering for {shape.duration:g}s at {shape.candidates / shape.period:g} answers/s")
        t0, t1, usage = await rig.answer_for(shape.duration)
        completeness = await rig.completeness()
        results = await rig.results()
        latency = rig.latency(results, (t0, t1))
        return {
            "shape": shape.describe(),
            "latency": latency,
            "usage": usage,
            "population_without_answers": idle,
            "completeness": completeness,
            "targets": _targets(latency, completeness),
        }
    finally:
        await rig.down()


async def exam_day(quick: bool, database: str = "postgresql", **changes: Any) -> dict[str, Any]:
    """1. One process, PostgreSQL (or SQLite), in-memory broker."""
    return await steady(exam_day_shape(quick, database=database, **changes), "s1")


async def exam_day_paced(quick: bool, database: str = "postgresql") -> dict[str, Any]:
    """1b. The same day with answers paced at one per 20 s per candidate (100 events/s)."""
    return await steady(paced_shape(quick, database=database), "s1p")


async def two_processes(quick: bool) -> dict[str, Any]:
    """2. Two app processes sharing PostgreSQL, Redis pub/sub between them."""
    return await steady(exam_day_shape(quick, app_processes=2, redis=True), "s2")


async def polling(quick: bool) -> dict[str, Any]:
    """3. The same sessions watched both ways at once: push dashboards and pollers (every 5 s)."""
    shape = paced_shape(quick)
    poll_every = 5.0
    rig = Rig(shape, "s3")
    try:
        await rig.up()
        assert rig.fleet is not None and rig.day is not None
        n = rig.fleet.size
        per_worker: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        for sup in rig.day.supervisors:
            ep = rig.endpoints[sup.server]
            per_worker[sup.index % n].append({"sid": sup.sid, "host": ep.host, "port": ep.port, "cookies": sup.cookies})
        await rig.fleet.each("setup_pollers", [{"pollers": p} for p in per_worker])
        windows = {}
        # The paced exam first, then a quiet room (one answer per candidate every 60 s).
        for name, period, duration in (
            ("paced", shape.period, shape.duration),
            ("quiet_room", 60.0, 60.0 if not quick else 30.0),
        ):
            log(f"{name}: one answer per candidate every {period:g}s, pollers every {poll_every:g}s")
            # Pollers poll from now on, and a while past the answers so the last ones are seen.
            polls = rig.fleet.all("poll", t0=time.monotonic(), duration=duration + poll_every + 3, every=poll_every)
            answering = rig.answer_for(duration, period=period)
            (a0, a1, usage), _ = await asyncio.gather(answering, polls)
            results = await rig.results()
            push = rig.latency(results, (a0 + poll_every, a1))
            pull = rig.latency(results, (a0 + poll_every, a1), kind="pollers")
            minutes = usage["bytes_seconds"] / 60
            sups = len(rig.day.supervisors)
            bytes_push = usage["bytes"]["dashboards_in"] / sups / minutes
            bytes_pull = (usage["bytes"]["pollers_in"] + usage["bytes"]["pollers_out"]) / sups / minutes
            windows[name] = {
                "answer_period_s": period,
                "push_staleness_ms": push["latency_ms"],
                "poll_staleness_ms": pull["latency_ms"],
                "p99_staleness_ratio_poll_over_push": _ratio(
                    pull["latency_ms"].get("p99"), push["latency_ms"].get("p99")
                ),
                "push_bytes_per_supervisor_per_min": round(bytes_push),
                "poll_bytes_per_supervisor_per_min": round(bytes_pull),
                "bytes_ratio_poll_over_push": _ratio(bytes_pull, bytes_push),
                "polls_per_supervisor_per_min": round(usage["bytes"]["polls"] / sups / minutes, 1),
                "snapshot_body_bytes_mean": round(usage["bytes"]["poll_bodies"] / max(1, usage["bytes"]["polls"])),
                "usage": usage,
            }
        completeness = await rig.completeness()
        return {
            "shape": shape.describe(),
            "poll_every_s": poll_every,
            "windows": windows,
            "completeness": completeness,
            "targets": {
                "p99_staleness_100x_lower_with_push": (windows["paced"]["p99_staleness_ratio_poll_over_push"] or 0)
                >= 100,
                "10x_fewer_bytes_with_push_paced": (windows["paced"]["bytes_ratio_poll_over_push"] or 0) >= 10,
                "10x_fewer_bytes_with_push_in_quiet_room": (windows["quiet_room"]["bytes_ratio_poll_over_push"] or 0)
                >= 10,
            },
        }
    finally:
        await rig.down()


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 1)


async def floor(quick: bool, paced: bool = False) -> dict[str, Any]:
    """4. The floor: bare Redis PUBLISH -> one subscriber -> websocket, same browsers, same rate."""
    shape = (paced_shape if paced else exam_day_shape)(quick, redis=True)
    rig = Rig(shape, "s4")
    try:
        await rig.up_floor()
        log(f"floor: answering for {shape.duration:g}s at {shape.candidates / shape.period:g}/s")
        t0, t1, usage = await rig.answer_for(shape.duration)
        await asyncio.sleep(1.0)
        results = await rig.results()
        latency = rig.latency(results, (t0, t1))
        dash = [d for w in results for d in w["dashboards"]]
        return {
            "shape": shape.describe(),
            "latency": latency,
            "usage": usage,
            "completeness": {
                "version_gaps_seen_by_clients": sum(d["gaps"] for d in dash),
                "duplicates_seen_by_clients": sum(d["duplicates"] for d in dash),
                "missing_deliveries": latency["missing_deliveries"],
            },
        }
    finally:
        await rig.down()


async def capacity(quick: bool) -> dict[str, Any]:
    """5. Idle supervisor sockets held by one process, and the memory each costs.

    Two app processes: sockets that negotiate permessage-deflate (what browsers do) go to
    the first, plain ones to the second, so each delta is measured on its own process."""
    count = 1000 if quick else 10000
    shape = Shape(sessions=20 if quick else 100, candidates_per_session=1, supervisors_per_session=2, app_processes=2)
    rig = Rig(shape, "s5")
    try:
        await rig.up(confirm=False)
        assert rig.fleet is not None and rig.day is not None
        out: dict[str, Any] = {"shape": shape.describe(), "sockets_per_process": count}
        for server, deflate in ((0, True), (1, False)):
            sups = [s for s in rig.day.supervisors if s.server == server]
            ep = rig.endpoints[server]
            targets = [
                {
                    "sid": sups[i % len(sups)].sid,
                    "host": ep.host,
                    "port": ep.port,
                    "cookie": "; ".join(f"{k}={v}" for k, v in sups[i % len(sups)].cookies.items()),
                    "deflate": deflate,
                }
                for i in range(count)
            ]
            proc = psutil.Process(rig.servers[server].pid)
            await asyncio.sleep(3)
            rss0 = proc.memory_info().rss
            started = time.monotonic()
            n = rig.fleet.size
            opened = await rig.fleet.each("idle", [{"targets": targets[w::n]} for w in range(n)])
            open_seconds = time.monotonic() - started
            await asyncio.sleep(5)
            rss1 = proc.memory_info().rss
            log(f"server {server}: {sum(o['open'] for o in opened)} idle sockets in {open_seconds:.1f}s")
            # What holding them costs when nothing happens (the server heartbeats every 15 s).
            _, idle_usage = await rig.sampled(asyncio.sleep(30 if not quick else 10))
            texts = await rig.metrics()
            rss2 = proc.memory_info().rss
            label = "deflate" if deflate else "plain"
            out[label] = {
                "open": sum(o["open"] for o in opened),
                "errors": [e for o in opened for e in o["errors"]][:3],
                "open_seconds": round(open_seconds, 1),
                "rss_before_mb": round(rss0 / 2**20, 1),
                "rss_after_mb": round(rss1 / 2**20, 1),
                "rss_after_idle_period_mb": round(rss2 / 2**20, 1),
                "kb_per_socket": round((rss1 - rss0) / count / 1024, 1),
                "server_sockets_open_metric": metric_value([texts[server]], "surveillance_sockets_open"),
                "idle_cpu_percent_of_one_core": idle_usage["server"]["cpu_percent_of_one_core"],
                "idle_postgresql_cpu_percent_of_one_core": idle_usage["postgresql"]["cpu_percent_of_one_core"],
                "machine": idle_usage["machine"],
            }
            await rig.fleet.all("close_idle")
        out["targets"] = {
            ">=10000_sockets": not quick and out["deflate"]["open"] >= 10000 and out["plain"]["open"] >= 10000,
            "<=40KB_per_socket_deflate": out["deflate"]["kb_per_socket"] <= 40,
            "<=40KB_per_socket_plain": out["plain"]["kb_per_socket"] <= 40,
        }
        return out
    finally:
        await rig.down()


async def storm(quick: bool) -> dict[str, Any]:
    """6. Every socket dropped at once while candidates keep answering; all back within 10 s.
    Then a second drop where everything comes back within 1 s (a proxy restart)."""
    shape = paced_shape(quick, duration=45.0 if not quick else 30.0)
    rig = Rig(shape, "s6")
    dashboards = shape.sessions * shape.supervisors_per_session

    async def one(spread: float) -> dict[str, Any]:
        assert rig.fleet is not None
        before = await rig.metrics()
        await rig.fleet.all("drop_all")
        log(f"dropped every socket; reconnecting them over {spread:g}s")
        t_storm = time.monotonic()
        back = await rig.fleet.all("reconnect_all", t0=t_storm, spread=spread)
        all_back = time.monotonic() - t_storm
        after = await rig.metrics()
        delays = [snap - at for part in back for at, snap in part["back"].values() if snap is not None]

        def diff(name: str) -> float:
            return metric_value(after, name) - metric_value(before, name)

        reads, requests = diff("surveillance_snapshot_reads_total"), diff("surveillance_snapshot_requests_total")
        return {
            "reconnect_spread_s": spread,
            "seconds_until_every_socket_was_back": round(all_back, 1),
            "reconnect_to_snapshot_ms": percentiles(delays),
            "dashboards_back": len(delays),
            "snapshot_requests": requests,
            "snapshot_database_reads": reads,
            "snapshot_reads_per_session": round(reads / shape.sessions, 2),
            "coalesced": bool(requests) and reads < requests,
            "reconnect_errors": [e for part in back for e in part["errors"]][:3],
            "every_dashboard_at_db_state_within_5s": len(delays) == dashboards and max(delays, default=99) <= 5,
        }

    try:
        await rig.up()
        answering = asyncio.ensure_future(rig.answer_for(shape.duration))
        await asyncio.sleep(5.0)
        spread_10 = await one(10.0)
        await asyncio.sleep(5.0)
        spread_1 = await one(1.0)
        t0, t1, usage = await answering
        completeness = await rig.completeness()
        # Answers made while a dashboard was away reach it inside its new snapshot, not as
        # events: "missing" here counts those, and the completeness check is the loss figure.
        latency = rig.latency(await rig.results(), (t0, t1))
        return {
            "shape": shape.describe(),
            "dashboards": dashboards,
            "back_within_10s": spread_10,
            "back_within_1s": spread_1,
            "latency_over_the_whole_window": latency,
            "usage": usage,
            "completeness": completeness,
            "targets": {
                "all_back_within_10s_(+5s)": spread_10["seconds_until_every_socket_was_back"] <= 15,
                "every_dashboard_at_db_state_within_5s": spread_10["every_dashboard_at_db_state_within_5s"]
                and spread_1["every_dashboard_at_db_state_within_5s"],
                "complete_at_end": completeness["complete"],
            },
        }
    finally:
        await rig.down()


async def slow_consumer(quick: bool) -> dict[str, Any]:
    """7. 2% of supervisors stop reading (tiny receive window, never read); the others' p99 must hold."""
    shape = paced_shape(quick, duration=40.0 if not quick else 10.0)
    rig = Rig(shape, "s7")
    try:
        await rig.up()
        assert rig.fleet is not None and rig.day is not None
        total = len(rig.day.supervisors)
        stalled = sorted(random.Random(3).sample(range(total), max(1, round(total * 0.02))))
        others = set(range(total)) - set(stalled)
        a0, a1, usage_a = await rig.answer_for(shape.duration)
        r = await rig.fleet.all("stall", fraction_indexes=stalled, rcvbuf=1024)
        log(f"stalled {sum(x['stalled'] for x in r)} dashboards")
        b0, b1, usage_b = await rig.answer_for(shape.duration)
        completeness = await rig.completeness()
        results = await rig.results()
        texts = await rig.metrics()
        before = rig.latency(results, (a0, a1), only=others)
        during = rig.latency(results, (b0, b1), only=others)
        p99a, p99b = before["latency_ms"].get("p99"), during["latency_ms"].get("p99")
        moved = (p99b - p99a) / p99a if p99a and p99b is not None else None
        return {
            "shape": shape.describe(),
            "stalled_dashboards": len(stalled),
            "others": len(others),
            "before": {"latency": before, "usage": usage_a},
            "during": {"latency": during, "usage": usage_b},
            "p99_change": None if moved is None else round(moved, 3),
            "slow_consumers_closed_metric": metric_value(texts, "surveillance_slow_consumers_closed_total"),
            "completeness": completeness,
            "targets": {
                "others_p99_moves_<20%": moved is not None and moved < 0.2,
                "server_rss_bounded_(<+50MB)": usage_b["server"]["rss_max_mb"] - usage_a["server"]["rss_end_mb"] < 50,
                "others_complete": completeness["complete"],
            },
        }
    finally:
        await rig.down()


async def start_burst(quick: bool) -> dict[str, Any]:
    """8. Every candidate presses « Commencer » within the same second."""
    shape = exam_day_shape(quick)
    rig = Rig(shape, "s8")
    try:
        await rig.up(start=False)
        assert rig.fleet is not None
        t0 = time.monotonic() + 1.0
        parts, usage = await rig.sampled(rig.fleet.all("start_burst", t0=t0, spread=1.0))
        starts = {(sid, cid): (sent, done) for p in parts for sid, cid, sent, done in p["starts"]}
        log(f"{len(starts)} starts sent")
        completeness = await rig.completeness()
        results = await rig.results()
        seen_at: list[float] = []
        from_send: list[float] = []
        missing = 0
        for w in results:
            for d in w["dashboards"]:
                for (sid, cid), (sent, _) in starts.items():
                    if sid != d["sid"]:
                        continue
                    t = d["started_seen"].get(cid)
                    if t is None:
                        missing += 1
                        continue
                    seen_at.append(t - t0)
                    from_send.append(t - sent)
        responses = [done - sent for sent, done in starts.values() if sent and done]
        return {
            "shape": shape.describe(),
            "starts": len(starts),
            "start_errors": [e for p in parts for e in p["errors"]][:3],
            "seconds_until_every_supervisor_shows_every_start": round(max(seen_at, default=float("nan")), 2),
            "start_seen_since_burst_began_ms": percentiles(seen_at),
            "start_seen_since_its_request_ms": percentiles(from_send),
            "http_start_response_ms": percentiles(responses),
            "missing": missing,
            "usage": usage,
            "completeness": completeness,
        }
    finally:
        await rig.down()


async def cross_process(quick: bool, rate: float = 5.0) -> dict[str, Any]:
    """9. Single supervisor actions on an idle room, to the dashboards of the other process.

    Two processes + Redis, the exam-day population connected, started and idle (heartbeats,
    no answers). Supervisors then pause one candidate or resume it, one action at a time at
    `rate` per second (open loop), each over HTTP to the supervisor's own process. Every
    session has dashboards on both processes: each action is timed from its request's send
    to the moment each dashboard of the session applied its version, on the other process
    and on the sender's own."""
    shape = exam_day_shape(quick, app_processes=2, redis=True)
    count = 40 if quick else 200
    rig = Rig(shape, "s9")
    clients: dict[int, HttpClient] = {}
    try:
        await rig.up()
        actions, usage = await _idle_actions(rig, quick, count, rate, _app_action_path, clients)
        completeness = await rig.completeness()
        report = await _action_report(rig, actions, _logged_actions(rig), usage, completeness, rate)
        other = report["delivery"]["other_process_ms"]
        report["targets"] = {
            "other_process_p50<=5ms": bool(other.get("count")) and other["p50"] <= 5.0,
            **report["targets"],
        }
        return report
    finally:
        for c in clients.values():
            c.close()
        await rig.down()


async def _idle_actions(
    rig: Rig,
    quick: bool,
    count: int,
    rate: float,
    path_of: Callable[[dict[str, Any]], str],
    clients: dict[int, HttpClient],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Scenario 9's schedule (and 9f's) on a room that is up: once the joins' events are
    delivered and the room idle, `count` actions at `rate`, each from its supervisor's own
    process. `clients` receives the senders' connections, for the caller to close."""
    assert rig.fleet is not None and rig.day is not None
    await asyncio.sleep(3.0 if quick else 10.0)
    await rig.fleet.all("stamp_versions")
    todo = _cross_actions(rig.day, count)
    clients.update(_senders(rig, todo))
    log(f"{count} single actions at {rate:g}/s, idle room, {len(clients)} senders")
    # No sampling pass during the actions: it would run on this loop, between a send and its stamp.
    return await rig.sampled(_send_actions(todo, clients, rate, path_of), every=None)


async def _action_report(
    rig: Rig,
    actions: list[dict[str, Any]],
    logged: dict[tuple[int, int], list[tuple[int, str]]],
    usage: dict[str, Any],
    completeness: dict[str, Any],
    rate: float,
) -> dict[str, Any]:
    """What scenarios 9 and 9f report: each action's deliveries to the dashboards of its
    session, on the sender's process and on the other, and whether anything was lost."""
    assert rig.fleet is not None and rig.day is not None
    dashboards = [d for part in await rig.fleet.all("applied") for d in part]
    server_of = {s.index: s.server for s in rig.day.supervisors}
    for d in dashboards:
        d["server"] = server_of[d["index"]]
    delivered = action_deliveries(actions, logged, dashboards)
    lost = sum(delivered["missing_deliveries"].values()) + delivered["unmatched"]
    return {
        "shape": rig.shape.describe(),
        "answers": "none: an idle room, candidates only heartbeat",
        "actions_per_s": rate,
        "delivery": delivered,
        "usage": usage,
        "completeness": completeness,
        "targets": {
            "zero_loss": lost == 0 and delivered["acknowledged"] == delivered["actions"] and completeness["complete"],
        },
    }


def _cross_actions(day: Day, count: int) -> list[dict[str, Any]]:
    """`count` actions, one session after the other in each pass: a pass pauses one candidate
    per session, the next resumes the same ones, the pair after takes each session's next
    candidate. A candidate's two actions are a whole pass apart, so one is answered before
    the other is sent. The sender turns among the session's supervisors, so both processes
    serve actions."""
    out: list[dict[str, Any]] = []
    server = {sup.index: sup.server for sup in day.supervisors}
    sups: dict[int, list[int]] = {}
    for sup in day.supervisors:
        sups.setdefault(sup.sid, []).append(sup.index)
    sessions = [s for s in day.sessions if len({server[i] for i in sups[s.id]}) > 1]
    if not sessions:
        raise RuntimeError("no session has supervisors on two processes")
    for j in range(count):
        p, k = divmod(j, len(sessions))
        s = sessions[k]
        candidate = s.candidates[(p // 2) % len(s.candidates)]
        sender = sups[s.id][(p + k) % len(sups[s.id])]
        action = "resume" if p % 2 else "pause"
        out.append({"sid": s.id, "cid": candidate["id"], "action": action, "sender": sender, "server": server[sender]})
    return out


def _senders(rig: Rig, todo: list[dict[str, Any]]) -> dict[int, HttpClient]:
    """One HTTP client per sending supervisor, on the supervisor's own process."""
    assert rig.day is not None
    clients: dict[int, HttpClient] = {}
    for a in todo:
        if a["sender"] not in clients:
            sup = next(x for x in rig.day.supervisors if x.index == a["sender"])
            ep = rig.endpoints[sup.server]
            clients[a["sender"]] = client = HttpClient(ep.host, ep.port)
            client.cookies.update(sup.cookies)
    return clients


def _app_action_path(a: dict[str, Any]) -> str:
    return f"/api/supervision/sessions/{a['sid']}/candidates/{a['cid']}/{a['action']}"


def _floor_action_path(a: dict[str, Any]) -> str:
    return f"/floor/{a['sid']}/{a['cid']}/{a['action']}"


async def _send_actions(
    todo: list[dict[str, Any]],
    clients: dict[int, HttpClient],
    rate: float,
    path_of: Callable[[dict[str, Any]], str],
) -> list[dict[str, Any]]:
    """Open loop: action j is sent at t0 + j / rate, whatever happened before. Each keeps its
    stamps, its status and the response's body."""
    t0 = time.monotonic() + 1.0

    async def one(j: int, a: dict[str, Any]) -> dict[str, Any]:
        due = t0 + j / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        client = clients[a["sender"]]
        await client.open()
        path = path_of(a)
        sent = time.monotonic()
        body = b""
        try:
            reply = await client.post(path, {})
            status, body = reply.status, reply.body
        except (OSError, ConnectionError) as exc:
            status = 0
            log(f"{a['action']} {a['sid']}/{a['cid']}: {exc!r}")
        done = time.monotonic()
        return {**a, "due": due, "sent": sent, "done": done, "status": status, "body": body}

    return list(await asyncio.gather(*(one(j, a) for j, a in enumerate(todo))))


def _logged_actions(rig: Rig) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """Pauses and resumes in the event log, each candidate's in version order."""
    assert rig.db is not None
    rows = rig.db.query(
        "SELECT session_id, candidate_id, version, payload::jsonb->>'action' FROM session_event "
        "WHERE payload::jsonb->>'action' IN ('paused', 'unpaused') ORDER BY session_id, candidate_id, version"
    )
    out: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for line in rows.splitlines():
        sid, cid, version, name = line.split("|")
        out.setdefault((int(sid), int(cid)), []).append((int(version), name))
    return out


async def cross_floor(quick: bool, rate: float = 5.0) -> dict[str, Any]:
    """9f. The floor of scenario 9: the same single actions with no application at all.

    Two floor processes (bench/floor.py) sharing one Redis, the same population as scenario
    9 (dashboards of each session on both processes, candidates' sockets heartbeating, no
    answers), the same actions at the same rate, each an HTTP POST to the sender's process
    that publishes one candidate-sized event with the session's next version (taken in Redis
    by the publishing command). Timed the same way: from the request's send to the moment
    each dashboard of the session applied that version, on the other process and on the
    sender's own. No database: the version each action got is the one its response names."""
    # The population of scenario 9; "database": "none" says there is none, and keeps the
    # shared PostgreSQL server's processes out of the usage figures.
    shape = exam_day_shape(quick, app_processes=2, redis=True, database="none")
    count = 40 if quick else 200
    rig = Rig(shape, "s9f")
    clients: dict[int, HttpClient] = {}
    try:
        await rig.up_floor(candidate_sockets=True)
        actions, usage = await _idle_actions(rig, quick, count, rate, _floor_action_path, clients)
        completeness = await _floor_completeness(rig)
        report = await _action_report(rig, actions, _floor_logged(actions), usage, completeness, rate)
        # The floor has no latency target: it is what scenario 9's figures compare to.
        report["server"] = "the floor (bench/floor.py): bare ASGI under uvicorn, Redis INCR + PUBLISH, no database"
        return report
    finally:
        for c in clients.values():
            c.close()
        await rig.down()


def _floor_logged(actions: list[dict[str, Any]]) -> dict[tuple[int, int], list[tuple[int, str]]]:
    """The floor's stand-in for the event log: each acknowledged action with the version its
    response names, each candidate's in version order (as _logged_actions gives them)."""
    out: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for a in actions:
        if a["status"] == 200:
            version = json.loads(a["body"])["version"]
            out.setdefault((a["sid"], a["cid"]), []).append((version, LOGGED_AS[a["action"]]))
    for entries in out.values():
        entries.sort()
    return out


async def _floor_completeness(rig: Rig, timeout: float = 20.0) -> dict[str, Any]:
    """Every dashboard against the floor's own counters in Redis: the session's last version
    reached, with no gap nor duplicate on the way (the floor replays nothing on a resync)."""
    assert rig.fleet is not None and rig.day is not None and rig.redis is not None
    sids = [s.id for s in rig.day.sessions]
    client = aioredis.from_url(rig.redis.url, decode_responses=True)
    try:
        counters = await client.mget([f"floor-version:{sid}" for sid in sids])
    finally:
        await client.aclose()
    targets = {sid: int(v or 0) for sid, v in zip(sids, counters, strict=True)}
    await rig.fleet.all("wait_versions", targets=targets, timeout=timeout)
    versions: dict[int, int] = {}
    for part in await rig.fleet.all("versions"):
        versions.update(part)
    results = await rig.results()
    dash = [d for w in results for d in w["dashboards"] if d["keep"]]
    verdicts: Counter[str] = Counter()
    bad: list[dict[str, Any]] = []
    for d in dash:
        got, want = versions[d["index"]], targets[d["sid"]]
        verdict = "equal" if got == want else ("ahead" if got > want else "behind")
        verdicts[verdict] += 1
        if verdict != "equal" and len(bad) < 5:
            bad.append({"index": d["index"], "sid": d["sid"], "verdict": verdict, "version": got, "floor": want})
    return {
        **dashboards_seen(verdicts, bad, dash),
        "events_in_redis": sum(targets.values()),
        "candidates_with_a_socket": rig.floor_candidates_joined,
    }


async def soak(quick: bool, minutes: float = 30.0) -> dict[str, Any]:
    """The exam-day population answering for half an hour at a pace one process sustains:
    the server's RSS and open files must stay flat.

    Nobody finishes during the window, so the population (and the load) is the same from
    the first minute to the last: with 36 questions per test, one answer per candidate
    every 60 s leaves every test open past 30 minutes (a faster pace ended half the tests
    at 19 minutes, and their released sockets read as a drop in open files)."""
    total = 60.0 if quick else minutes * 60
    questions = 36  # QUESTIONS_PER_TEST of the bench (bench/stack.py)
    # A few answers short of the bank: the warm-up window and staggered starts add some.
    period = max(2.0 if quick else 60.0, total / (questions - 6))
    shape = paced_shape(quick, period=period)
    window = 20.0 if quick else 60.0
    rig = Rig(shape, "soak")
    try:
        await rig.up()
        servers = [psutil.Process(s.pid) for s in rig.servers]
        samples: list[dict[str, Any]] = []
        start = time.monotonic()
        while time.monotonic() - start < total:
            _, _, usage = await rig.answer_for(window)
            samples.append(
                {
                    "t_s": round(time.monotonic() - start),
                    "rss_mb": round(sum(p.memory_info().rss for p in servers) / 2**20, 1),
                    "open_files": sum(p.num_fds() for p in servers),
                    "answers": usage["answers_sent"],
                    "server_cpu_percent": usage["server"]["cpu_percent_of_one_core"],
                }
            )
            log(f"soak {samples[-1]}")
        completeness = await rig.completeness()
        verdict = soak_verdict(samples)
        return {
            "shape": shape.describe(),
            "minutes": round(total / 60, 1),
            "samples": samples,
            **verdict,
            "targets": {**verdict["targets"], "zero_loss": completeness["complete"]},
            "completeness": completeness,
        }
    finally:
        await rig.down()


def soak_verdict(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Flat within 10 %: every sample of the steady window (the first one warms caches and
    pools) within 10 % of its first, for RSS and open files; judged only on a steady
    population (each window's answers within 10 % of the busiest)."""
    steady = samples[1:] if len(samples) > 2 else samples
    base = steady[0]
    deviation = {
        k: round(max(100 * abs(s[k] - base[k]) / base[k] for s in steady), 1) for k in ("rss_mb", "open_files")
    }
    drift = {k: round(100 * (steady[-1][k] - base[k]) / base[k], 1) for k in ("rss_mb", "open_files")}
    answers = [s["answers"] for s in steady]
    population_steady = min(answers) >= 0.9 * max(answers)
    flat = all(v <= 10 for v in deviation.values())
    return {
        "steady_window": {"from_t_s": base["t_s"], "to_t_s": steady[-1]["t_s"], "samples": len(steady)},
        "drift_percent": drift,
        "max_deviation_percent": deviation,
        "population_steady": population_steady,
        "verdict": (
            ("flat within 10 %" if flat else "NOT flat within 10 %")
            + ("" if population_steady else " (population not steady: not a valid judgement)")
        ),
        "targets": {"rss_and_fds_flat_within_10_percent": flat and population_steady},
    }
