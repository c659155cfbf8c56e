"""The floor: what pushing an answer to supervisors costs with no application at all.

A bare ASGI app under the same uvicorn: an HTTP POST publishes a candidate-sized
event on Redis, the process's one subscriber hands it to the session's websockets,
each through its own queue and sender task. No database, no cookies, no rules.

A supervisor's single action (`POST /floor/{sid}/{cid}/pause` or `resume`, the floor of
`bench cross-process`) publishes one candidate-sized event too, but with the session's
next version taken in Redis by the same command that publishes it: several floor
processes then give one session contiguous versions, in the order Redis publishes them,
as the app's row lock does. Candidates may join (`POST /api/candidate/join`) and keep a
socket (`/api/candidate/live`) whose heartbeats are read and dropped.

    python -m bench.floor PORT REDIS_URL
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from typing import Any

import redis.asyncio as aioredis

Scope = dict[str, Any]

CANDIDATE_TEMPLATE = {
    "last_name": "CAND000X0000",
    "first_name": "Prenom0",
    "birthdate": "2000-01-01",
    "extra_time_percentage": 0,
    "authorized_to_start": False,
    "status": "in_progress",
    "connection": "connected",
    "resume_requested": False,
    "resume_authorized": False,
    "started_at": "2021-12-28T11:00:00Z",
    "ended_at": None,
    "theoretical_end_at": "2021-12-28T12:45:00Z",
    "overtime": False,
}
# The session's next version and its event's publication, as one Redis command: the
# event's JSON is split around its version (KEYS: counter, channel; ARGV: head, tail).
PUBLISH_NEXT = """
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], ARGV[1] .. version .. ARGV[2])
return version
"""
ACTIONS = {"pause": ("paused", "paused"), "resume": ("unpaused", "in_progress")}  # logged as, status
QUESTION = {"id": "q", "index": 0, "text": "Question du plancher " + "x" * 120, "choices": ["a", "b", "c", "d"]}


class Floor:
    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.from_url(redis_url, decode_responses=True)
        self.versions: dict[int, int] = defaultdict(int)
        self.answered: dict[int, int] = defaultdict(int)
        self.locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.sockets: dict[int, set[asyncio.Queue[str]]] = defaultdict(set)
        self.reader: asyncio.Task[None] | None = None
        self.publish_next = self.redis.register_script(PUBLISH_NEXT)

    async def start(self) -> None:
        pubsub = self.redis.pubsub()
        await pubsub.psubscribe("floor:*")
        # Loaded now, so that the first action does not pay for it.
        await self.redis.script_load(PUBLISH_NEXT)
        self.reader = asyncio.create_task(self._fan_out(pubsub))

    async def _fan_out(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            sid = int(message["channel"].split(":", 1)[1])
            for queue in self.sockets.get(sid, ()):
                queue.put_nowait(message["data"])

    async def answer(self, sid: int, cid: int) -> bytes:
        self.answered[cid] += 1
        candidate = {"id": cid, **CANDIDATE_TEMPLATE, "progress": {"answered": self.answered[cid], "total": 36}}
        # Versions must reach Redis in order, as the app's row lock guarantees.
        async with self.locks[sid]:
            self.versions[sid] += 1
            event = {
                "type": "event",
                "version": self.versions[sid],
                "name": "candidate.updated",
                "at": "2021-12-28T11:00:00Z",
                "actor": {"name": "Prenom0 CAND000X0000"},
                "candidate": candidate,
            }
            await self.redis.publish(f"floor:{sid}", json.dumps(event, separators=(",", ":")))
        return json.dumps({"candidate": candidate, "question": QUESTION, "time_left_seconds": 6000}).encode()

    async def act(self, sid: int, cid: int, action: str) -> bytes:
        """A supervisor pauses or resumes a candidate: one event with the session's next version."""
        logged, status = ACTIONS[action]
        candidate = {
            "id": cid,
            **CANDIDATE_TEMPLATE,
            "status": status,
            "progress": {"answered": self.answered[cid], "total": 36},
        }
        rest = {
            "name": "candidate.updated",
            "at": "2021-12-28T11:00:00Z",
            "actor": {"name": "Surv0 Eillant"},
            "action": logged,
            "candidate": candidate,
        }
        tail = "," + json.dumps(rest, separators=(",", ":"))[1:]
        keys = [f"floor-version:{sid}", f"floor:{sid}"]
        version = int(await self.publish_next(keys=keys, args=['{"type":"event","version":', tail]))
        # Only for the snapshot of a page that opens later on this process.
        self.versions[sid] = max(self.versions[sid], version)
        return json.dumps({"version": version, "candidate": candidate}).encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        parts = scope["path"].strip("/").split("/")
        if kind == "http":
            await self._http(parts, receive, send)
        elif kind == "websocket" and len(parts) == 3 and parts[0] == "floor":
            await self._live(int(parts[1]), receive, send)
        elif kind == "websocket" and parts == ["api", "candidate", "live"]:
            await self._candidate(receive, send)

    async def _http(self, parts: list[str], receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if parts == ["healthz"]:
            body = b'{"status":"ok"}'
        elif len(parts) == 3 and parts[0] == "floor":
            body = await self.answer(int(parts[1]), int(parts[2]))
        elif len(parts) == 4 and parts[0] == "floor" and parts[3] in ACTIONS:
            body = await self.act(int(parts[1]), int(parts[2]), parts[3])
        elif parts == ["api", "candidate", "join"]:
            body = b"{}"  # nothing to check: the candidate's socket is all the floor needs
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _live(self, sid: int, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        # Unbounded: the floor has no slow-consumer policy, it only forwards.
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.sockets[sid].add(queue)
        snapshot = {"type": "snapshot", "version": self.versions[sid], "candidates": [], "supervisors": []}
        await send({"type": "websocket.send", "text": json.dumps(snapshot)})

        async def sender() -> None:
            while True:
                await send({"type": "websocket.send", "text": await queue.get()})

        task = asyncio.create_task(sender())
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            self.sockets[sid].discard(queue)
            task.cancel()

    async def _candidate(self, receive: Any, send: Any) -> None:
        """A candidate's socket: accepted, its heartbeats read and dropped."""
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def main() -> None:
    import uvicorn

    port, redis_url = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(Floor(redis_url), host="127.0.0.1", port=port, log_level="warning", ws_max_size=64 * 1024)


if __name__ == "__main__":
    main()
