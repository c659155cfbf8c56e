from __future__ import annotations

import asyncio
from typing import Any

from realtime.events import Published
from realtime.hub import OVERFLOW, RESYNC, Hub, Overflow
from realtime.memory import MemoryBroker
from realtime.metrics import Metrics


def event(version: int, candidate_id: int = 1) -> dict[str, Any]:
    return {
        "type": "event",
        "version": version,
        "name": "candidate.updated",
        "candidate": {"id": candidate_id},
    }


async def started_hub(queue_size: int = 256) -> tuple[Hub, MemoryBroker, Metrics]:
    broker = MemoryBroker()
    metrics = Metrics()
    hub = Hub(broker, metrics, queue_size=queue_size)
    await hub.start()
    return hub, broker, metrics


async def test_a_never_reading_watch_overflows_while_others_get_everything() -> None:
    hub, _, metrics = await started_hub(queue_size=8)
    async with hub.watch(5) as slow, hub.watch(5) as fast:
        received: list[int] = []

        async def read_all() -> None:
            while len(received) < 50:
                item = await fast.get()
                assert isinstance(item, Published)
                received.append(item.version)

        reader = asyncio.create_task(read_all())
        for version in range(1, 51):
            await hub.publish(5, event(version))
            await asyncio.sleep(0)  # let the deferred delivery and the reader run
        await asyncio.wait_for(reader, 5)
        assert received == list(range(1, 51))
        assert slow.overflowed
        assert await slow.get() is OVERFLOW
        assert isinstance(await slow.get(), Overflow)
        assert metrics.slow_consumers_closed_total.value() == 1
        assert metrics.events_published_total.value() == 50


async def test_message_decoded_once_and_shared_text() -> None:
    hub, _, _ = await started_hub()
    async with hub.watch(5) as first, hub.watch(5) as second:
        await hub.publish(5, event(1))
        a = await asyncio.wait_for(first.get(), 5)
        b = await asyncio.wait_for(second.get(), 5)
        assert isinstance(a, Published)
        assert a is b
        assert a.text == '{"type":"event","version":1,"name":"candidate.updated","candidate":{"id":1}}'


async def test_accept_filters_and_sessions_are_separate() -> None:
    hub, _, _ = await started_hub()
    only_two = hub.watch(5, lambda e: e.get("candidate", {}).get("id") == 2)
    async with only_two as mine, hub.watch(6) as other_session:
        await hub.publish(5, event(1, candidate_id=1))
        await hub.publish(5, event(2, candidate_id=2))
        await hub.publish(6, event(1, candidate_id=9))
        got = await asyncio.wait_for(mine.get(), 5)
        assert isinstance(got, Published) and got.version == 2
        got = await asyncio.wait_for(other_session.get(), 5)
        assert isinstance(got, Published) and got.event["candidate"]["id"] == 9
        assert mine.qsize() == 0 and other_session.qsize() == 0


async def test_subscription_is_reference_counted() -> None:
    hub, broker, _ = await started_hub()
    channel = "surveillance:session:5"
    async with hub.watch(5):
        async with hub.watch(5):
            assert broker._channels == {channel}
        assert broker._channels == {channel}
    assert broker._channels == set()
    assert hub.watching(5) == 0

    async def visit(stay: int) -> None:
        async with hub.watch(5):
            for _ in range(stay):
                await asyncio.sleep(0)

    await asyncio.gather(*(visit(i % 4) for i in range(40)))
    assert broker._channels == set()
    assert hub._locks == {}


async def test_cancelled_watcher_still_leaves() -> None:
    hub, broker, _ = await started_hub()
    entered = asyncio.Event()

    async def watcher() -> None:
        async with hub.watch(7):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(watcher())
    await asyncio.wait_for(entered.wait(), 5)
    assert hub.watching(7) == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert hub.watching(7) == 0
    assert broker._channels == set()


async def test_reconnect_asks_every_watch_to_resync() -> None:
    hub, _, metrics = await started_hub(queue_size=1)
    async with hub.watch(1) as a, hub.watch(2) as b, hub.watch(2) as full:
        await hub.publish(2, event(1))
        await asyncio.sleep(0)
        assert isinstance(await b.get(), Published)
        hub._on_reconnect()  # what the broker calls once its subscription is back
        assert await a.get() is RESYNC
        assert await b.get() is RESYNC
        # `full` still held the unread event: the resync marker overflows it.
        assert await full.get() is OVERFLOW
        assert metrics.broker_reconnects_total.value() == 1
        assert metrics.slow_consumers_closed_total.value() == 1


async def test_malformed_broker_messages_are_dropped() -> None:
    hub, broker, _ = await started_hub()
    async with hub.watch(3) as watch:
        await broker.publish("surveillance:session:3", "not json")
        await broker.publish("surveillance:session:3", '{"e": {"no": "version"}}')
        await hub.publish(3, event(4))
        got = await asyncio.wait_for(watch.get(), 5)
        assert isinstance(got, Published) and got.version == 4
