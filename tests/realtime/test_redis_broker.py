from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from realtime.broker import BrokerUnavailable
from realtime.events import channel_for
from realtime.hub import Hub
from realtime.metrics import Metrics
from realtime.redis import RedisBroker
from tests.realtime.conftest import RedisProcess, unique_session_id
from tests.servers import SentinelGroup, redis_command


class Inbox:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.reconnects = 0
        self.reconnected = asyncio.Event()

    def on_message(self, channel: str, data: str) -> None:
        self.messages.put_nowait((channel, data))

    def on_reconnect(self) -> None:
        self.reconnects += 1
        self.reconnected.set()

    async def next(self) -> tuple[str, str]:
        return await asyncio.wait_for(self.messages.get(), 5)


async def wait_until(predicate_coro: object, what: str) -> None:
    async with asyncio.timeout(5):
        while not await predicate_coro():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def numsub(url: str, channel: str) -> int:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        [(_, count)] = await client.pubsub_numsub(channel)
        return int(count)
    finally:
        await client.aclose()


async def clients_named(url: str, name: str) -> int:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        return sum(1 for entry in await client.client_list() if entry.get("name") == name)
    finally:
        await client.aclose()


async def test_redis_broker_delivers_in_order_per_channel(shared_redis_url: str) -> None:
    broker = RedisBroker(shared_redis_url)
    inbox = Inbox()
    await broker.start(inbox.on_message, inbox.on_reconnect)
    try:
        a, b = channel_for(unique_session_id()), channel_for(unique_session_id())
        await broker.subscribe(a)
        await broker.subscribe(b)
        for i in range(200):
            await broker.publish(a if i % 2 else b, str(i))
        got = [await inbox.next() for _ in range(200)]
        assert [int(d) for c, d in got if c == a] == list(range(1, 200, 2))
        assert [int(d) for c, d in got if c == b] == list(range(0, 200, 2))
        assert await broker.ping()
        assert inbox.reconnects == 0
    finally:
        await broker.close()


async def test_one_subscription_per_session_and_one_connection_per_process(
    shared_redis_url: str,
) -> None:
    name = f"rt-test-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(shared_redis_url, client_name=name)
    hub = Hub(broker, Metrics())
    await hub.start()
    try:
        sid = unique_session_id()
        channel = channel_for(sid)
        others = [unique_session_id() for _ in range(10)]
        async with hub.watch(sid), hub.watch(sid), hub.watch(sid):
            assert await numsub(shared_redis_url, channel) == 1
            entered = [hub.watch(other) for other in others]
            for ctx in entered:
                await ctx.__aenter__()
            assert await clients_named(shared_redis_url, f"{name}:sub") == 1
            for other in others:
                assert await numsub(shared_redis_url, channel_for(other)) == 1
            for ctx in entered:
                await ctx.__aexit__(None, None, None)
            async with hub.watch(sid):
                assert await numsub(shared_redis_url, channel) == 1
            assert await numsub(shared_redis_url, channel) == 1
        # Unsubscribe is not awaited for confirmation; poll for it.
        await wait_until(lambda: _is_zero(shared_redis_url, channel), "unsubscribed")
        for other in others:
            assert await numsub(shared_redis_url, channel_for(other)) == 0
        assert hub.watching(sid) == 0
    finally:
        await hub.close()


async def _is_zero(url: str, channel: str) -> bool:
    return await numsub(url, channel) == 0


async def test_concurrent_join_and_leave_of_one_session(shared_redis_url: str) -> None:
    hub = Hub(RedisBroker(shared_redis_url), Metrics())
    await hub.start()
    sid = unique_session_id()

    async def visit(stay: float) -> None:
        async with hub.watch(sid):
            await asyncio.sleep(stay)

    try:
        await asyncio.gather(*(visit((i % 5) * 0.01) for i in range(50)))
        assert hub.watching(sid) == 0
        await wait_until(lambda: _is_zero(shared_redis_url, channel_for(sid)), "unsubscribed")
        async with hub.watch(sid):
            assert await numsub(shared_redis_url, channel_for(sid)) == 1
    finally:
        await hub.close()


@pytest.mark.slow
async def test_redis_restart_reconnects_resubscribes_and_notifies(
    redis_process: RedisProcess,
) -> None:
    broker = RedisBroker(redis_process.url, backoff_max=0.5)
    inbox = Inbox()
    await broker.start(inbox.on_message, inbox.on_reconnect)
    try:
        channel = channel_for(1)
        await broker.subscribe(channel)
        await broker.publish(channel, "before")
        assert await inbox.next() == (channel, "before")

        redis_process.stop()
        await wait_until(lambda: _disconnected(broker), "drop noticed")
        # Wishes made while disconnected are applied on reconnect.
        await broker.subscribe(channel_for(2))
        await broker.unsubscribe(channel_for(3))
        redis_process.start()

        await asyncio.wait_for(inbox.reconnected.wait(), 10)
        assert inbox.reconnects == 1
        assert await numsub(redis_process.url, channel) == 1
        assert await numsub(redis_process.url, channel_for(2)) == 1
        await broker.publish(channel, "after")
        await broker.publish(channel_for(2), "new")
        assert await inbox.next() == (channel, "after")
        assert await inbox.next() == (channel_for(2), "new")
    finally:
        await broker.close()


async def _disconnected(broker: RedisBroker) -> bool:
    return not broker.connected


@pytest.mark.slow
async def test_publish_while_redis_is_down_fails_fast(redis_process: RedisProcess) -> None:
    broker = RedisBroker(redis_process.url)
    inbox = Inbox()
    await broker.start(inbox.on_message, inbox.on_reconnect)
    try:
        await broker.publish(channel_for(1), "warm the pool")
        redis_process.stop()
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(BrokerUnavailable):
                await broker.publish(channel_for(1), "lost")
            assert time.monotonic() - started < 1.0
        assert not await broker.ping()

        metrics = Metrics()
        hub = Hub(broker, metrics)
        await hub.publish(1, {"type": "event", "version": 1, "name": "session.updated"})
        assert metrics.publish_failures_total.value() == 1
        assert metrics.events_published_total.value() == 0
    finally:
        await broker.close()


async def test_publish_to_nothing_listening_fails_fast() -> None:
    from tests.realtime.conftest import free_port

    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        await broker.publish(channel_for(1), "x")
    assert time.monotonic() - started < 1.0
    await broker.close()


@pytest.mark.slow
async def test_sentinel_failover_reconnects_to_the_promoted_replica(tmp_path: Path) -> None:
    """redis+sentinel://: the broker follows the sentinels to the promoted replica, says so
    (on_reconnect, for the resync), and publishes and receives there."""
    group = await asyncio.to_thread(SentinelGroup(tmp_path).start)
    broker = RedisBroker(group.url)
    inbox = Inbox()
    await broker.start(inbox.on_message, inbox.on_reconnect)
    try:
        channel = channel_for(unique_session_id())
        await broker.subscribe(channel)
        await broker.publish(channel, "before")
        assert await inbox.next() == (channel, "before")
        assert await numsub(group.master.url, channel) == 1

        group.master.stop()  # SIGKILL
        killed = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            await broker.publish(channel, "lost")  # the change is in the database; resync brings it
        await asyncio.wait_for(inbox.reconnected.wait(), 30)
        assert inbox.reconnects == 1
        assert group.master_port() == group.replica.port
        assert time.monotonic() - killed < 30
        await broker.publish(channel, "after")
        assert await inbox.next() == (channel, "after")
        assert await numsub(group.replica.url, channel) == 1
        assert await broker.ping()
    finally:
        await broker.close()
        group.stop()


@pytest.mark.slow
async def test_sentinel_switchover_moves_the_broker_off_the_demoted_master(tmp_path: Path) -> None:
    """A planned switch (SENTINEL FAILOVER): the old master lives on as a replica. The
    sentinels cut its clients when they demote it, so the broker does not stay subscribed
    to a server nobody publishes to any more."""
    group = await asyncio.to_thread(SentinelGroup(tmp_path).start)
    broker = RedisBroker(group.url)
    inbox = Inbox()
    await broker.start(inbox.on_message, inbox.on_reconnect)
    try:
        channel = channel_for(unique_session_id())
        await broker.subscribe(channel)
        reply = await asyncio.to_thread(
            redis_command, group.sentinel_ports[0], "SENTINEL", "FAILOVER", SentinelGroup.SERVICE
        )
        assert reply.startswith("+OK"), reply
        await asyncio.wait_for(inbox.reconnected.wait(), 40)
        assert group.master_port() == group.replica.port
        assert "slave" in await asyncio.to_thread(redis_command, group.master.port, "ROLE")
        await broker.publish(channel, "after")
        assert await inbox.next() == (channel, "after")
        assert await numsub(group.replica.url, channel) == 1
        assert await numsub(group.master.url, channel) == 0
    finally:
        await broker.close()
        group.stop()
