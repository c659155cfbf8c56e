"""The periodic sweep that ends tests left open too long (`ended_by_expiry`).

Like the lease sweep in app/presence.py, every process runs it and any of them may be the
one that finds a test to end: the session's lock makes the others find nothing left.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.actions import room
from app.actions.rules import Rules
from app.db import Database
from app.periodic import Periodic


@dataclass
class Expiry:
    db: Database
    rules: Rules
    every: float = 60.0
    _loop: Periodic = field(init=False)

    def __post_init__(self) -> None:
        self._loop = Periodic("expiry", self.every, self.sweep, at_once=True)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def sweep(self) -> int:
        ended = 0
        for session_id in await self.db.read(lambda db: room.sessions_with_expired_tests(db, self.rules)):
            ended += await self.db.write(lambda tx, sid=session_id: room.expire_tests(tx, sid, self.rules))  # type: ignore[misc]
        return ended
