"""The abuse budget of the doors open to people without an account (sign-up, login, a
candidate's join, supervisor access): so many tries per client address and window, and so
many from everyone together, whatever the outcome.

The per-target limits (`RateLimiter`) count *failures* against one account or session;
this counts *tries* against the machine: every login and sign-up runs a memory-hard hash
and every join writes to the database, so one client with random e-mails or session
numbers could otherwise keep both cores busy and delay every live feed.

Counted in Redis when REDIS_URL is set, in the process otherwise. Not in the database, on
purpose: a flood must be refused before it costs a write, and Redis is already what
several processes share (without it there is one process, and memory is shared by all of
it). A window starts at a key's first try and the key expires with it: one round trip per
try. If Redis is
unreachable the budget lets tries through (the per-target limits and the hash pool still
hold): an outage of Redis must not lock every candidate out on exam day.

The client address is what uvicorn reports: behind nginx, the X-Forwarded-For of a proxy
listed in FORWARDED_ALLOW_IPS (docker-compose.yml trusts its own network only).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.errors import TooManyRequests
from app.i18n import N_, Text
from realtime.sentinel import SENTINEL_SCHEME, sentinel_pools

log = logging.getLogger("surveillance.budget")

DOORS = ("signup", "login", "join", "access")


def _wait_words(seconds: int) -> Text:
    if seconds < 60:
        return Text.ngettext("%(seconds)s seconde", "%(seconds)s secondes", seconds, seconds=seconds)
    minutes = math.ceil(seconds / 60)
    return Text.ngettext("%(minutes)s minute", "%(minutes)s minutes", minutes, minutes=minutes)


class Counter(Protocol):
    async def incr(self, key: str, window: int) -> tuple[int, int]:
        """Add one to `key`; the new count and the seconds left in its window, which
        starts at the key's first try."""

    async def close(self) -> None: ...


class MemoryCounter:
    """One process: counts in a dict, forgetting windows that are over."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}

    async def incr(self, key: str, window: int) -> tuple[int, int]:
        now = time.monotonic()
        if len(self._counts) > 100_000:
            for k in [k for k, (_, until) in self._counts.items() if until <= now]:
                del self._counts[k]
        count, until = self._counts.get(key, (0, 0.0))
        if until <= now:
            count, until = 0, now + window
        self._counts[key] = (count + 1, until)
        return count + 1, max(1, math.ceil(until - now))

    async def close(self) -> None:
        self._counts.clear()


class RedisCounter:
    """Several processes: one MULTI (create with its expiry if new, add one, read the
    time left), atomic across processes."""

    def __init__(self, url: str) -> None:
        common: dict[str, Any] = {"socket_timeout": 1, "socket_connect_timeout": 1}
        if url.startswith(SENTINEL_SCHEME):
            # Through the sentinels, like the broker: after a failover, the promoted master.
            # A blocking pool: while the master is away, a request waits at most a second for
            # a connection (redis-py's default is 20 s) and is then let through unlimited.
            _, pool, _ = sentinel_pools(url, publish={"timeout": 1}, subscribe={}, common=common)
            self._redis: Redis = Redis(connection_pool=pool)
        else:
            self._redis = Redis.from_url(url, **common)

    async def incr(self, key: str, window: int) -> tuple[int, int]:
        full = f"surveillance:budget:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(full, 0, ex=window, nx=True)
            pipe.incr(full)
            pipe.ttl(full)
            _, count, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    async def close(self) -> None:
        await self._redis.aclose()


def client_key(address: str | None) -> str:
    """What one client is, for its budget: its IPv4 address, or its IPv6 /64.

    One IPv6 subscriber is given a whole /64 (RFC 6177); keyed by full address, one machine
    could rotate through 2^64 of them and never spend its budget.
    """
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Budget:
    def __init__(self, counter: Counter, per_address: int, overall: int, window: int) -> None:
        self.counter = counter
        self.per_address = per_address
        self.overall = overall
        self.window = window

    async def spend(self, door: str, address: str | None) -> None:
        """Count one try at `door` from `address`; 429 once its budget is spent."""
        assert door in DOORS
        # Addresses are keyed by digest: nothing typed by a client reaches Redis as is.
        who = hashlib.sha256(client_key(address).encode()).hexdigest()[:32]
        try:
            mine, left = await self.counter.incr(f"{door}:{who}", self.window)
            if mine > self.per_address:
                raise self._refusal(N_("Trop de tentatives depuis votre adresse."), left)
            # Counted only once the address is within its own budget: one address over
            # it does not spend everyone's.
            everyone, left = await self.counter.incr(f"{door}:*", self.window)
            if everyone > self.overall:
                raise self._refusal(N_("Le service reçoit trop de demandes en ce moment."), left)
        except (RedisError, OSError) as exc:
            log.warning("abuse budget unavailable, letting the try through: %s", type(exc).__name__)

    @staticmethod
    def _refusal(what: str, seconds: int) -> TooManyRequests:
        return TooManyRequests(what, seconds, _wait_words(seconds))

    async def close(self) -> None:
        await self.counter.close()


def budget_for(redis_url: str | None, per_address: int, overall: int, window: int) -> Budget:
    counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    return Budget(counter, per_address, overall, window)
