"""A background task that runs one coroutine at a steady pace until the app stops.

The lease sweep (app/presence.py) and the expiry sweep (app/expiry.py) both run on every
process; a failed turn (the database switching primary, say) is logged and the next turn
tries again, so one bad moment never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.errors import ServiceUnavailable

log = logging.getLogger("surveillance.periodic")


class Periodic:
    def __init__(self, name: str, every: float, turn: Callable[[], Awaitable[object]], *, at_once: bool) -> None:
        """`at_once`: the first turn runs on start rather than one period later."""
        self.name = name
        self.every = every
        self._turn = turn
        self._at_once = at_once
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        if not self._at_once:
            await asyncio.sleep(self.every)
        while True:
            try:
                await self._turn()
            except asyncio.CancelledError:
                raise
            except ServiceUnavailable:
                log.warning("%s: turn skipped, database unavailable", self.name)
            except Exception:
                log.warning("%s: turn failed", self.name, exc_info=True)
            await asyncio.sleep(self.every)
