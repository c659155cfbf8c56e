from __future__ import annotations

import asyncio

import pytest

from realtime.broker import BrokerUnavailable, broker_from_url
from realtime.memory import MemoryBroker
from realtime.redis import RedisBroker


def test_broker_from_url() -> None:
    assert isinstance(broker_from_url(None), MemoryBroker)
    assert isinstance(broker_from_url(""), MemoryBroker)
    assert isinstance(broker_from_url("redis://localhost:6379/0"), RedisBroker)
    assert isinstance(broker_from_url("rediss://localhost:6379/0"), RedisBroker)
    with pytest.raises(ValueError):
        broker_from_url("amqp://localhost")


async def test_memory_broker_delivers_in_order_per_channel_and_never_reentrantly() -> None:
    broker = MemoryBroker()
    received: list[tuple[str, str]] = []
    in_publish = False

    def on_message(channel: str, data: str) -> None:
        assert not in_publish
        received.append((channel, data))

    await broker.start(on_message, lambda: None)
    await broker.subscribe("a")
    await broker.subscribe("b")
    for i in range(100):
        in_publish = True
        await broker.publish("a" if i % 2 else "b", str(i))
        in_publish = False
    await broker.publish("not-subscribed", "x")
    await asyncio.sleep(0)
    assert [int(d) for c, d in received if c == "a"] == list(range(1, 100, 2))
    assert [int(d) for c, d in received if c == "b"] == list(range(0, 100, 2))

    await broker.unsubscribe("a")
    received.clear()
    await broker.publish("a", "late")
    await broker.publish("b", "still")
    await asyncio.sleep(0)
    assert received == [("b", "still")]
    assert await broker.ping()
    await broker.close()
    assert not await broker.ping()
    with pytest.raises(BrokerUnavailable):
        await broker.publish("b", "closed")
