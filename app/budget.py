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
it). Fixed windows: one INCR per try, the key expiring with its window. If Redis is
unreachable the budget lets tries through (the per-target limits and the hash pool still
hold): an outage of Redis must not lock every candidate out on exam day.

The client address is what uvicorn reports: behind nginx, the X-Forwarded-For of a proxy
listed in FORWARDED_ALLOW_IPS (docker-compose.yml trusts its own network only).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.errors import DomainError

log = logging.getLogger("surveillance.budget")

DOORS = ("signup", "login", "join", "access")


class TooManyRequests(DomainError):
    status = 429
    code = "TOO_MANY_REQUESTS"


def _wait_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconde{'s' if seconds > 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


class Counter(Protocol):
    async def incr(self, key: str, window: int) -> int:
        """Add one to `key` for the current window; the new count."""

    async def close(self) -> None: ...


class MemoryCounter:
    """One process: counts in a dict, forgetting windows that are over."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window_of: dict[str, int] = {}

    async def incr(self, key: str, window: int) -> int:
        now = int(time.time()) // window
        if len(self._counts) > 100_000:
            for k in [k for k, w in self._window_of.items() if w != now]:
                del self._counts[k], self._window_of[k]
        if self._window_of.get(key) != now:
            self._window_of[key] = now
            self._counts[key] = 0
        self._counts[key] += 1
        return self._counts[key]

    async def close(self) -> None:
        self._counts.clear()


class RedisCounter:
    """Several processes: INCR and EXPIRE in one round trip, atomic across processes."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    async def incr(self, key: str, window: int) -> int:
        slot = int(time.time()) // window
        full = f"surveillance:budget:{key}:{slot}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, window + 1)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


class Budget:
    def __init__(self, counter: Counter, per_address: int, overall: int, window: int) -> None:
        self.counter = counter
        self.per_address = per_address
        self.overall = overall
        self.window = window

    def _retry_after(self) -> int:
        return max(1, self.window - int(time.time()) % self.window)

    async def spend(self, door: str, address: str | None) -> None:
        """Count one try at `door` from `address`; 429 once its budget is spent."""
        assert door in DOORS
        # Addresses are keyed by digest: nothing typed by a client reaches Redis as is.
        who = hashlib.sha256((address or "unknown").encode()).hexdigest()[:32]
        try:
            mine = await self.counter.incr(f"{door}:{who}", self.window)
            # An address over its own budget does not eat into everyone's.
            everyone = await self.counter.incr(f"{door}:*", self.window) if mine <= self.per_address else 0
        except (RedisError, OSError) as exc:
            log.warning("abuse budget unavailable, letting the try through: %s", type(exc).__name__)
            return
        if mine > self.per_address:
            seconds = self._retry_after()
            raise TooManyRequests(
                "Trop de tentatives depuis votre adresse. "
                f"Veuillez réessayer dans {_wait_words(seconds)}.",
                headers={"Retry-After": str(seconds)},
                extra={"retry_after_seconds": seconds},
            )
        if everyone > self.overall:
            seconds = self._retry_after()
            raise TooManyRequests(
                "Le service reçoit trop de demandes en ce moment. "
                f"Veuillez réessayer dans {_wait_words(seconds)}.",
                headers={"Retry-After": str(seconds)},
                extra={"retry_after_seconds": seconds},
            )

    async def close(self) -> None:
        await self.counter.close()


def budget_for(redis_url: str | None, per_address: int, overall: int, window: int) -> Budget:
    counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    return Budget(counter, per_address, overall, window)
