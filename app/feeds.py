"""What the two websocket feeds read, with the reads they share, built once with the services.

`realtime/` asks these sources for snapshots, missed events, versions and a candidate's
own message; the sharing below is why they are objects: 10,000 idle supervisor sockets
must not cost 10,000 reads per heartbeat, nor a burst of reconnections one snapshot each.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import views
from app.actions import candidate_test, eventlog
from app.actions.rules import Rules
from app.db import Database
from app.models import ExamSession
from app.presence import Presence
from realtime.metrics import Metrics

# A version this old at most is shared by all heartbeats of a session: it only delays
# noticing a lost last event by one heartbeat.
VERSION_MAX_AGE = 1.0
# Heartbeats asking within this window share one query for all their sessions: the reads
# then scale with the processes, not with the sessions watched. Sockets heartbeat on a common
# grid (realtime/sockets.py), so a short window gathers them all; a socket's sender waits
# this long at most, with its queue filling meanwhile.
VERSION_BATCH_SECONDS = 0.01


class _SnapshotRead:
    """One database read of a session's snapshot, shared by every socket that asks before
    it begins. A socket asks once its watch is registered; a read that has not begun yet
    will see every event committed before that, so sharing it is as safe as reading alone.
    A read already under way may be older than a newcomer's watch: it gets a read of its own."""

    __slots__ = ("begun", "task")

    def __init__(self) -> None:
        self.begun = False
        self.task: asyncio.Future[dict[str, Any]] | None = None


@dataclass
class SessionFeed:
    """The supervisors' feed source (realtime.sockets.SessionFeedSource)."""

    db: Database
    rules: Rules
    metrics: Metrics
    replay_limit: int
    # The snapshot reads waiting for a worker thread, by session.
    pending_reads: dict[int, _SnapshotRead] = field(default_factory=dict)
    # When each session's version was last asked for a heartbeat, and the read that answers.
    recent_versions: dict[int, tuple[float, asyncio.Future[dict[int, int]]]] = field(default_factory=dict)
    # The read that the heartbeats of the next VERSION_BATCH_SECONDS join.
    version_batch: _VersionBatch | None = None

    async def snapshot(self, session_id: int) -> dict[str, Any]:
        self.metrics.snapshot_requests_total.inc()
        read = self.pending_reads.get(session_id)
        if read is None or read.begun:
            read = self.pending_reads[session_id] = _SnapshotRead()
            read.task = asyncio.ensure_future(self._read(session_id, read))
        assert read.task is not None
        # Shielded: one socket closing while it waits must not cancel the others' read.
        return await asyncio.shield(read.task)

    async def _read(self, session_id: int, read: _SnapshotRead) -> dict[str, Any]:
        self.metrics.snapshot_reads_total.inc()

        def load(db: Session) -> dict[str, Any]:
            # Set in the worker thread before the first query: from now on, newcomers read anew.
            read.begun = True
            data = views.snapshot(db, session_id, self.rules.view)
            return data or {"version": 0, "candidates": []}

        try:
            return await self.db.read(load)
        finally:
            if self.pending_reads.get(session_id) is read:
                del self.pending_reads[session_id]

    async def events_since(self, session_id: int, since: int) -> list[dict[str, Any]] | None:
        limit = self.replay_limit
        return await self.db.read(lambda db: eventlog.events_since(db, session_id, since, limit))

    async def current_version(self, session_id: int) -> int:
        """For heartbeats: a version at most VERSION_MAX_AGE old, shared by all the session's
        sockets; the sessions asked within VERSION_BATCH_SECONDS are read in one query."""
        versions = self.recent_versions
        now = asyncio.get_running_loop().time()
        recent = versions.get(session_id)
        if recent is None or now - recent[0] > VERSION_MAX_AGE:
            if len(versions) > 10_000:
                for stale in [k for k, (at, _) in versions.items() if now - at > VERSION_MAX_AGE]:
                    del versions[stale]
            recent = versions[session_id] = (now, self._batched(session_id))
        try:
            read = await asyncio.shield(recent[1])
        except Exception:
            if versions.get(session_id) is recent:
                del versions[session_id]
            raise
        return read.get(session_id, 0)

    def _batched(self, session_id: int) -> asyncio.Future[dict[int, int]]:
        batch = self.version_batch
        if batch is None:
            batch = self.version_batch = _VersionBatch()
            loop = asyncio.get_running_loop()
            loop.call_later(VERSION_BATCH_SECONDS, lambda: asyncio.ensure_future(self._read_batch(batch)))
        batch.sessions.add(session_id)
        return batch.result

    async def _read_batch(self, batch: _VersionBatch) -> None:
        if self.version_batch is batch:
            self.version_batch = None
        ids = sorted(batch.sessions)
        try:
            found = await self.db.read(lambda db: _versions(db, ids))
        except Exception as exc:
            batch.result.set_exception(exc)
            # Each waiter sees it; unretrieved when nobody is left to wait.
            batch.result.exception()
            return
        batch.result.set_result(found)


def _versions(db: Session, ids: list[int]) -> dict[int, int]:
    rows = db.execute(select(col(ExamSession.id), col(ExamSession.version)).where(col(ExamSession.id).in_(ids)))
    return {int(sid): int(version) for sid, version in rows.tuples()}


class _VersionBatch:
    """The sessions whose version the next batched read fetches, and its outcome."""

    __slots__ = ("result", "sessions")

    def __init__(self) -> None:
        self.sessions: set[int] = set()
        self.result: asyncio.Future[dict[int, int]] = asyncio.get_running_loop().create_future()


@dataclass
class CandidateFeed:
    """A candidate's own feed source (realtime.sockets.CandidateFeedSource)."""

    db: Database
    rules: Rules
    presence: Presence

    async def candidate_message(self, session_id: int, candidate_id: int) -> dict[str, Any]:
        return await self.db.read(lambda db: candidate_test.candidate_message(db, session_id, candidate_id, self.rules))

    async def heartbeat(self, session_id: int, candidate_id: int) -> None:
        """Without a join to count for, a heartbeat renews nothing (see `for_join`)."""

    def for_join(self, join: int) -> JoinFeed:
        """The source of one socket, whose heartbeats count for `join` (-1: for none)."""
        return JoinFeed(self, join)

    def wants_refresh(self, message: dict[str, Any]) -> bool:
        # Only a waiting page would stay stuck on a lost publish; a candidate taking the
        # test hears of any change at its next answer.
        return candidate_test.is_waiting(message.get("candidate"))


@dataclass
class JoinFeed:
    """One candidate socket's source: the shared reads, and heartbeats that renew the
    presence of the join this socket holds, and of no other."""

    feed: CandidateFeed
    join: int

    async def candidate_message(self, session_id: int, candidate_id: int) -> dict[str, Any]:
        return await self.feed.candidate_message(session_id, candidate_id)

    async def heartbeat(self, session_id: int, candidate_id: int) -> None:
        self.feed.presence.candidate_heartbeat(session_id, candidate_id, self.join)

    def wants_refresh(self, message: dict[str, Any]) -> bool:
        return self.feed.wants_refresh(message)
