"""Protocol mechanics of the two live feeds, on an already accepted websocket.

The app authenticates, checks the Origin, accepts, then hands the socket here
with a *source*: the seam through which this package reads the database
without knowing its schema.

Each socket runs exactly two tasks: a receiver that always reads (so a
disconnect is noticed even when nothing is sent) and a single sender that owns
every outgoing frame (live events, catch-ups, heartbeats, error replies), so
frames are never interleaved or sent concurrently. When either task ends, the
other is cancelled.

Close codes: 1008 policy violation (message flood), 1009 frame over
``MAX_FRAME``, 1011 unexpected server error, 1013 try again later (the socket's
queue overflowed or a send stalled, or the database was out when the socket
opened; the client reconnects and resyncs).

While the database is out (a primary switch), an open socket stays open: the
source raises ``SourceUnavailable``, the read is skipped, and the next heartbeat
(or refresh) catches up once the database answers again. Closing instead would
send every client of every room reconnecting at the same moment.

The app closes sockets for its own reasons through a ``Handle`` (from outside: a newer
socket of the same person) or a ``Verdict`` (after a message: the test is over,
access revoked), with codes of its own in 4000-4999.

A client's ``resync`` requests are served at most once per ``RESYNC_INTERVAL``
per socket; requests in between are merged into the next one (the lowest
version asked wins), so a client cannot turn its 50 messages a second into 50
reads of the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol, TypeGuard

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from realtime.events import MAX_FRAME, Published, decode, encode
from realtime.hub import (
    OVERFLOW_CLOSE_CODE,
    OVERFLOW_CLOSE_REASON,
    Hub,
    Item,
    Overflow,
    Resync,
    Watch,
)
from vocabulary import CloseCode, EventName, MessageType, message_for, message_frame, own_view

logger = logging.getLogger(__name__)

SEND_TIMEOUT: Final = 10.0
CLOSE_TIMEOUT: Final = 1.0
MESSAGES_PER_SECOND: Final = 50
HEARTBEAT_MIN_INTERVAL: Final = 1.0
RESYNC_INTERVAL: Final = 1.0
# A candidate has no version to compare on heartbeats, so its state is re-read this often:
# a publish lost while the broker connection stayed up is then noticed within this time.
CANDIDATE_REFRESH_SECONDS: Final = 30.0
# A candidate read skipped while the database was out is retried this soon.
STALE_RETRY_SECONDS: Final = 2.0

CLOSE_POLICY: Final = CloseCode.POLICY
CLOSE_TOO_BIG: Final = CloseCode.TOO_BIG
CLOSE_INTERNAL: Final = CloseCode.INTERNAL
CLOSE_UNAVAILABLE_REASON: Final = "Service momentanément indisponible, reconnexion…"

INVALID_MESSAGE: Final = encode(
    {"type": MessageType.ERROR, "error": {"code": "INVALID_MESSAGE", "message": "Message incompris."}}
)
# Enough to answer a short burst of mistakes; a client that never reads its
# error replies would otherwise make us queue them without bound.
MAX_PENDING_ERRORS: Final = 8


class SourceUnavailable(Exception):
    """The source of truth is momentarily out of reach; the read may be retried later."""


class SessionFeedSource(Protocol):
    async def snapshot(self, session_id: int) -> dict[str, Any]:
        """The supervisor view, including its ``"version"``."""

    async def events_since(self, session_id: int, since: int) -> list[dict[str, Any]] | None:
        """Events with version > since in ascending order; None when too old to replay."""

    async def current_version(self, session_id: int) -> int: ...


class CandidateFeedSource(Protocol):
    async def candidate_message(self, session_id: int, candidate_id: int) -> dict[str, Any]:
        """``{"type": "candidate", "candidate": {...}, "version": v, ...}``."""

    async def heartbeat(self, session_id: int, candidate_id: int) -> None: ...

    def wants_refresh(self, message: dict[str, Any]) -> bool:
        """Whether a client in the state this message shows should be re-read periodically
        (the app knows which states wait on someone else's action)."""


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


# After a message is sent (a state message, or a live or replayed event): whether the app
# wants the socket closed now, and with which code and reason.
Verdict = Callable[[dict[str, Any]], "tuple[int, str] | None"]


def _never(message: dict[str, Any]) -> tuple[int, str] | None:
    return None


class Handle:
    """The app's grip on one live socket, to close it from outside (a newer socket of the
    same person took its place). Closing before the feed starts is remembered."""

    def __init__(self) -> None:
        self._conn: _Connection | None = None
        self._close: _Close | None = None

    def close(self, code: int, reason: str) -> None:
        if self._close is None:
            self._close = _Close(code, reason)
        if self._conn is not None:
            self._conn.request_close(self._close)

    def _bind(self, conn: _Connection) -> None:
        self._conn = conn
        if self._close is not None:
            conn.request_close(self._close)


class _Gone(Exception):
    """The client disconnected."""


def _on_grid(now: float, every: float) -> float:
    """The next multiple of `every`: every socket of the process heartbeats at the same
    instants, so their version checks share one read (app/feeds.py) and one wake-up."""
    return (math.floor(now / every) + 1) * every


def _is_version(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Connection:
    """What both feeds share: framing limits, the sender's wake-up, sending, closing."""

    def __init__(self, websocket: WebSocket, hub: Hub, watch: Watch, send_timeout: float) -> None:
        self.websocket = websocket
        self.hub = hub
        self.watch = watch
        self.send_timeout = send_timeout
        self.errors_pending = 0
        # The sender waits on one future at a time, resolved by the watch (an event), the
        # receiver (wake) or the timer; the timer is kept while its deadline stands (the next
        # heartbeat), so an event costs no task and no timer per socket.
        self._woken = False
        self._waiter: asyncio.Future[None] | None = None
        self._wakeable = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._window_start = 0.0
        self._window_count = 0
        self._loop = asyncio.get_running_loop()
        self._closing: _Close | None = None
        self.verdict: Verdict = _never

    def request_close(self, close: _Close) -> None:
        self._closing = close
        self.wake()

    def check_closing(self) -> None:
        if self._closing is not None:
            raise self._closing

    def judge(self, message: dict[str, Any]) -> None:
        """Close after this message if the app says so."""
        closing = self.verdict(message)
        if closing is not None:
            raise _Close(*closing)

    # -- receiving (receiver task) --

    async def receive(self) -> dict[str, Any] | None:
        """Next client object; None for anything malformed. Raises _Gone / _Close."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Gone
        now = self._loop.time()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if self._window_count > MESSAGES_PER_SECOND:
            raise _Close(CLOSE_POLICY, "Trop de messages.")
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            if len(data) > MAX_FRAME:
                raise _Close(CLOSE_TOO_BIG, "Message trop long.")
            return None
        # len() counts characters; only a long string can be over in UTF-8 bytes.
        if len(text) > MAX_FRAME or (
            len(text) * 4 > MAX_FRAME and len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME
        ):
            raise _Close(CLOSE_TOO_BIG, "Message trop long.")
        try:
            return decode(text)
        except ValueError:
            return None

    def report_invalid(self) -> None:
        self.errors_pending = min(self.errors_pending + 1, MAX_PENDING_ERRORS)
        self.wake()

    def wake(self) -> None:
        self._woken = True
        if self._wakeable:
            self._resolve()

    def _resolve(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self._resolve()

    # -- waiting (sender task) --

    async def next_item(self, until: float | None) -> Item | None:
        """Next queued item, or None when woken by the receiver or at `until` (loop time)."""
        return await self._next(until, wakeable=True)

    async def next_queued(self, until: float) -> Item | None:
        """Next queued item only (the receiver's requests can wait), or None at `until`."""
        return await self._next(until, wakeable=False)

    async def _next(self, until: float | None, *, wakeable: bool) -> Item | None:
        item = self.watch.get_nowait()
        if item is not None:
            return item
        if wakeable and self._woken:
            self._woken = False
            return None
        if until is not None and self._loop.time() >= until:
            return None
        if until != self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = None, None
            if until is not None:
                self._timer, self._timer_at = self._loop.call_at(until, self._on_timer), until
        waiter: asyncio.Future[None] = self._loop.create_future()
        self.watch.notify_to(waiter)
        self._waiter, self._wakeable = waiter, wakeable
        try:
            await waiter
        finally:
            self.watch.notify_to(None)
            self._wakeable = False
            if self._waiter is waiter:
                self._waiter = None
        item = self.watch.get_nowait()
        if item is None and wakeable:
            self._woken = False
        return item

    # -- sending (sender task) --

    async def send(self, text: str) -> None:
        try:
            async with asyncio.timeout(self.send_timeout):
                await self.websocket.send_text(text)
        except TimeoutError:
            raise _Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON) from None
        except (WebSocketDisconnect, WebSocketDisconnected, OSError) as exc:
            raise _Gone from exc

    async def send_errors(self) -> None:
        while self.errors_pending:
            self.errors_pending -= 1
            await self.send(INVALID_MESSAGE)

    async def send_live(self, published: Published) -> None:
        """Send a broker event as is, with the stats every live delivery feeds."""
        await self.send(published.text)
        self.delivered(published)
        self.judge(published.event)

    def delivered(self, published: Published | None) -> None:
        metrics = self.hub.metrics
        metrics.events_delivered_total.inc()
        if published is not None and published.published_at is not None:
            # Clamped: with several hosts, clocks may disagree by a few ms.
            latency = max(0.0, time.time() - published.published_at)
            metrics.fanout_latency_seconds.observe(latency)

    # -- lifecycle --

    async def run(self, sender: Coroutine[Any, Any, None], receiver: Coroutine[Any, Any, None]) -> None:
        tasks = (asyncio.create_task(sender), asyncio.create_task(receiver))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._timer is not None:
                self._timer.cancel()
        close: _Close | None = None
        for task in tasks:
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is None or isinstance(exc, _Gone):
                continue
            if isinstance(exc, _Close):
                close = close or exc
            elif isinstance(exc, SourceUnavailable):
                close = close or _Close(OVERFLOW_CLOSE_CODE, CLOSE_UNAVAILABLE_REASON)
            else:
                logger.error(
                    "live feed of session %s failed",
                    self.watch.session_id,
                    exc_info=(type(exc), exc, exc.__traceback__),
                )
                close = close or _Close(CLOSE_INTERNAL, "Erreur interne.")
        if close is not None:
            await self.close(close.code, close.reason)

    async def close(self, code: int, reason: str) -> None:
        # The peer may be gone or stuck; closing is best effort and bounded.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.websocket.close(code, reason)


class _SessionFeed:
    def __init__(
        self,
        conn: _Connection,
        session_id: int,
        source: SessionFeedSource,
        heartbeat_seconds: float,
        gap_grace_seconds: float,
    ) -> None:
        self.conn = conn
        self.session_id = session_id
        self.source = source
        self.heartbeat_seconds = heartbeat_seconds
        self.gap_grace_seconds = gap_grace_seconds
        self.last = -1
        self.resync_since: int | None = None
        self.next_resync_at = 0.0

    async def receiver(self) -> None:
        while True:
            message = await self.conn.receive()
            if message is not None and message.get("type") == MessageType.RESYNC:
                since = message.get("since")
                if _is_version(since):
                    # Coalesced: replaying from the lowest request covers the others.
                    if self.resync_since is None or since < self.resync_since:
                        self.resync_since = since
                    self.conn.wake()
                    continue
            self.conn.report_invalid()

    async def sender(self) -> None:
        loop = asyncio.get_running_loop()
        await self.send_snapshot()
        next_heartbeat = _on_grid(loop.time(), self.heartbeat_seconds)
        while True:
            self.conn.check_closing()
            wake_at = next_heartbeat
            if self.resync_since is not None:
                wake_at = min(wake_at, self.next_resync_at)
            item = await self.conn.next_item(wake_at)
            self.conn.check_closing()
            await self.conn.send_errors()
            if self.resync_since is not None and loop.time() >= self.next_resync_at:
                since, self.resync_since = self.resync_since, None
                try:
                    await self.catch_up(since, requested=True)
                except SourceUnavailable:
                    # Kept for the next turn of the loop (an event or the heartbeat).
                    self.resync_since = since if self.resync_since is None else min(since, self.resync_since)
                self.next_resync_at = loop.time() + RESYNC_INTERVAL
            if item is not None:
                try:
                    await self.handle(item)
                except SourceUnavailable:
                    logger.info("session %s: catch-up deferred, database unavailable", self.session_id)
            if loop.time() >= next_heartbeat:
                await self.heartbeat()
                next_heartbeat = _on_grid(loop.time(), self.heartbeat_seconds)

    async def handle(self, item: Item) -> None:
        if isinstance(item, Overflow):
            raise _Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
        if isinstance(item, Resync):
            await self.catch_up(self.last)
        elif item.version <= self.last:
            pass  # duplicate, or already covered by a catch-up
        elif item.version == self.last + 1:
            await self.conn.send_live(item)
            self.last = item.version
        else:
            await self.fill_gap(item)

    async def fill_gap(self, first: Published) -> None:
        # Two publishes racing through Redis can arrive swapped; a short wait
        # usually fills the gap without touching the database.
        loop = asyncio.get_running_loop()
        buffered = {first.version: first}
        deadline = loop.time() + self.gap_grace_seconds
        resync = False
        while True:
            await self.flush(buffered)
            if not buffered:
                return
            item = await self.conn.next_queued(deadline)
            if item is None:
                break
            if isinstance(item, Overflow):
                raise _Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            if isinstance(item, Resync):
                resync = True
                break
            if item.version > self.last:
                buffered[item.version] = item
        await self.catch_up(self.last)
        await self.flush(buffered)
        if buffered and not resync:
            # Newer than what the log returned (a lagging replica?): the next
            # heartbeat compares versions and catches up then.
            logger.info("session %s: dropping %d early events", self.session_id, len(buffered))

    async def flush(self, buffered: dict[int, Published]) -> None:
        """Send buffered events that are now next in line; forget those already covered."""
        for version in sorted(buffered):
            if version <= self.last:
                del buffered[version]
            elif version == self.last + 1:
                await self.conn.send_live(buffered.pop(version))
                self.last = version
            else:
                return

    async def catch_up(self, since: int, *, requested: bool = False) -> None:
        events = await self.source.events_since(self.session_id, since)
        if events is None:
            await self.send_snapshot()
            return
        for event in events:
            version = event.get("version")
            if not _is_version(version):
                raise ValueError(f"event without a valid version: {event!r}")
            # A client's own request replays what it asks for, even if this
            # socket already sent it; otherwise only what is new.
            if version <= since or (not requested and version <= self.last):
                continue
            await self.conn.send(encode(event))
            self.conn.delivered(None)
            self.last = max(self.last, version)
            self.conn.judge(event)

    async def await_version(self, version: int) -> None:
        """Handle what arrives up to `version` within the gap grace. Under load the log is
        often ahead of this socket only by events already queued or being published: reading
        the log for those would cost every dashboard of the session a query per heartbeat."""
        deadline = asyncio.get_running_loop().time() + self.gap_grace_seconds
        while self.last < version:
            item = await self.conn.next_queued(deadline)
            if item is None:
                return
            await self.handle(item)

    async def send_snapshot(self) -> None:
        snapshot = await self.source.snapshot(self.session_id)
        version = snapshot.get("version")
        if not _is_version(version):
            raise ValueError("snapshot without a valid version")
        await self.conn.send(encode({"type": MessageType.SNAPSHOT, **snapshot}))
        self.last = version

    async def heartbeat(self) -> None:
        # Pub/sub can silently lose the last event; the version in the log
        # reveals it and the heartbeat then carries no stale version.
        try:
            current = await self.source.current_version(self.session_id)
            await self.await_version(current)
            if current > self.last:
                await self.catch_up(self.last)
        except SourceUnavailable:
            # The client still hears from us (its silence timer would reconnect it for
            # nothing); what it misses meanwhile comes with the first heartbeat after.
            logger.info("session %s: heartbeat without catch-up, database unavailable", self.session_id)
        await self.conn.send(encode({"type": MessageType.HEARTBEAT, "version": self.last}))


async def serve_session_feed(
    websocket: WebSocket,
    hub: Hub,
    session_id: int,
    source: SessionFeedSource,
    *,
    heartbeat_seconds: float = 15.0,
    gap_grace_seconds: float = 0.1,
    send_timeout: float = SEND_TIMEOUT,
    handle: Handle | None = None,
    verdict: Verdict = _never,
) -> None:
    """Supervisor feed: snapshot, then every event in strictly increasing version."""
    metrics = hub.metrics
    metrics.sockets_open.inc(kind="supervisor")
    try:
        # Watch first: an event committed after the snapshot is read is then queued.
        async with hub.watch(session_id) as watch:
            conn = _Connection(websocket, hub, watch, send_timeout)
            conn.verdict = verdict
            if handle is not None:
                handle._bind(conn)
            feed = _SessionFeed(conn, session_id, source, heartbeat_seconds, gap_grace_seconds)
            await conn.run(feed.sender(), feed.receiver())
    finally:
        metrics.sockets_open.dec(kind="supervisor")


def candidate_filter(candidate_id: int) -> Callable[[dict[str, Any]], bool]:
    """Events a candidate's socket needs: its own, and the session's."""

    def accept(event: dict[str, Any]) -> bool:
        if event.get("name") == EventName.SESSION_UPDATED:
            return True
        if event.get("name") == EventName.ROOM_MESSAGE:
            return message_for(event, candidate_id)
        candidate = event.get("candidate")
        return isinstance(candidate, dict) and candidate.get("id") == candidate_id

    return accept


class _CandidateFeed:
    def __init__(self, conn: _Connection, session_id: int, candidate_id: int, source: CandidateFeedSource) -> None:
        self.conn = conn
        self.session_id = session_id
        self.candidate_id = candidate_id
        self.source = source
        self.last = -1
        self.last_heartbeat = float("-inf")
        self.last_candidate: Any = None
        self.refresh_seconds = CANDIDATE_REFRESH_SECONDS
        # A state read skipped while the database was out: redone at the next refresh.
        self.stale = False

    async def receiver(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            message = await self.conn.receive()
            if message is None or message.get("type") != MessageType.HEARTBEAT:
                self.conn.report_invalid()
                continue
            # Browsers send one every 5 s; more often is noise not worth a write.
            now = loop.time()
            if now - self.last_heartbeat >= HEARTBEAT_MIN_INTERVAL:
                self.last_heartbeat = now
                # While the database is out the next heartbeat renews the lease instead.
                with contextlib.suppress(SourceUnavailable):
                    await self.source.heartbeat(self.session_id, self.candidate_id)

    async def sender(self) -> None:
        loop = asyncio.get_running_loop()
        await self.send_state()
        next_refresh = loop.time() + self.refresh_seconds
        while True:
            self.conn.check_closing()
            if self.stale:
                next_refresh = min(next_refresh, loop.time() + STALE_RETRY_SECONDS)
            item = await self.conn.next_item(next_refresh)
            self.conn.check_closing()
            await self.conn.send_errors()
            if loop.time() >= next_refresh:
                next_refresh = loop.time() + self.refresh_seconds
                if self.stale or self.source.wants_refresh({"candidate": self.last_candidate}):
                    await self.deferrable(self.send_state(only_if_changed=not self.stale))
            if item is None:
                continue
            if isinstance(item, Overflow):
                raise _Close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            if isinstance(item, Resync):
                await self.deferrable(self.send_state())
            elif item.version <= self.last:
                pass  # older than the state this candidate already has
            elif item.event.get("name") == EventName.ROOM_MESSAGE:
                # Passed on as it is: the page shows the text (never as markup) until dismissed.
                await self.conn.send(encode(message_frame(item.event, item.version)))
                self.conn.delivered(item)
            elif item.event.get("name") == EventName.CANDIDATE_UPDATED and isinstance(
                item.event.get("candidate"), dict
            ):
                mine = own_view(item.event["candidate"])
                message = {"type": MessageType.CANDIDATE, "candidate": mine, "version": item.version}
                await self.conn.send(encode(message))
                self.conn.delivered(item)
                self.last = item.version
                self.last_candidate = mine
                self.conn.judge(item.event)
            else:
                # Session changes (and removals) are rendered by the app's own view.
                await self.deferrable(self.send_state())

    async def deferrable(self, read: Coroutine[Any, Any, None]) -> None:
        """Run a state read; while the database is out, mark the state stale (retried soon)."""
        try:
            await read
        except SourceUnavailable:
            self.stale = True
            return
        self.stale = False

    async def send_state(self, *, only_if_changed: bool = False) -> None:
        message = await self.source.candidate_message(self.session_id, self.candidate_id)
        if only_if_changed and message.get("candidate") == self.last_candidate:
            return
        self.last_candidate = message.get("candidate")
        await self.conn.send(encode(message))
        version = message.get("version")
        if _is_version(version):
            self.last = max(self.last, version)
        self.conn.judge(message)


async def serve_candidate_feed(
    websocket: WebSocket,
    hub: Hub,
    session_id: int,
    candidate_id: int,
    source: CandidateFeedSource,
    *,
    send_timeout: float = SEND_TIMEOUT,
    refresh_seconds: float = CANDIDATE_REFRESH_SECONDS,
    handle: Handle | None = None,
    verdict: Verdict = _never,
) -> None:
    """Candidate feed: its own state now, then again whenever it changes."""
    metrics = hub.metrics
    metrics.sockets_open.inc(kind="candidate")
    try:
        async with hub.watch(session_id, candidate_filter(candidate_id)) as watch:
            conn = _Connection(websocket, hub, watch, send_timeout)
            conn.verdict = verdict
            if handle is not None:
                handle._bind(conn)
            feed = _CandidateFeed(conn, session_id, candidate_id, source)
            feed.refresh_seconds = refresh_seconds
            await conn.run(feed.sender(), feed.receiver())
    finally:
        metrics.sockets_open.dec(kind="candidate")
