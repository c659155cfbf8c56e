"""What one idle round trip costs on this machine: the pieces a single action is made of.

Scenario 9 times one supervisor action on an idle room. Each of its database statements,
its commit, its thread hops and its Redis publish is a round trip to something that has
been asleep, and on some machines waking up costs several times the work. Each piece is
timed back to back and after `gap` seconds of idle, on a fresh PostgreSQL database, the
bench's own Redis and a plain thread; the figures say how many of them a 5 ms budget holds.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis

from bench.stack import PgDatabase, RedisServer
from bench.stats import percentiles


def _timed(piece: Callable[[], Any], gap: float, count: int) -> dict[str, Any]:
    piece()  # connections open, statements planned
    samples = []
    for _ in range(count):
        if gap:
            time.sleep(gap)
        t = time.perf_counter()
        piece()
        samples.append(time.perf_counter() - t)
    return percentiles(samples)


def _hop() -> Callable[[], None]:
    """A hand-off to a waiting thread and back, as `Database` does for every statement group."""
    there: queue.SimpleQueue[int] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def worker() -> None:
        while True:
            back.put(there.get())

    threading.Thread(target=worker, daemon=True).start()

    def hop() -> None:
        there.put(1)
        back.get()

    return hop


def measure(quick: bool, gap: float = 0.2) -> dict[str, Any]:
    count = 20 if quick else 100
    db = PgDatabase("wakeups").create()
    server = RedisServer().start()
    try:
        url = db.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as pg, psycopg.connect(url) as tx:
            pg.execute("CREATE TABLE IF NOT EXISTS wakeup (id int PRIMARY KEY, n int)")
            pg.execute("INSERT INTO wakeup VALUES (1, 0) ON CONFLICT DO NOTHING")

            def select() -> None:
                pg.execute("SELECT 1").fetchone()

            def write_and_commit() -> None:
                # BEGIN, one UPDATE and COMMIT (with its WAL flush): the shortest write transaction.
                tx.execute("UPDATE wakeup SET n = n + 1 WHERE id = 1")
                tx.commit()

            r = redis.Redis.from_url(server.url)

            def publish() -> None:
                r.publish("wakeups", b"x")

            pieces: dict[str, Callable[[], Any]] = {
                "postgresql_select_ms": select,
                "postgresql_update_commit_ms": write_and_commit,
                "redis_publish_ms": publish,
                "thread_hop_ms": _hop(),
            }
            out: dict[str, Any] = {"idle_gap_s": gap}
            for name, piece in pieces.items():
                out[name] = {"back_to_back": _timed(piece, 0.0, count), "after_idle": _timed(piece, gap, count)}
            r.close()
            return out
    finally:
        server.stop()
        db.drop()
