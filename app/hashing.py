"""Password hashing on a bounded pool.

argon2 is slow and memory-hard on purpose. Run on the shared worker threads, a burst of
logins would queue behind each other and in front of the database work of every live
feed. Here a few threads hash, a few hashes may wait for them, and any more are answered
at once with 503 and Retry-After: refusing is cheap, queueing is what brings the machine
down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio

from app.errors import ServiceBusy

T = TypeVar("T")


class Slot:
    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter

    async def run(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter)


class HashPool:
    def __init__(self, workers: int, queue: int) -> None:
        self._limiter = anyio.CapacityLimiter(workers)
        self.room = workers + queue
        self.busy = 0

    @asynccontextmanager
    async def reserve(self) -> AsyncIterator[Slot]:
        """A place in the pool, taken before anything else is done for the request (so a
        refused login records no try), or 503 at once when the pool is full."""
        if self.busy >= self.room:
            raise ServiceBusy(headers={"Retry-After": "2"})
        self.busy += 1
        try:
            yield Slot(self._limiter)
        finally:
            self.busy -= 1
