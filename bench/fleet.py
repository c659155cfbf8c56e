"""The load-generator processes, driven from the orchestrator."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from bench import worker


class WorkerFailed(Exception):
    pass


class Fleet:
    """Worker processes; any number of commands may be in flight on each at once."""

    def __init__(self, size: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        self._ids = itertools.count()
        self._pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._send_lock = threading.Lock()
        for index in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker.main, args=(child, index), daemon=True, name=f"bench-worker-{index}")
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(parent,), daemon=True).start()

    @property
    def size(self) -> int:
        return len(self.pipes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _read(self, pipe: Connection) -> None:
        while True:
            try:
                reply = pipe.recv()
            except (EOFError, OSError):
                return
            loop, future = self._pending.pop(reply["id"])
            loop.call_soon_threadsafe(_settle, future, reply)

    async def call(self, index: int, op: str, args: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        ident = next(self._ids)
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[ident] = (loop, future)
        with self._send_lock:
            self.pipes[index].send({"id": ident, "op": op, "args": args})
        reply = await future
        if not reply["ok"]:
            raise WorkerFailed(f"worker {index} failed on {op}:\n{reply.get('error')}")
        return reply.get("result")

    async def each(self, op: str, per_worker: list[dict[str, Any]]) -> list[Any]:
        """Run op on every worker with its own arguments, concurrently."""
        return list(await asyncio.gather(*(self.call(i, op, args) for i, args in enumerate(per_worker))))

    async def all(self, op: str, **args: Any) -> list[Any]:
        return await self.each(op, [args] * self.size)

    async def close(self) -> None:
        for i in range(self.size):
            try:
                await asyncio.wait_for(self.call(i, "close", {}), 10)
                await asyncio.wait_for(self.call(i, "exit", {}), 5)
            except (OSError, EOFError, WorkerFailed, TimeoutError):
                pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()


def _settle(future: asyncio.Future[Any], reply: dict[str, Any]) -> None:
    if not future.done():
        future.set_result(reply)
