"""Redis pub/sub broker for several app processes.

One process holds exactly one subscriber connection, whatever the number of
websockets, driven by a single reader task. Publishing uses a separate, bounded
pool because a connection in subscribe mode cannot run PUBLISH.

The subscriber is a bare redis-py ``Connection`` rather than ``PubSub``:
``PubSub`` silently reconnects and re-subscribes inside its retry layer, and a
silent reconnect is exactly what we must *not* have: every message published
during the gap is lost, so the hub has to hear about it and resync sockets.

With a ``redis+sentinel://`` URL both kinds of connection find the master through
the sentinels (realtime/sentinel.py); a failover is then just another reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from realtime.broker import BrokerUnavailable, OnMessage, OnReconnect
from realtime.sentinel import SENTINEL_SCHEME, sentinel_pools

logger = logging.getLogger(__name__)


class RedisBroker:
    def __init__(
        self,
        url: str,
        *,
        client_name: str = "surveillance",
        max_connections: int = 32,
        connect_timeout: float = 0.5,
        publish_timeout: float = 0.5,
        pool_wait_timeout: float = 2.0,
        subscribe_timeout: float = 2.0,
        idle_ping_seconds: float = 30.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        # RESP2 on purpose: RESP3 push messages with the hiredis parser leak memory
        # in redis-py's pub/sub path, and RESP2 is all plain pub/sub needs.
        common: dict[str, Any] = {
            "protocol": 2,
            "decode_responses": True,
            "socket_connect_timeout": connect_timeout,
            "socket_keepalive": True,
        }
        # One immediate retry covers a pooled connection left stale by a Redis
        # restart; anything longer would make a publish during an outage slow.
        publish: dict[str, Any] = {
            "max_connections": max_connections,
            "timeout": pool_wait_timeout,
            "socket_timeout": publish_timeout,
            "client_name": f"{client_name}:pub",
            "retry": Retry(NoBackoff(), 1),
        }
        # No socket_timeout here: an idle subscription legitimately reads nothing
        # for hours. Dead peers are found by our own idle PING instead.
        subscribe: dict[str, Any] = {
            "max_connections": 1,
            "client_name": f"{client_name}:sub",
            "retry": Retry(NoBackoff(), 0),
        }
        self._sentinel: Sentinel | None = None
        self._publish_pool: ConnectionPool
        self._subscriber_pool: ConnectionPool
        if url.startswith(SENTINEL_SCHEME):
            # Each new connection asks the sentinels for the master, so the reconnect
            # after a failover reaches the promoted replica.
            self._sentinel, self._publish_pool, self._subscriber_pool = sentinel_pools(
                url, publish=publish, subscribe=subscribe, common=common
            )
        else:
            self._publish_pool = BlockingConnectionPool.from_url(url, **publish, **common)
            self._subscriber_pool = ConnectionPool.from_url(url, **subscribe, **common)
        self._publisher = Redis(connection_pool=self._publish_pool)
        self._subscribe_timeout = subscribe_timeout
        self._idle_ping_seconds = idle_ping_seconds
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        if self._sentinel is not None:
            # An attempt only asks the sentinels until one has promoted a replica: cheap, and
            # retrying every second at most keeps the resync within a second of the promotion.
            self._backoff_max = min(backoff_max, 1.0)

        self._wanted: set[str] = set()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._conn: AbstractConnection | None = None
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._on_message: OnMessage | None = None
        self._on_reconnect: OnReconnect | None = None
        self._resync_after: set[str] | None = None
        self._first_attempt = asyncio.Event()

    @property
    def connected(self) -> bool:
        """Whether the subscriber connection is currently up."""
        return self._conn is not None

    async def start(self, on_message: OnMessage, on_reconnect: OnReconnect) -> None:
        if self._reader is not None:
            raise RuntimeError("broker already started")
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._reader = asyncio.create_task(self._run(), name="redis-broker-reader")
        # Waiting for the first attempt (bounded by the connect timeout) means
        # watches made right after start need no resync; if Redis is down the
        # app still starts and the reader keeps trying.
        await self._first_attempt.wait()

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._fail_confirmations()
        await self._publisher.aclose()
        await self._publish_pool.disconnect()
        await self._subscriber_pool.disconnect()
        if self._sentinel is not None:
            # Client by client: Sentinel.aclose() is recent in redis-py.
            for client in self._sentinel.sentinels:
                await client.aclose()

    async def publish(self, channel: str, data: str) -> None:
        try:
            await self._publisher.publish(channel, data)
        except (TimeoutError, RedisError, OSError) as exc:
            raise BrokerUnavailable(f"publish to {channel} failed: {exc}") from exc

    async def subscribe(self, channel: str) -> None:
        """Subscribe and wait for Redis to confirm, so a snapshot read after this is safe."""
        self._wanted.add(channel)
        conn = self._conn
        if conn is None:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, []).append(waiter)
        try:
            await self._send(conn, "SUBSCRIBE", channel)
            await asyncio.wait_for(asyncio.shield(waiter), self._subscribe_timeout)
        except (TimeoutError, RedisError, OSError, ConnectionError) as exc:
            # The wish stays recorded: the reader re-subscribes on reconnect and
            # the hub then resyncs every socket, so nothing is lost for good.
            logger.warning("subscribe %s not confirmed: %s", channel, exc)
        finally:
            waiters = self._confirmations.get(channel)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._confirmations[channel]

    async def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        conn = self._conn
        if conn is None:
            return
        try:
            await self._send(conn, "UNSUBSCRIBE", channel)
        except (RedisError, OSError) as exc:
            # Harmless: a reconnect only re-subscribes what is still wanted.
            logger.warning("unsubscribe %s failed: %s", channel, exc)

    async def ping(self) -> bool:
        try:
            return bool(await self._publisher.ping())
        except (TimeoutError, RedisError, OSError):
            return False

    async def _send(self, conn: AbstractConnection, *args: str) -> None:
        async with self._send_lock:
            if conn is not self._conn:
                # Dropped meanwhile; sending would make redis-py silently
                # reconnect this object behind the reader's back.
                raise ConnectionError("subscriber connection lost")
            await conn.send_command(*args, check_health=False)

    async def _run(self) -> None:
        delay = self._backoff_initial
        first = True
        while True:
            # make_connection is untyped in redis-py; it builds a Connection
            # from the URL's options without the pool's checkout bookkeeping.
            conn: AbstractConnection = self._subscriber_pool.make_connection()  # type: ignore[no-untyped-call]
            try:
                await conn.connect()  # type: ignore[no-untyped-call]
            except (TimeoutError, RedisError, OSError) as exc:
                await self._drop(conn)
                self._first_attempt.set()
                pause = random.uniform(delay / 2, delay)
                logger.warning("redis subscriber connect failed (%s); retry in %.2fs", exc, pause)
                await asyncio.sleep(pause)
                delay = min(delay * 2, self._backoff_max)
                continue
            connected_at = asyncio.get_running_loop().time()
            try:
                await self._serve(conn, notify=not first)
            except asyncio.CancelledError:
                await self._drop(conn)
                raise
            except Exception as exc:  # any failure means this connection is unusable
                logger.warning("redis subscriber connection lost: %r", exc)
            await self._drop(conn)
            self._first_attempt.set()
            first = False
            if asyncio.get_running_loop().time() - connected_at > self._backoff_max:
                # A connection that lived a while: the next drop starts afresh.
                delay = self._backoff_initial
            else:
                # A server that accepts then drops at once must not be hammered.
                await asyncio.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, self._backoff_max)

    async def _serve(self, conn: AbstractConnection, *, notify: bool) -> None:
        channels = sorted(self._wanted)
        self._conn = conn
        if channels:
            async with self._send_lock:
                await conn.send_command("SUBSCRIBE", *channels, check_health=False)
        # Resync only once every wanted channel is confirmed: an event published
        # before that would be missed both live and by a too-early catch-up.
        self._resync_after = set(channels) if notify or channels else None
        self._first_attempt.set()
        self._maybe_notify_reconnect()
        ping_sent = False
        while True:
            response = await conn.read_response(timeout=self._idle_ping_seconds, disconnect_on_error=False)
            if response is None:
                if ping_sent:
                    raise ConnectionError("no reply to PING")
                async with self._send_lock:
                    await conn.send_command("PING", check_health=False)
                ping_sent = True
                continue
            ping_sent = False
            self._handle(response)

    def _handle(self, response: Any) -> None:
        if not isinstance(response, list) or len(response) < 2:
            return  # "PONG" outside subscribe mode
        kind = response[0]
        if kind == "message" and len(response) == 3:
            if self._on_message is not None:
                try:
                    self._on_message(response[1], response[2])
                except Exception:
                    logger.exception("broker on_message callback failed")
        elif kind == "subscribe":
            channel = response[1]
            for waiter in self._confirmations.pop(channel, []):
                if not waiter.done():
                    waiter.set_result(None)
            if self._resync_after is not None:
                self._resync_after.discard(channel)
                self._maybe_notify_reconnect()

    def _maybe_notify_reconnect(self) -> None:
        if self._resync_after is None or self._resync_after:
            return
        self._resync_after = None
        if self._on_reconnect is not None:
            try:
                self._on_reconnect()
            except Exception:
                logger.exception("broker on_reconnect callback failed")

    async def _drop(self, conn: AbstractConnection) -> None:
        if self._conn is conn:
            self._conn = None
        self._resync_after = None
        self._fail_confirmations()
        with contextlib.suppress(Exception):
            await conn.disconnect(nowait=True)

    def _fail_confirmations(self) -> None:
        for waiters in self._confirmations.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(ConnectionError("subscriber connection lost"))
        self._confirmations.clear()
