"""The periodic sweep that ends tests left open too long (`ended_by_expiry`).

Like the lease sweep in app/presence.py, every process runs it and any of them may be the
one that finds a test to end: the session's lock makes the others find nothing left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from app.actions import room
from app.actions.rules import Rules
from app.db import Database

log = logging.getLogger("surveillance.expiry")


@dataclass
class Expiry:
    db: Database
    rules: Rules
    every: float = 60.0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be down for a while; the next sweep catches up.
                log.warning("expiry sweep failed", exc_info=True)
            await asyncio.sleep(self.every)

    async def sweep(self) -> int:
        ended = 0
        for session_id in await self.db.read(lambda db: room.sessions_with_expired_tests(db, self.rules)):
            ended += await self.db.write(lambda tx, sid=session_id: room.expire_tests(tx, sid, self.rules))  # type: ignore[misc]
        return ended
