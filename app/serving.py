"""How `surveillance serve` runs the app: the served app's factory, and uvicorn's HTTP
protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections but not a client that opens a connection and
then sends nothing, or sends its headers one byte at a time (slowloris): each such
connection is held forever and counts against LIMIT_CONCURRENCY. Here every request's
headers must be complete within HEADER_TIMEOUT_SECONDS of the connection opening or of
the request's first byte; otherwise the connection is closed.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os

from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import TABLE, ConfigurationError

# Allocations between two young collections (CPython's default is 700). Most of what an
# answer allocates is freed by reference counting within the request; with the default, a
# young collection catches much of it alive and promotes it, and the oldest generation
# then fills with objects that were about to die.
YOUNG_THRESHOLD = 50_000


def create_served_app() -> Starlette:
    """The app of one serving process (uvicorn calls this in each worker)."""
    from app.main import create_app

    app = create_app()
    tune_collector()
    return app


def tune_collector() -> None:
    """Keep the cyclic garbage collector from stopping the loop for hundreds of ms.

    A process holding 2,000 candidate sockets and 300 dashboards tracks about 700,000
    objects; a full collection walks all of them: 400-600 ms of CPU, every 5-10 s under
    300 answers/s (BENCHMARKS.md, "Collector pauses"), during which no answer is read and
    no event is sent. Two changes take it away: what exists once the app is built (modules,
    templates, settings; about 170,000 objects) is frozen out of every collection, and the
    young generation is collected every 50,000 allocations instead of 700, so short-lived
    request objects die by reference counting instead of being promoted. Cycles are still
    collected; only in a serving process, never in a test that builds many apps.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


# The setting's row: its variable and its default are written in the settings table only.
_SETTING = next(setting for setting in TABLE if setting.name == "header_timeout_seconds")
ENV = _SETTING.env


@functools.cache
def header_timeout() -> float:
    # Read from the environment that `surveillance serve` sets for its workers (which are
    # spawned afresh and do not share the parent's Python state); once per process, not
    # per request.
    try:
        value = _SETTING.read(os.environ)
    except ConfigurationError:
        value = _SETTING.default
    return max(0.1, float(value))


class HeaderDeadlineProtocol(HttpToolsProtocol):
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(header_timeout(), self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
