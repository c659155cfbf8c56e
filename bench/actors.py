"""The simulated browsers: a supervisor's dashboard feed, a candidate, a poller.

Each keeps what the checks need: the dashboard applies the feed exactly as the
page does (by version, resync on a gap) and stamps the first moment it saw
each (candidate, answers given) pair; the candidate stamps when each answer
was *scheduled*, sent and acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bench.wire import HttpClient, WsClient, ws_connect

HEARTBEAT = '{"type":"heartbeat"}'
now = time.monotonic


def comparable(candidates: Any) -> dict[int, dict[str, Any]]:
    """Candidate views without what is computed at read time."""
    items = candidates.values() if isinstance(candidates, dict) else candidates
    return {c["id"]: {k: v for k, v in c.items() if k != "overtime"} for c in items}


class Dashboard:
    """A supervisor's live page for one session."""

    def __init__(self, index: int, sid: int, host: str, port: int, cookie: str, deflate: bool, path: str = "") -> None:
        self.path = path or f"/api/supervision/sessions/{sid}/live"
        self.index = index
        self.sid = sid
        self.host = host
        self.port = port
        self.cookie = cookie
        self.deflate = deflate
        self.ws: WsClient | None = None
        self.version = -1
        self.candidates: dict[int, dict[str, Any]] = {}
        self.supervisors: list[dict[str, Any]] = []
        self.seen: dict[tuple[int, int], float] = {}
        # version -> when this page applied it; off (None) unless a scenario asks, so the
        # answering scenarios keep the generator's memory and CPU as they were.
        self.applied: dict[int, float] | None = None
        self.started_seen: dict[int, float] = {}
        self.snapshots = 0
        self.snapshot_at: float | None = None
        self.events = 0
        self.duplicates = 0
        self.gaps = 0
        self.heartbeat_gaps = 0
        self.heartbeats = 0
        self.reconnects = 0
        self.closes: list[int | None] = []
        self.bytes_in = 0
        self.keep = True
        self.resync_sent_at: int | None = None
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def connect(self, timeout: float = 60) -> None:
        self.snapshot_at = None
        ws = await ws_connect(
            self.host,
            self.port,
            self.path,
            origin=f"http://{self.host}:{self.port}",
            cookie=self.cookie,
            on_text=self.on_text,
            deflate=self.deflate,
            timeout=timeout,
        )
        self.ws = ws
        self.keep = True
        self._tasks.add(task := asyncio.create_task(self._watch(ws)))
        task.add_done_callback(self._tasks.discard)
        if not await self.wait(lambda d: d.snapshot_at is not None, timeout):
            raise TimeoutError(f"no snapshot for session {self.sid}")

    async def _watch(self, ws: WsClient) -> None:
        # A browser reconnects by itself when the server closes it (slow consumer, restart).
        await ws.done
        self.bytes_in += ws.bytes_in
        self.closes.append(ws.close_code)
        for _ in range(5):
            await asyncio.sleep(0.5)
            if not self.keep or ws is not self.ws:
                return
            self.reconnects += 1
            try:
                await self.connect()
                return
            except (OSError, TimeoutError, ConnectionError):
                continue

    def on_text(self, text: str, size: int) -> None:
        at = now()
        m = json.loads(text)
        kind = m.get("type")
        if kind == "event":
            v = m["version"]
            if v <= self.version:
                self.duplicates += 1
                return
            if v != self.version + 1:
                # A hole: ask for the replay, which brings this one again in order.
                self.gaps += 1
                self.resync()
                return
            self.version = v
            self.events += 1
            if self.applied is not None:
                self.applied[v] = at
            name = m["name"]
            if name == "candidate.updated":
                c = m["candidate"]
                cid = c["id"]
                self.candidates[cid] = c
                key = (cid, c["progress"]["answered"])
                if key not in self.seen:
                    self.seen[key] = at
                if c["status"] != "not_started" and cid not in self.started_seen:
                    self.started_seen[cid] = at
            elif name == "candidate.removed":
                self.candidates.pop(m["candidate"]["id"], None)
            elif name == "supervisors.updated":
                self.supervisors = m["supervisors"]
        elif kind == "snapshot":
            self.snapshots += 1
            self.snapshot_at = at
            self.version = m["version"]
            self.candidates = {c["id"]: c for c in m["candidates"]}
            self.supervisors = m["supervisors"]
            for cid, c in self.candidates.items():
                if c["status"] != "not_started" and cid not in self.started_seen:
                    self.started_seen[cid] = at
        elif kind == "heartbeat":
            self.heartbeats += 1
            if m["version"] > self.version:
                self.heartbeat_gaps += 1
                self.resync()
        self._changed.set()

    def resync(self) -> None:
        # Once per version: the replay answers every later event too, and the server
        # closes a socket that sends more than 50 messages a second.
        if self.ws is not None and self.resync_sent_at != self.version:
            self.resync_sent_at = self.version
            self.ws.send_text(json.dumps({"type": "resync", "since": self.version}))

    async def wait(self, predicate: Any, timeout: float) -> bool:
        deadline = now() + timeout
        while not predicate(self):
            left = deadline - now()
            if left <= 0:
                return False
            self._changed.clear()
            try:
                async with asyncio.timeout(min(left, 0.5)):
                    await self._changed.wait()
            except TimeoutError:
                pass
        return True

    def drop(self) -> None:
        """The network goes away: no closing handshake, no reconnect by itself."""
        self.keep = False
        if self.ws is not None:
            self.ws.abort()

    def close(self) -> None:
        self.keep = False
        if self.ws is not None:
            self.ws.close()

    def total_bytes_in(self) -> int:
        live = self.ws.bytes_in if self.ws is not None and not self.ws.done.done() else 0
        return self.bytes_in + live


class Examinee:
    """A candidate's browser: HTTP for the test, a live socket that heartbeats."""

    def __init__(
        self, sid: int, cid: int, identity: dict[str, str], access_code: str, host: str, port: int, floor: bool = False
    ) -> None:
        # On the floor server there is no test: one fixed question, answered at its own URL.
        self.answer_path = f"/floor/{sid}/{cid}" if floor else "/api/candidate/answers"
        self.sid = sid
        self.cid = cid
        self.identity = identity
        self.access_code = access_code
        self.host = host
        self.port = port
        self.http = HttpClient(host, port)
        self.ws: WsClient | None = None
        self.question: str | None = "q" if floor else None
        self.answered = 0
        self.messages = 0
        self.errors: list[str] = []
        # (answers given, scheduled, sent, acknowledged)
        self.answers: list[tuple[int, float, float, float]] = []
        self.start_sent: float | None = None
        self.start_done: float | None = None

    async def join(self) -> int:
        body = {"session_id": self.sid, "access_code": self.access_code, **self.identity}
        r = await self.http.post("/api/candidate/join", body)
        return r.status

    async def connect(self, deflate: bool) -> None:
        self.ws = await ws_connect(
            self.host,
            self.port,
            "/api/candidate/live",
            origin=self.http.origin,
            cookie=self.http.cookie_header(),
            on_text=self._on_text,
            deflate=deflate,
        )

    def _on_text(self, text: str, size: int) -> None:
        self.messages += 1

    async def start(self) -> int:
        self.start_sent = now()
        r = await self.http.post("/api/candidate/start", {"consent": True})
        self.start_done = now()
        return r.status

    async def first_question(self) -> None:
        r = await self.http.get("/api/candidate/test")
        if r.status != 200:
            self.errors.append(f"test {r.status}")
            return
        body = r.json()
        self.answered = body["candidate"]["progress"]["answered"]
        self.question = body["question"]["id"] if body["question"] else None

    async def answer(self, scheduled: float) -> None:
        assert self.question is not None
        sent = now()
        r = await self.http.post(self.answer_path, {"question_id": self.question, "answer": 0})
        done = now()
        if r.status != 200:
            self.errors.append(f"answer {r.status} {r.body[:120]!r}")
            return
        body = r.json()
        self.answered = body["candidate"]["progress"]["answered"]
        self.question = body["question"]["id"] if body["question"] else None
        self.answers.append((self.answered, scheduled, sent, done))

    def heartbeat(self) -> None:
        if self.ws is not None and self.ws.open:
            self.ws.send_text(HEARTBEAT)


class Poller:
    """A supervisor page that re-reads the snapshot every few seconds instead of listening."""

    def __init__(self, sid: int, host: str, port: int, cookies: dict[str, str]) -> None:
        self.sid = sid
        self.http = HttpClient(host, port)
        self.http.cookies.update(cookies)
        self.seen: dict[tuple[int, int], float] = {}
        self.polls = 0
        self.body_bytes = 0
        self.errors = 0
        self.snapshot: dict[str, Any] | None = None

    async def poll(self) -> None:
        r = await self.http.get(f"/api/supervision/sessions/{self.sid}")
        at = now()
        self.polls += 1
        self.body_bytes += len(r.body)
        if r.status != 200:
            self.errors += 1
            return
        snap = r.json()
        self.snapshot = snap
        for c in snap["candidates"]:
            answered = c["progress"]["answered"]
            # Every answer up to the current count became visible at this poll at the latest.
            for k in range(answered, 0, -1):
                key = (c["id"], k)
                if key in self.seen:
                    break
                self.seen[key] = at
