"""Dashboards close when their login ends (logout, « Mon compte », a password change).

A copied cookie must not keep a dashboard open. Each process checks the logins its open
dashboards hold in one lookup per period, whatever the number of sockets: 300 dashboards
used to cost 20 reads a second, the larger part of an idle process's CPU.
"""

from __future__ import annotations

from app.actions import logins
from app.db import Database
from app.periodic import Periodic
from realtime.sockets import Handle
from vocabulary import CloseCode


class Logouts:
    def __init__(self, db: Database, every: float) -> None:
        self.db = db
        # Each socket with its close reason, in its own page's language (the check runs
        # outside any request).
        self._held: dict[int, dict[Handle, str]] = {}
        self._loop = Periodic("logins", every, self.check, at_once=False)

    def hold(self, login_id: int, handle: Handle, reason: str) -> None:
        self._held.setdefault(login_id, {})[handle] = reason

    def release(self, login_id: int, handle: Handle) -> None:
        held = self._held.get(login_id)
        if held is not None:
            held.pop(handle, None)
            if not held:
                del self._held[login_id]

    async def check(self) -> None:
        """Close the sockets of every login that ended. A failed lookup (database away)
        is no verdict: nothing is closed, the next period asks again."""
        ids = list(self._held)
        if not ids:
            return
        alive = await self.db.read(lambda db: logins.open_among(db, ids))
        for login_id in ids:
            if login_id not in alive:
                for handle, reason in self._held.pop(login_id, {}).items():
                    handle.close(CloseCode.NOT_LOGGED_IN, reason)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
