"""In-process broker for the embedded single-process mode."""

from __future__ import annotations

import asyncio

from realtime.broker import BrokerUnavailable, OnMessage, OnReconnect


class MemoryBroker:
    """Delivers only within this process; with several workers use Redis."""

    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._on_message: OnMessage | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, on_message: OnMessage, on_reconnect: OnReconnect) -> None:
        # There is no connection that could drop, so on_reconnect never fires.
        self._on_message = on_message
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        self._on_message = None
        self._channels.clear()

    async def publish(self, channel: str, data: str) -> None:
        if self._loop is None or self._on_message is None:
            raise BrokerUnavailable("memory broker not started")
        if channel in self._channels:
            # Deferred so a publisher never runs subscriber code inside its own
            # call stack (and ordering stays FIFO, like a real broker).
            self._loop.call_soon(self._deliver, channel, data)

    def _deliver(self, channel: str, data: str) -> None:
        # Re-checked at delivery time: the last watcher may have left meanwhile.
        if self._on_message is not None and channel in self._channels:
            self._on_message(channel, data)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def ping(self) -> bool:
        return self._on_message is not None
