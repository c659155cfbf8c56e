"""A supervisor's and a candidate's live client, as a browser would run them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from app.questions import by_id
from tests import contract


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


class SupervisorFeed:
    """Applies the feed like the dashboard does, and keeps every message for checks."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.versions: list[int] = []
        self.version = -1
        self.first_version = -1
        self.ignored = 0
        self.candidates: dict[int, dict[str, Any]] = {}
        self.supervisors: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.received_at: dict[int, float] = {}
        self.closed: int | None = None
        self._task = asyncio.create_task(self._read())
        self._changed = asyncio.Event()

    @classmethod
    async def open(cls, base_ws: str, session_id: int, client: httpx.AsyncClient, origin: str) -> SupervisorFeed:
        ws = await connect(
            f"{base_ws}/api/supervision/sessions/{session_id}/live",
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie_header(client)},
            open_timeout=10,
        )
        feed = cls(ws)
        await feed.wait(lambda f: f.version >= 0, 10)
        return feed

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                contract.record(message, "server_message")
                self.messages.append(message)
                self.apply(message)
                self._changed.set()
        except Exception:
            pass
        finally:
            self.closed = self.ws.close_code
            self._changed.set()

    def apply(self, m: dict[str, Any]) -> None:
        if m["type"] == "snapshot":
            if self.first_version < 0:
                self.first_version = m["version"]
            self.version = m["version"]
            self.candidates = {c["id"]: c for c in m["candidates"]}
            self.supervisors = m["supervisors"]
            self.counts = m["counts"]
        elif m["type"] == "event":
            if m["version"] <= self.version:
                self.ignored += 1  # a replay the client asked for: older, so ignored
                return
            self.versions.append(m["version"])
            self.received_at[m["version"]] = time.monotonic()
            self.version = m["version"]
            # Only the events that can change the counters carry them.
            self.counts = m.get("counts", self.counts)
            if m["name"] == "candidate.updated":
                self.candidates[m["candidate"]["id"]] = m["candidate"]
            elif m["name"] == "candidate.removed":
                self.candidates.pop(m["candidate"]["id"], None)
            elif m["name"] == "supervisors.updated":
                self.supervisors = m["supervisors"]

    async def wait(self, predicate: Callable[[SupervisorFeed], bool], timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0 or (self.closed is not None and not predicate(self)):
                raise AssertionError(f"feed condition not met (version {self.version}, closed {self.closed})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def close(self) -> None:
        await self.ws.close()
        self._task.cancel()


def comparable(candidates: dict[int, dict[str, Any]] | list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Candidate views without the fields computed at read time."""
    items = candidates.values() if isinstance(candidates, dict) else candidates
    return {c["id"]: {k: v for k, v in c.items() if k != "overtime"} for c in items}


class Candidate:
    """A candidate's browser: HTTP for the test, a socket that heartbeats."""

    def __init__(self, base: str, session: dict[str, Any], last: str, first: str, birth: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, headers={"Origin": base}, timeout=20)
        self.session = session
        self.identity = {"last_name": last, "first_name": first, "birthdate": birth}
        self.ws: ClientConnection | None = None
        self.messages: list[dict[str, Any]] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self) -> httpx.Response:
        return await self.http.post(
            "/api/candidate/join",
            json={"session_id": self.session["id"], "access_code": self.session["access_code"], **self.identity},
        )

    async def start(self) -> httpx.Response:
        return await self.http.post("/api/candidate/start", json={"consent": True})

    async def answer(self) -> dict[str, Any]:
        state = (await self.http.get("/api/candidate/test")).json()
        q = state["question"]
        r = await self.http.post(
            "/api/candidate/answers", json={"question_id": q["id"], "answer": by_id(q["id"]).answer}
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def connect(self, base_ws: str) -> None:
        origin = str(self.http.base_url).rstrip("/")
        self.ws = await connect(
            f"{base_ws}/api/candidate/live",
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie_header(self.http)},
        )
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._beat())]

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                contract.record(message, "server_message")
                self.messages.append(message)
        except Exception:
            pass

    async def _beat(self) -> None:
        assert self.ws is not None
        try:
            while True:
                await self.ws.send('{"type":"heartbeat"}')
                await asyncio.sleep(2)
        except Exception:
            pass

    async def wait_message(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if predicate(m):
                    return m
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such candidate message in {self.messages[-3:]}")

    async def disconnect(self) -> None:
        """The page's socket goes (a wifi blink, a reload); its cookie stays."""
        for t in self._tasks:
            t.cancel()
        self._tasks = []
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def close(self) -> None:
        await self.disconnect()
        await self.http.aclose()
