"""Real parts for the realtime tests: Redis servers, an in-process uvicorn, a
small in-memory event log standing in for the app's database seam."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

SHARED_REDIS_URL = os.environ.get("REALTIME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_session_id() -> int:
    # Pub/sub channels ignore the database number: keep clear of other suites
    # sharing this Redis.
    return random.randrange(10**9, 10**12)


@pytest.fixture
def shared_redis_url() -> str:
    try:
        redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail(f"no Redis at {SHARED_REDIS_URL}: scripts/test starts one")
    return SHARED_REDIS_URL


class RedisProcess:
    """A throwaway redis-server we may kill and restart on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 5
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server not installed: scripts/test installs it")
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class LiveServer:
    port: int

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def live_server(app: ASGIApp) -> AsyncIterator[LiveServer]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(5):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def websocket_app(handler: Callable[[WebSocket], Awaitable[None]]) -> Starlette:
    """The app's part in miniature: accept, then hand over to realtime."""

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await handler(websocket)

    return Starlette(routes=[WebSocketRoute("/live", endpoint)])


class EventLog:
    """The database seam: a session's event log and current version, in memory.

    It implements both SessionFeedSource and CandidateFeedSource."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.version = 0
        self.events: list[dict[str, Any]] = []
        self.replay_horizon = 0  # events_since(v) with v below this: too old
        self.snapshots = 0
        self.snapshot_gate: asyncio.Event | None = None
        self.heartbeats = 0
        self.log_reads = 0
        self.version_read: Callable[[], None] | None = None
        self.candidates: dict[int, dict[str, Any]] = {}

    def commit(self, name: str = "candidate.updated", candidate_id: int | None = 1, **fields: Any) -> dict[str, Any]:
        self.version += 1
        event: dict[str, Any] = {"type": "event", "version": self.version, "name": name}
        if candidate_id is not None:
            candidate = {"id": candidate_id, **fields}
            self.candidates[candidate_id] = candidate
            event["candidate"] = candidate
        event["at"] = "2024-05-01T10:00:00+00:00"
        self.events.append(event)
        return event

    async def snapshot(self, session_id: int) -> dict[str, Any]:
        assert session_id == self.session_id
        if self.snapshot_gate is not None:
            await self.snapshot_gate.wait()
        self.snapshots += 1
        return {"version": self.version, "candidates": list(self.candidates.values())}

    async def events_since(self, session_id: int, since: int) -> list[dict[str, Any]] | None:
        self.log_reads += 1
        if since < self.replay_horizon:
            return None
        return [event for event in self.events if event["version"] > since]

    async def current_version(self, session_id: int) -> int:
        if self.version_read is not None:
            self.version_read()
        return self.version

    async def candidate_message(self, session_id: int, candidate_id: int) -> dict[str, Any]:
        candidate = self.candidates.get(candidate_id, {"id": candidate_id})
        return {"type": "candidate", "candidate": candidate, "version": self.version}

    async def heartbeat(self, session_id: int, candidate_id: int) -> None:
        self.heartbeats += 1

    def wants_refresh(self, message: dict[str, Any]) -> bool:
        return True
