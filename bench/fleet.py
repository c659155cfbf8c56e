"""The load-generator processes, driven from the orchestrator."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from bench import worker


class WorkerFailed(Exception):
    pass


class Fleet:
    def __init__(self, size: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for index in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker.main, args=(child, index), daemon=True, name=f"bench-worker-{index}")
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def size(self) -> int:
        return len(self.pipes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _roundtrip(self, index: int, op: str, args: dict[str, Any]) -> Any:
        pipe = self.pipes[index]
        pipe.send({"op": op, "args": args})
        reply = pipe.recv()
        if not reply["ok"]:
            raise WorkerFailed(f"worker {index} failed on {op}:\n{reply['error']}")
        return reply.get("result")

    async def each(self, op: str, per_worker: list[dict[str, Any]]) -> list[Any]:
        """Run op on every worker with its own arguments, concurrently."""
        loop = asyncio.get_running_loop()
        return list(
            await asyncio.gather(
                *(loop.run_in_executor(None, self._roundtrip, i, op, args) for i, args in enumerate(per_worker))
            )
        )

    async def all(self, op: str, **args: Any) -> list[Any]:
        return await self.each(op, [args] * self.size)

    def close(self) -> None:
        for i, pipe in enumerate(self.pipes):
            try:
                self._roundtrip(i, "close", {})
                pipe.send({"op": "exit"})
                pipe.recv()
            except (OSError, EOFError, WorkerFailed):
                pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
