"""uvicorn's HTTP protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections but not a client that opens a connection and
then sends nothing, or sends its headers one byte at a time (slowloris): each such
connection is held forever and counts against LIMIT_CONCURRENCY. Here every request's
headers must be complete within HEADER_TIMEOUT_SECONDS of the connection opening or of
the request's first byte; otherwise the connection is closed.
"""

from __future__ import annotations

import asyncio
import functools
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ENV = "HEADER_TIMEOUT_SECONDS"


@functools.cache
def header_timeout() -> float:
    # Read from the environment that `surveillance serve` sets for its workers (which are
    # spawned afresh and do not share the parent's Python state); once per process, not
    # per request.
    try:
        return max(0.1, float(os.environ.get(ENV, "20")))
    except ValueError:
        return 20.0


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
