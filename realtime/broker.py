"""The broker carries news between app processes; it is never the source of truth.

Delivery is at-most-once: a message published while a process is disconnected
is lost for it, which is why ``on_reconnect`` exists: the hub then makes every
local socket catch up from the database's event log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

OnMessage = Callable[[str, str], None]
OnReconnect = Callable[[], None]


class BrokerUnavailable(Exception):
    """Publishing failed; the change is committed anyway, only the live push is lost."""


class Broker(Protocol):
    async def start(self, on_message: OnMessage, on_reconnect: OnReconnect) -> None:
        """Begin delivering ``on_message(channel, data)`` for subscribed channels.

        Callbacks run on the event loop and must not block or await.
        """

    async def close(self) -> None: ...

    async def publish(self, channel: str, data: str) -> None:
        """Send ``data`` to every process subscribed to ``channel``; may raise BrokerUnavailable."""

    async def subscribe(self, channel: str) -> None:
        """Start receiving ``channel``; while disconnected only records the wish."""

    async def unsubscribe(self, channel: str) -> None: ...

    async def ping(self) -> bool:
        """Readiness: True when publishing would currently work."""


def broker_from_url(url: str | None) -> Broker:
    if not url:
        from realtime.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://")):
        from realtime.redis import RedisBroker

        return RedisBroker(url)
    scheme = url.split(":", 1)[0]
    raise ValueError(f"unsupported broker URL scheme {scheme!r} (expected redis://, rediss:// or redis+sentinel://)")
