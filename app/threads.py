"""Threads that run the database's blocking work for the event loop.

Every request's transaction crosses to a thread and back. `loop.run_in_executor` pays,
per crossing, for a `concurrent.futures.Future` (a Condition and its RLock), the chaining
of two futures, and `asyncio.shield` around them: about 35 µs of CPU in all, measured on
this project's machine, against about 12 µs for a queue and one loop future. This pool
keeps the one guarantee we took from the executor and `shield`: work that has started
runs its course in its thread, and a cancellation reaches the caller only once it is
over, so a transaction is never abandoned midway.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("context", "done", "error", "finished", "loop", "result", "work")

    def __init__(self, loop: asyncio.AbstractEventLoop, work: Callable[[], T]) -> None:
        self.loop = loop
        # The caller's context goes along (the request id in logs written by the work).
        self.context = contextvars.copy_context()
        self.work = work
        self.done: asyncio.Future[None] = loop.create_future()
        self.finished = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.context.run(self.work)
        except BaseException as exc:  # handed to the awaiting task, raised there
            self.error = exc
        # A closed loop has nobody left to hand the result to.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._finish)

    def _finish(self) -> None:
        # On the loop's thread: `finished` and `done` change only here and in `wait`.
        self.finished = True
        if not self.done.done():
            self.done.set_result(None)

    async def wait(self) -> T:
        cancelled = False
        while not self.finished:
            try:
                await self.done
            except asyncio.CancelledError:
                # The task's cancellation cancelled `done`; the work still runs. Wait for it
                # on a fresh future, and let the cancellation through afterwards.
                cancelled = True
                if not self.finished:
                    self.done = self.loop.create_future()
        if cancelled:
            raise asyncio.CancelledError()
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.result  # type: ignore[return-value]


class Threads:
    """`size` threads started on first use, taking work from one queue in arrival order."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False

    async def run(self, work: Callable[[], T]) -> T:
        if self._closed:
            raise RuntimeError(f"{self.name}: threads shut down")
        if not self._threads:
            self._start()
        job = _Job(asyncio.get_running_loop(), work)
        self._queue.put(job)
        return await job.wait()

    def _start(self) -> None:
        for n in range(self.size):
            thread = threading.Thread(target=self._serve, name=f"{self.name}_{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        while (job := self._queue.get()) is not None:
            job.run()

    def shutdown(self) -> None:
        """Work already queued still runs; the threads end after it."""
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
