"""The two feeds end to end: real uvicorn, real websocket client, real hub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.events import MAX_FRAME
from realtime.hub import Hub
from realtime.memory import MemoryBroker
from realtime.metrics import Metrics
from realtime.redis import RedisBroker
from realtime.sockets import STALE_RETRY_SECONDS, SourceUnavailable, serve_candidate_feed, serve_session_feed
from tests.realtime.conftest import (
    EventLog,
    LiveServer,
    RedisProcess,
    live_server,
    unique_session_id,
    websocket_app,
)

INVALID = {"type": "error", "error": {"code": "INVALID_MESSAGE", "message": "Message incompris."}}


class Client:
    def __init__(self, ws: ClientConnection, heartbeats: bool) -> None:
        self.ws = ws
        # Heartbeats fall on the process's common grid, so one may come at any moment of a
        # test; only the tests about heartbeats (which shorten the period) read them.
        self.heartbeats = heartbeats

    async def recv(self) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self.ws.recv(), 5)
            assert isinstance(message, str)
            decoded = json.loads(message)
            assert isinstance(decoded, dict)
            if self.heartbeats or decoded.get("type") != "heartbeat":
                return decoded

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def close_code(self) -> int | None:
        """Read until the server closes; the code it closed with."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(self.ws.recv(), 5)
        return self.ws.close_code


@contextlib.asynccontextmanager
async def client(server: LiveServer, heartbeats: bool = False) -> AsyncIterator[Client]:
    async with connect(server.ws("/live"), max_size=None, open_timeout=5) as ws:
        yield Client(ws, heartbeats)


@contextlib.asynccontextmanager
async def memory_hub(queue_size: int = 256) -> AsyncIterator[Hub]:
    hub = Hub(MemoryBroker(), Metrics(), queue_size=queue_size)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.close()


@contextlib.asynccontextmanager
async def session_feed(hub: Hub, log: EventLog, **options: Any) -> AsyncIterator[LiveServer]:
    async def handler(websocket: WebSocket) -> None:
        await serve_session_feed(websocket, hub, log.session_id, log, **options)

    async with live_server(websocket_app(handler)) as server:
        yield server


@contextlib.asynccontextmanager
async def candidate_feed(hub: Hub, log: EventLog, candidate_id: int, **options: Any) -> AsyncIterator[LiveServer]:
    async def handler(websocket: WebSocket) -> None:
        await serve_candidate_feed(websocket, hub, log.session_id, candidate_id, log, **options)

    async with live_server(websocket_app(handler)) as server:
        yield server


async def commit_and_publish(hub: Hub, log: EventLog, **kwargs: Any) -> dict[str, Any]:
    event = log.commit(**kwargs)
    await hub.publish(log.session_id, event)
    return event


async def eventually(predicate: Any) -> None:
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_snapshot_first_then_every_event_in_order() -> None:
    log = EventLog(session_id=11)
    log.commit(candidate_id=1, status="enrolled")
    async with memory_hub() as hub, session_feed(hub, log) as server:
        async with client(server) as c:
            snapshot = await c.recv()
            assert snapshot["type"] == "snapshot"
            assert snapshot["version"] == 1
            assert snapshot["candidates"] == [{"id": 1, "status": "enrolled"}]
            assert hub.metrics.sockets_open.value(kind="supervisor") == 1
            for i in range(30):
                await commit_and_publish(hub, log, candidate_id=i % 3, step=i)
            versions = [(await c.recv())["version"] for _ in range(30)]
            assert versions == list(range(2, 32))
        await eventually(lambda: hub.metrics.sockets_open.value(kind="supervisor") == 0)
        assert hub.watching(11) == 0
        assert hub.metrics.events_delivered_total.value() == 30
        assert hub.metrics.fanout_latency_seconds.count == 30


async def test_gap_is_filled_from_the_event_log() -> None:
    log = EventLog(session_id=12)
    async with memory_hub() as hub, session_feed(hub, log) as server, client(server) as c:
        assert (await c.recv())["version"] == 0
        log.commit()  # 1 and 2: committed, never published (a lost message)
        log.commit()
        await commit_and_publish(hub, log)
        assert [(await c.recv())["version"] for _ in range(3)] == [1, 2, 3]
        await commit_and_publish(hub, log)
        assert (await c.recv())["version"] == 4


async def test_swapped_publishes_are_reordered_without_the_log() -> None:
    log = EventLog(session_id=13)
    async with memory_hub() as hub, session_feed(hub, log, gap_grace_seconds=5) as server, client(server) as c:
        await c.recv()
        first, second = log.commit(), log.commit()
        await hub.publish(13, second)
        await hub.publish(13, first)
        assert [(await c.recv())["version"] for _ in range(2)] == [1, 2]


async def test_too_far_behind_gets_a_fresh_snapshot() -> None:
    log = EventLog(session_id=14)
    async with memory_hub() as hub, session_feed(hub, log) as server, client(server) as c:
        await c.recv()
        log.commit(candidate_id=4, status="x")
        log.commit(candidate_id=4, status="y")
        log.replay_horizon = 2
        await commit_and_publish(hub, log, candidate_id=4, status="z")
        fresh = await c.recv()
        assert fresh["type"] == "snapshot"
        assert fresh["version"] == 3
        assert fresh["candidates"] == [{"id": 4, "status": "z"}]
        await commit_and_publish(hub, log)
        assert (await c.recv())["version"] == 4


async def test_duplicates_and_old_versions_are_dropped() -> None:
    log = EventLog(session_id=15)
    async with memory_hub() as hub, session_feed(hub, log) as server, client(server) as c:
        await c.recv()
        e1, e2 = log.commit(), log.commit()
        for event in (e1, e1, e2, e1, e2):
            await hub.publish(15, event)
        await commit_and_publish(hub, log)
        assert [(await c.recv())["version"] for _ in range(3)] == [1, 2, 3]
        await commit_and_publish(hub, log)
        assert (await c.recv())["version"] == 4


async def test_events_published_before_the_snapshot_are_not_repeated() -> None:
    log = EventLog(session_id=16)
    log.snapshot_gate = asyncio.Event()
    async with memory_hub() as hub, session_feed(hub, log) as server, client(server) as c:
        await eventually(lambda: hub.watching(16) == 1)
        await commit_and_publish(hub, log)  # queued; already in the snapshot
        log.snapshot_gate.set()
        assert (await c.recv()) == {"type": "snapshot", "version": 1, "candidates": [{"id": 1}]}
        await commit_and_publish(hub, log)
        assert (await c.recv())["version"] == 2


async def test_client_resync_request_replays_from_its_version() -> None:
    log = EventLog(session_id=17)
    async with memory_hub() as hub, session_feed(hub, log) as server, client(server) as c:
        await c.recv()
        for _ in range(3):
            await commit_and_publish(hub, log)
        assert [(await c.recv())["version"] for _ in range(3)] == [1, 2, 3]
        await c.send({"type": "resync", "since": 1})
        assert [(await c.recv())["version"] for _ in range(2)] == [2, 3]
        for bad in (-1, "1", True, 1.5, None):
            await c.send({"type": "resync", "since": bad})
            assert await c.recv() == INVALID
        log.replay_horizon = 2
        await c.send({"type": "resync", "since": 0})
        fresh = await c.recv()
        assert fresh["type"] == "snapshot" and fresh["version"] == 3
        await commit_and_publish(hub, log)
        assert (await c.recv())["version"] == 4


async def test_heartbeat_carries_the_version_and_recovers_a_lost_last_event() -> None:
    log = EventLog(session_id=18)
    async with memory_hub() as hub, session_feed(hub, log, heartbeat_seconds=0.2) as server, client(server, True) as c:
        assert (await c.recv())["version"] == 0
        assert await c.recv() == {"type": "heartbeat", "version": 0}
        lost = log.commit(status="present")  # committed, publish lost
        assert await c.recv() == lost
        assert await c.recv() == {"type": "heartbeat", "version": 1}
        assert log.log_reads == 1


async def test_a_heartbeat_waits_briefly_for_an_event_on_its_way_rather_than_read_the_log() -> None:
    log = EventLog(session_id=17)
    publishes: list[asyncio.Task[None]] = []

    def commit_while_the_version_is_read() -> None:
        # The version read sees a commit whose publish is still on its way (under load, the
        # common case), then the publish lands within the gap grace.
        log.version_read = None
        event = log.commit(status="present")

        async def publish_soon() -> None:
            await asyncio.sleep(0.02)
            await hub.publish(log.session_id, event)

        publishes.append(asyncio.create_task(publish_soon()))

    async with (
        memory_hub() as hub,
        session_feed(hub, log, heartbeat_seconds=0.3, gap_grace_seconds=0.5) as server,
        client(server, True) as c,
    ):
        assert (await c.recv())["version"] == 0
        log.version_read = commit_while_the_version_is_read
        live = await c.recv()
        assert live["version"] == 1 and live["candidate"]["status"] == "present"
        assert await c.recv() == {"type": "heartbeat", "version": 1}
        await asyncio.gather(*publishes)
    assert log.log_reads == 0


async def test_oversize_frames_close_with_1009() -> None:
    log = EventLog(session_id=19)
    async with memory_hub() as hub, session_feed(hub, log) as server:
        for payload in ("x" * (MAX_FRAME + 1), "é" * (MAX_FRAME // 2 + 1), b"\0" * (MAX_FRAME + 1)):
            async with client(server) as c:
                await c.recv()
                await c.send(payload)
                assert await c.close_code() == 1009
        log.commit()
        async with client(server) as c:
            await c.recv()
            await c.send(json.dumps({"type": "resync", "since": 0, "pad": "x" * (MAX_FRAME - 100)}))
            assert (await c.recv())["version"] == 1  # just under the limit is fine
        await eventually(lambda: hub.watching(19) == 0)


async def test_malformed_messages_get_an_error_and_the_socket_stays_open() -> None:
    log = EventLog(session_id=20)
    async with memory_hub() as hub, session_feed(hub, log) as server, client(server) as c:
        await c.recv()
        for bad in ("nope", "[1]", '{"type": "what"}', "{}", b"\x00binary", '{"type": "resync"}'):
            await c.send(bad)
            assert await c.recv() == INVALID
        await commit_and_publish(hub, log)
        assert (await c.recv())["version"] == 1


async def test_a_socket_that_falls_behind_is_closed_with_1013() -> None:
    log = EventLog(session_id=21)
    log.snapshot_gate = asyncio.Event()
    async with memory_hub(queue_size=2) as hub, session_feed(hub, log) as server:
        async with client(server) as c:
            await eventually(lambda: hub.watching(21) == 1)
            for _ in range(5):
                await commit_and_publish(hub, log)
            await asyncio.sleep(0)
            log.snapshot_gate.set()
            assert (await c.recv())["type"] == "snapshot"
            assert await c.close_code() == 1013
        assert hub.metrics.slow_consumers_closed_total.value() == 1
        await eventually(lambda: hub.watching(21) == 0)


async def test_source_failure_closes_with_1011_and_cleans_up() -> None:
    class BrokenLog(EventLog):
        async def current_version(self, session_id: int) -> int:
            raise RuntimeError("database is down")

    log = BrokenLog(session_id=22)
    async with memory_hub() as hub, session_feed(hub, log, heartbeat_seconds=0.05) as server:
        async with client(server) as c:
            await c.recv()
            assert await c.close_code() == 1011
        await eventually(lambda: hub.watching(22) == 0)
        await eventually(lambda: hub.metrics.sockets_open.value(kind="supervisor") == 0)


class OutageLog(EventLog):
    """The database seam with a switch to throw: while `down`, every read fails as the app's
    does during a primary switch (SourceUnavailable)."""

    def __init__(self, session_id: int) -> None:
        super().__init__(session_id)
        self.down = False
        self.refused = 0

    def _check(self) -> None:
        if self.down:
            self.refused += 1
            raise SourceUnavailable("database switching over")

    async def snapshot(self, session_id: int) -> dict[str, Any]:
        self._check()
        return await super().snapshot(session_id)

    async def events_since(self, session_id: int, since: int) -> list[dict[str, Any]] | None:
        self._check()
        return await super().events_since(session_id, since)

    async def current_version(self, session_id: int) -> int:
        self._check()
        return await super().current_version(session_id)

    async def candidate_message(self, session_id: int, candidate_id: int) -> dict[str, Any]:
        self._check()
        return await super().candidate_message(session_id, candidate_id)

    async def heartbeat(self, session_id: int, candidate_id: int) -> None:
        self._check()
        await super().heartbeat(session_id, candidate_id)


async def test_supervisor_socket_stays_open_through_a_database_outage_and_catches_up() -> None:
    log = OutageLog(session_id=40)
    async with memory_hub() as hub, session_feed(hub, log, heartbeat_seconds=0.1) as server, client(server, True) as c:
        assert (await c.recv())["version"] == 0
        log.down = True
        # Committed just before the database went away; its publish was lost.
        lost = log.commit(status="present")
        # A resync asked by the broker and one asked by the client, both while it is out.
        hub._on_reconnect()
        await c.send({"type": "resync", "since": 0})
        beats = [await c.recv() for _ in range(3)]
        assert beats == [{"type": "heartbeat", "version": 0}] * 3
        assert log.refused >= 3
        log.down = False
        assert await c.recv() == lost  # replayed once the database answers, socket never closed
        await commit_and_publish(hub, log)
        later = [await c.recv() for _ in range(3)]
        assert [m["version"] for m in later if m["type"] == "event"] == [2]


async def test_a_socket_opened_during_the_outage_is_told_to_come_back_with_1013() -> None:
    log = OutageLog(session_id=41)
    log.down = True
    async with memory_hub() as hub, session_feed(hub, log) as server:
        async with client(server) as c:
            assert await c.close_code() == 1013
        await eventually(lambda: hub.watching(41) == 0)


async def test_candidate_socket_stays_open_through_a_database_outage() -> None:
    log = OutageLog(session_id=42)
    log.commit(candidate_id=7, status="in_progress", answered=1)
    async with memory_hub() as hub, candidate_feed(hub, log, 7) as server, client(server) as c:
        assert (await c.recv())["candidate"]["answered"] == 1
        log.down = True
        await c.send({"type": "heartbeat"})  # its lease write fails quietly
        lost = log.commit(candidate_id=7, status="in_progress", answered=2)
        hub._on_reconnect()  # the resync read fails: the state is marked stale
        await eventually(lambda: log.refused >= 2)
        log.down = False
        # Retried within STALE_RETRY_SECONDS, not at the 30 s refresh.
        message = await asyncio.wait_for(c.recv(), STALE_RETRY_SECONDS + 3)
        assert message["candidate"] == lost["candidate"]


async def test_feed_across_two_processes_over_redis(shared_redis_url: str) -> None:
    sid = unique_session_id()
    log = EventLog(session_id=sid)
    serving, publishing = (Hub(RedisBroker(shared_redis_url), Metrics()) for _ in range(2))
    await serving.start()
    await publishing.start()
    try:
        async with session_feed(serving, log) as server, client(server) as c:
            await c.recv()
            for _ in range(20):
                await commit_and_publish(publishing, log)
            assert [(await c.recv())["version"] for _ in range(20)] == list(range(1, 21))
    finally:
        await serving.close()
        await publishing.close()


@pytest.mark.slow
async def test_redis_restart_resyncs_open_sockets_from_the_log(
    redis_process: RedisProcess,
) -> None:
    log = EventLog(session_id=23)
    hub = Hub(RedisBroker(redis_process.url, backoff_max=0.5), Metrics())
    await hub.start()
    try:
        async with session_feed(hub, log) as server, client(server) as c:
            await c.recv()
            await commit_and_publish(hub, log)
            assert (await c.recv())["version"] == 1
            redis_process.stop()
            await commit_and_publish(hub, log)  # committed; the publish fails
            assert hub.metrics.publish_failures_total.value() == 1
            redis_process.start()
            assert (await c.recv())["version"] == 2  # from the log, after reconnect
            await eventually(lambda: hub.metrics.broker_reconnects_total.value() == 1)
            await commit_and_publish(hub, log)
            assert (await c.recv())["version"] == 3
    finally:
        await hub.close()


async def test_candidate_feed_only_sees_its_own_events() -> None:
    log = EventLog(session_id=30)
    log.commit(candidate_id=7, status="enrolled")
    async with memory_hub() as hub, candidate_feed(hub, log, candidate_id=7) as server:
        async with client(server) as c:
            first = await c.recv()
            assert first == {
                "type": "candidate",
                "candidate": {"id": 7, "status": "enrolled"},
                "version": 1,
            }
            assert hub.metrics.sockets_open.value(kind="candidate") == 1
            await commit_and_publish(hub, log, candidate_id=8, status="authorised")
            await commit_and_publish(hub, log, candidate_id=7, status="authorised")
            assert await c.recv() == {
                "type": "candidate",
                "candidate": {"id": 7, "status": "authorised"},
                "version": 3,
            }
            await commit_and_publish(hub, log, name="supervisors.updated", candidate_id=None)
            await commit_and_publish(hub, log, name="session.updated", candidate_id=None)
            refreshed = await c.recv()
            assert refreshed["version"] == 5
            assert refreshed["candidate"] == {"id": 7, "status": "authorised"}
            stale = {"type": "event", "version": 2, "name": "candidate.updated"}
            await hub.publish(30, {**stale, "candidate": {"id": 7, "status": "old"}})
            await commit_and_publish(hub, log, candidate_id=7, status="in progress")
            latest = await c.recv()
            assert latest["version"] == 6 and latest["candidate"]["status"] == "in progress"
        await eventually(lambda: hub.metrics.sockets_open.value(kind="candidate") == 0)


async def test_candidate_feed_notices_a_lost_publish_on_its_periodic_refresh() -> None:
    log = EventLog(session_id=31)
    log.commit(candidate_id=7, status="enrolled")
    async with (
        memory_hub() as hub,
        candidate_feed(hub, log, candidate_id=7, refresh_seconds=0.3) as server,
        client(server) as c,
    ):
        assert (await c.recv())["candidate"] == {"id": 7, "status": "enrolled"}
        log.commit(candidate_id=7, status="authorised")  # committed, never published
        refreshed = await asyncio.wait_for(c.recv(), 5)
        assert refreshed["candidate"] == {"id": 7, "status": "authorised"}
        # Nothing changed since: the refresh sends nothing more.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(c.recv(), 1)


async def test_candidate_heartbeats_are_throttled_and_a_flood_is_closed() -> None:
    log = EventLog(session_id=31)
    async with memory_hub() as hub, candidate_feed(hub, log, candidate_id=1) as server:
        async with client(server) as c:
            await c.recv()
            started = time.monotonic()
            for _ in range(20):
                await c.send({"type": "heartbeat"})
            await c.send("nope")
            assert await c.recv() == INVALID  # every heartbeat before it was handled
            elapsed = time.monotonic() - started
            assert 1 <= log.heartbeats <= int(elapsed) + 1

        async with client(server) as c:
            await c.recv()
            with contextlib.suppress(ConnectionClosed):
                for _ in range(100_000):
                    await c.send('{"type":"heartbeat"}')
            assert await c.close_code() == 1008
        await eventually(lambda: hub.watching(31) == 0)


async def test_candidate_feed_rejects_unknown_messages_and_resyncs() -> None:
    log = EventLog(session_id=32)
    async with memory_hub() as hub, candidate_feed(hub, log, candidate_id=1) as server, client(server) as c:
        await c.recv()
        await c.send('{"type": "resync", "since": 0}')
        assert await c.recv() == INVALID
        log.commit(candidate_id=1, status="present")  # publish lost
        hub._on_reconnect()  # as after a broker reconnect
        message = await c.recv()
        assert message["candidate"] == {"id": 1, "status": "present"}


async def test_a_stalled_client_is_dropped_after_the_send_timeout() -> None:
    log = EventLog(session_id=33)
    async with (
        memory_hub(queue_size=100_000) as hub,
        session_feed(hub, log, send_timeout=0.2) as server,
    ):
        # max_queue=1: the client library soon stops reading the TCP socket;
        # no compression, or the padding would shrink to nothing.
        stalled = connect(server.ws("/live"), max_size=None, max_queue=1, compression=None, close_timeout=1)
        async with stalled:
            await eventually(lambda: hub.watching(33) == 1)
            big = "x" * (MAX_FRAME - 200)
            version = 0
            async with asyncio.timeout(15):
                while hub.watching(33):
                    for _ in range(50):
                        version += 1
                        event = {"type": "event", "version": version, "name": "x", "pad": big}
                        await hub.publish(33, event)
                    await asyncio.sleep(0.05)
        await eventually(lambda: hub.metrics.sockets_open.value(kind="supervisor") == 0)
