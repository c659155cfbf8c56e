"""The database's threads: results, errors and context cross over, and a cancelled caller
still waits for its work, so a transaction is never abandoned midway."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator

import pytest

from app.threads import Threads

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@pytest.fixture
async def threads() -> AsyncIterator[Threads]:
    pool = Threads(3, "test")
    yield pool
    pool.shutdown()


async def test_the_result_comes_back_from_another_thread(threads: Threads) -> None:
    here = threading.get_ident()
    where = await threads.run(threading.get_ident)
    assert where != here
    assert await threads.run(lambda: 6 * 7) == 42


async def test_an_error_of_the_work_is_raised_to_the_caller(threads: Threads) -> None:
    def fail() -> None:
        raise LookupError("absent")

    with pytest.raises(LookupError, match="absent"):
        await threads.run(fail)
    # The thread survives its work's error.
    assert await threads.run(lambda: "still here") == "still here"


async def test_the_work_sees_the_callers_context(threads: Threads) -> None:
    request_id.set("req-17")
    assert await threads.run(request_id.get) == "req-17"


async def test_as_many_works_run_at_once_as_there_are_threads(threads: Threads) -> None:
    barrier = threading.Barrier(3, timeout=5)
    # Each waits for the two others: they pass only if all three run together.
    results = await asyncio.gather(*(threads.run(barrier.wait) for _ in range(3)))
    assert sorted(results) == [0, 1, 2]


async def test_a_cancelled_caller_waits_for_its_work_to_finish(threads: Threads) -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def transaction() -> str:
        started.set()
        release.wait(5)
        finished.append("committed")
        return "done"

    caller = asyncio.create_task(threads.run(transaction))
    await asyncio.to_thread(started.wait, 5)
    caller.cancel()
    await asyncio.sleep(0.05)
    # Cancelled, but still waiting: the work has not finished.
    assert not caller.done()
    caller.cancel()  # a second cancellation changes nothing
    await asyncio.sleep(0.05)
    assert not caller.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert finished == ["committed"]


async def test_after_shutdown_queued_work_finishes_and_new_work_is_refused() -> None:
    pool = Threads(1, "test")
    release = threading.Event()
    first = asyncio.create_task(pool.run(lambda: release.wait(5)))
    second = asyncio.create_task(pool.run(lambda: "queued"))
    await asyncio.sleep(0.05)
    pool.shutdown()
    release.set()
    assert await first is True
    assert await second == "queued"
    with pytest.raises(RuntimeError):
        await pool.run(lambda: None)
