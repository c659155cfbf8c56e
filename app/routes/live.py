"""The two websockets: the app checks who may listen, realtime/ runs the feed."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlmodel import Session
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from app import lifecycle, views
from app.db import Database
from app.errors import DomainError
from app.http import candidate_claim, services
from app.models import Candidate
from app.security import LOGIN_COOKIE, origin_allowed
from app.services import Services
from realtime.sockets import serve_candidate_feed, serve_session_feed

CLOSE_POLICY = 1008
CLOSE_NOT_LOGGED_IN = 4401
CLOSE_NO_ACCESS = 4403


class _SnapshotRead:
    """One database read of a session's snapshot, shared by every socket that asks before
    it begins. A socket asks once its watch is registered; a read that has not begun yet
    will see every event committed before that, so sharing it is as safe as reading alone.
    A read already under way may be older than a newcomer's watch: it gets a read of its own."""

    __slots__ = ("begun", "task")

    def __init__(self) -> None:
        self.begun = False
        self.task: asyncio.Future[dict[str, Any]] | None = None


# Per database (so per app): the reads waiting for a worker thread, by session.
_pending_reads: weakref.WeakKeyDictionary[Database, dict[int, _SnapshotRead]] = weakref.WeakKeyDictionary()


VERSION_MAX_AGE = 1.0
# Per database: when each session's version was last read for a heartbeat, and the read.
_recent_versions: weakref.WeakKeyDictionary[Database, dict[int, tuple[float, asyncio.Future[int]]]] = (
    weakref.WeakKeyDictionary()
)


class SessionSource:
    def __init__(self, s: Services) -> None:
        self.s = s

    async def snapshot(self, session_id: int) -> dict[str, Any]:
        self.s.metrics.snapshot_requests_total.inc()
        pending = _pending_reads.setdefault(self.s.db, {})
        read = pending.get(session_id)
        if read is None or read.begun:
            read = pending[session_id] = _SnapshotRead()
            read.task = asyncio.ensure_future(self._read(session_id, read, pending))
        assert read.task is not None
        # Shielded: one socket closing while it waits must not cancel the others' read.
        return await asyncio.shield(read.task)

    async def _read(self, session_id: int, read: _SnapshotRead, pending: dict[int, _SnapshotRead]) -> dict[str, Any]:
        rules = self.s.rules
        self.s.metrics.snapshot_reads_total.inc()

        def load(db: Session) -> dict[str, Any]:
            # Set in the worker thread before the first query: from now on, newcomers read anew.
            read.begun = True
            data = views.snapshot(db, session_id, rules.test_minutes, rules.questions_per_test)
            return data or {"version": 0, "candidates": []}

        try:
            return await self.s.db.read(load)
        finally:
            if pending.get(session_id) is read:
                del pending[session_id]

    async def events_since(self, session_id: int, since: int) -> list[dict[str, Any]] | None:
        limit = self.s.settings.replay_limit
        return await self.s.db.read(lambda db: lifecycle.events_since(db, session_id, since, limit))

    async def current_version(self, session_id: int) -> int:
        """For heartbeats: one read per session per second, shared by all its sockets.

        Every supervisor socket heartbeats on its own clock, so 10,000 idle sockets would
        otherwise cost 10,000 reads per heartbeat period. A version at most
        VERSION_MAX_AGE old only delays noticing a lost last event by one heartbeat."""
        versions = _recent_versions.setdefault(self.s.db, {})
        now = asyncio.get_running_loop().time()
        recent = versions.get(session_id)
        if recent is None or now - recent[0] > VERSION_MAX_AGE:
            if len(versions) > 10_000:
                for sid in [k for k, (at, _) in versions.items() if now - at > VERSION_MAX_AGE]:
                    del versions[sid]
            read = asyncio.ensure_future(self.s.db.read(lambda db: lifecycle.current_version(db, session_id)))
            recent = versions[session_id] = (now, read)
        try:
            return await asyncio.shield(recent[1])
        except Exception:
            if versions.get(session_id) is recent:
                del versions[session_id]
            raise


class CandidateSource:
    def __init__(self, s: Services) -> None:
        self.s = s

    async def candidate_message(self, session_id: int, candidate_id: int) -> dict[str, Any]:
        return await self.s.db.read(lambda db: lifecycle.candidate_message(db, session_id, candidate_id, self.s.rules))

    async def heartbeat(self, session_id: int, candidate_id: int) -> None:
        self.s.presence.candidate_heartbeat(session_id, candidate_id)

    def wants_refresh(self, message: dict[str, Any]) -> bool:
        # Only a waiting page would stay stuck on a lost publish; a candidate taking the
        # test hears of any change at its next answer.
        return lifecycle.is_waiting(message.get("candidate"))


async def _admit(websocket: WebSocket, s: Services) -> bool:
    # Close codes only exist once accepted, so refusals accept then close with a reason.
    await websocket.accept()
    if not origin_allowed(websocket.headers, websocket.url.scheme, s.settings.allowed_origins):
        await websocket.close(CLOSE_POLICY, "Origine refusée.")
        return False
    return True


async def supervisor_live(websocket: WebSocket) -> None:
    s = services(websocket)
    if not await _admit(websocket, s):
        return
    claim = s.signer.read_login(websocket.cookies.get(LOGIN_COOKIE))
    if claim is None:
        await websocket.close(CLOSE_NOT_LOGGED_IN, "Vous devez être connecté.")
        return
    raw = websocket.path_params.get("sid", "")
    session_id = int(raw) if isinstance(raw, str) and raw.isdecimal() and len(raw) < 10 else 0
    try:
        await s.db.read(lambda db: lifecycle.require_supervisor(db, session_id, claim.user_id))
    except DomainError:
        await websocket.close(CLOSE_NO_ACCESS, "Accès refusé à cette session.")
        return
    await s.presence.supervisor_connected(session_id, claim.user_id)
    try:
        await serve_session_feed(
            websocket,
            s.hub,
            session_id,
            SessionSource(s),
            heartbeat_seconds=s.settings.supervisor_heartbeat_seconds,
        )
    finally:
        s.presence.supervisor_disconnected(session_id, claim.user_id)


async def candidate_live(websocket: WebSocket) -> None:
    s = services(websocket)
    if not await _admit(websocket, s):
        return
    claim = candidate_claim(websocket)

    def known(db: Session) -> bool:
        c = db.get(Candidate, claim.candidate_id) if claim else None
        return c is not None and claim is not None and c.session_id == claim.session_id

    if claim is None or not await s.db.read(known):
        await websocket.close(CLOSE_NOT_LOGGED_IN, "Rejoignez d'abord la session.")
        return
    await s.presence.candidate_connected(claim.session_id, claim.candidate_id)
    try:
        await serve_candidate_feed(websocket, s.hub, claim.session_id, claim.candidate_id, CandidateSource(s))
    finally:
        s.presence.candidate_disconnected(claim.session_id, claim.candidate_id)


routes = [
    WebSocketRoute("/api/supervision/sessions/{sid}/live", supervisor_live),
    WebSocketRoute("/api/candidate/live", candidate_live),
]
