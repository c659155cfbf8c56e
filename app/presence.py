"""Who is connected, as leases in the database.

A socket alone cannot tell supervisors that a candidate is gone when the process holding
it dies. So each process renews, in one batched statement every few seconds, the leases
of the sockets it holds (if their owner still heartbeats), and every process sweeps
leases that ran out into "lost" events. The first connection is a real state change made
at once; a short drop inside the lease shows nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from app.actions import presence as leases
from app.actions.rules import Rules
from app.db import Database
from app.periodic import Periodic


@dataclass
class Presence:
    db: Database
    rules: Rules
    renew_every: float = 3.0
    sweep_every: float = 2.0
    _candidates: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    _last_beat: dict[tuple[int, int, int], float] = field(default_factory=dict)
    _supervisors: Counter[tuple[int, int]] = field(default_factory=Counter)
    _renewal: Periodic = field(init=False)
    _sweep: Periodic = field(init=False)

    def __post_init__(self) -> None:
        # Two loops: a sweep that has many sessions to expire (a busy database) must never
        # hold back the renewal, or the late renewal lets more leases run out, and so on.
        self._renewal = Periodic("presence-renewal", self.renew_every, self.renew, at_once=False)
        self._sweep = Periodic("presence-sweep", self.sweep_every, self.sweep, at_once=False)

    # Candidates are keyed by (session, candidate, join): only sockets of the newest join
    # renew a lease; a join of -1 (a listener that counts for nothing) is not kept.

    async def candidate_connected(self, session_id: int, candidate_id: int, join: int) -> None:
        if join < 0:
            return
        key = (session_id, candidate_id, join)
        self._candidates[key] += 1
        self._last_beat[key] = time.monotonic()
        await self.db.write(lambda tx: leases.candidate_connected(tx, session_id, candidate_id, join, self.rules))

    def candidate_heartbeat(self, session_id: int, candidate_id: int, join: int) -> None:
        key = (session_id, candidate_id, join)
        if key in self._candidates:
            self._last_beat[key] = time.monotonic()

    def candidate_disconnected(self, session_id: int, candidate_id: int, join: int) -> None:
        if join < 0:
            return
        key = (session_id, candidate_id, join)
        self._candidates[key] -= 1
        if self._candidates[key] <= 0:
            del self._candidates[key]
            self._last_beat.pop(key, None)

    async def supervisor_connected(self, session_id: int, user_id: int) -> None:
        self._supervisors[(session_id, user_id)] += 1
        await self.db.write(lambda tx: leases.supervisor_online(tx, session_id, user_id, self.rules))

    def supervisor_disconnected(self, session_id: int, user_id: int) -> None:
        key = (session_id, user_id)
        self._supervisors[key] -= 1
        if self._supervisors[key] <= 0:
            del self._supervisors[key]

    def start(self) -> None:
        self._renewal.start()
        self._sweep.start()

    async def stop(self) -> None:
        await self._sweep.stop()
        await self._renewal.stop()

    async def renew(self) -> None:
        now = time.monotonic()
        fresh = self.rules.lease_seconds
        alive = [(cid, join) for (_, cid, join), beat in self._last_beat.items() if now - beat < fresh]
        supervisors = list(self._supervisors)
        if alive or supervisors:
            await self.db.write(
                lambda tx: leases.renew_leases(tx, alive, supervisors, self.rules.lease_seconds), apart=True
            )

    async def sweep(self) -> None:
        for session_id in await self.db.read(leases.expired_sessions):
            await self.db.write(lambda tx, expired=session_id: leases.expire_leases(tx, expired, self.rules))  # type: ignore[misc]
