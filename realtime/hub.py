"""Per-process fan-out from the broker to local websockets.

Each socket owns a bounded queue. The broker callback decodes a message once
and only ever ``put_nowait``s: one slow socket must never delay another, so a
socket whose queue is full is marked overflowed and its owner closes it (close
code 1013, "try again later"); the client reconnects and resyncs from the
event log, which is cheaper than buffering without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

from realtime.broker import Broker, BrokerUnavailable
from realtime.events import Published, channel_for, encode, session_id_from_channel, unwrap, wrap_text
from realtime.metrics import Metrics
from vocabulary import CloseCode

logger = logging.getLogger(__name__)

Accept = Callable[[dict[str, Any]], bool]

OVERFLOW_CLOSE_CODE: Final = CloseCode.TRY_AGAIN
OVERFLOW_CLOSE_REASON: Final = "Trop de retard, reconnectez-vous."


class Resync:
    """The broker may have lost messages: catch up from the event log."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RESYNC"


class Overflow:
    """The socket fell too far behind: close it (OVERFLOW_CLOSE_CODE)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OVERFLOW"


RESYNC: Final = Resync()
OVERFLOW: Final = Overflow()

Item = Published | Resync | Overflow


class Watch:
    """One socket's view of a session: a bounded queue the hub fills.

    A plain deque and at most one waiting future, rather than an asyncio.Queue read by a
    task: the socket's sender waits on one future for an event, its receiver or its
    timer, so an event costs a wake-up per socket and no task."""

    __slots__ = ("_accept", "_items", "_size", "_waiter", "overflowed", "session_id")

    def __init__(self, session_id: int, accept: Accept | None, queue_size: int) -> None:
        self.session_id = session_id
        self._accept = accept
        self._items: deque[Published | Resync] = deque()
        self._size = queue_size
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False

    def accepts(self, event: dict[str, Any]) -> bool:
        if self._accept is None:
            return True
        try:
            return self._accept(event)
        except Exception:
            logger.exception("watch filter failed on session %s", self.session_id)
            return False

    def push(self, item: Published | Resync) -> bool:
        """Queue without waiting; False when this push made the watch overflow."""
        if self.overflowed:
            return True
        if len(self._items) >= self._size:
            self.overflowed = True
            # Free the memory now; nothing queued will be sent anyway.
            self._items.clear()
            self._notify()
            return False
        self._items.append(item)
        self._notify()
        return True

    def notify_to(self, waiter: asyncio.Future[None] | None) -> None:
        """The future to resolve at the next push (one at a time; None: nobody waits)."""
        self._waiter = waiter

    def _notify(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Item:
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    def get_nowait(self) -> Item | None:
        """The next item if one is already queued, else None."""
        if self.overflowed:
            return OVERFLOW
        return self._items.popleft() if self._items else None

    def qsize(self) -> int:
        return len(self._items)


class Hub:
    def __init__(self, broker: Broker, metrics: Metrics, *, queue_size: int = 256) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be positive")
        self.broker = broker
        self.metrics = metrics
        self.queue_size = queue_size
        self._watches: dict[int, set[Watch]] = {}
        self._subscribed: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        self._lock_users: dict[int, int] = {}

    async def start(self) -> None:
        await self.broker.start(self._on_message, self._on_reconnect)

    async def close(self) -> None:
        await self.broker.close()

    async def publish(self, session_id: int, event: dict[str, Any]) -> None:
        """Best effort: the change is already committed, clients recover from the log."""
        await self.publish_text(session_id, encode(event))

    async def publish_text(self, session_id: int, text: str) -> None:
        """Publish an event given as its JSON object's text (compact, UTF-8, a ``version``
        field), sent to every socket as it is."""
        try:
            data = wrap_text(text)
            await self.broker.publish(channel_for(session_id), data)
        except BrokerUnavailable as exc:
            self.metrics.publish_failures_total.inc()
            logger.warning("event for session %s not published: %s", session_id, exc)
            return
        except Exception:
            self.metrics.publish_failures_total.inc()
            logger.exception("event for session %s not published", session_id)
            return
        self.metrics.events_published_total.inc()

    def watching(self, session_id: int) -> int:
        """Number of local watches of a session (for tests and diagnostics)."""
        return len(self._watches.get(session_id, ()))

    @asynccontextmanager
    async def watch(self, session_id: int, accept: Accept | None = None) -> AsyncIterator[Watch]:
        """Register a socket; the channel is subscribed when this returns."""
        watch = Watch(session_id, accept, self.queue_size)
        try:
            await self._join(watch)
            yield watch
        finally:
            # Shielded so a cancelled handler still drops its subscription reference.
            await asyncio.shield(self._leave(watch))

    @asynccontextmanager
    async def _session_lock(self, session_id: int) -> AsyncIterator[None]:
        # Per-session lock, dropped when unused so closed sessions leave nothing behind.
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        self._lock_users[session_id] = self._lock_users.get(session_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._lock_users[session_id] -= 1
            if not self._lock_users[session_id]:
                del self._lock_users[session_id]
                del self._locks[session_id]

    async def _join(self, watch: Watch) -> None:
        sid = watch.session_id
        async with self._session_lock(sid):
            # Registered before subscribing: messages can arrive as soon as Redis
            # confirms, possibly before this coroutine resumes.
            self._watches.setdefault(sid, set()).add(watch)
            if sid not in self._subscribed:
                self._subscribed.add(sid)
                await self.broker.subscribe(channel_for(sid))

    async def _leave(self, watch: Watch) -> None:
        sid = watch.session_id
        async with self._session_lock(sid):
            watches = self._watches.get(sid)
            if watches is None:
                return
            watches.discard(watch)
            if watches:
                return
            del self._watches[sid]
            if sid in self._subscribed:
                self._subscribed.discard(sid)
                try:
                    await self.broker.unsubscribe(channel_for(sid))
                except Exception:
                    logger.exception("unsubscribe from session %s failed", sid)

    def _on_message(self, channel: str, data: str) -> None:
        sid = session_id_from_channel(channel)
        if sid is None:
            return
        watches = self._watches.get(sid)
        if not watches:
            return
        try:
            published = unwrap(sid, data)
        except ValueError as exc:
            logger.warning("dropping malformed broker message on %s: %s", channel, exc)
            return
        for watch in tuple(watches):
            if watch.accepts(published.event) and not watch.push(published):
                self.metrics.slow_consumers_closed_total.inc()

    def _on_reconnect(self) -> None:
        self.metrics.broker_reconnects_total.inc()
        for watches in tuple(self._watches.values()):
            for watch in tuple(watches):
                if not watch.push(RESYNC):
                    self.metrics.slow_consumers_closed_total.inc()
