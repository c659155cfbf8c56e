"""Structured JSON logs, one object per line, with the request id when there is one."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import traceback
from types import TracebackType
from typing import Any

import orjson

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def scrubbed_exception(exc_info: ExcInfo) -> str:
    """An exception as its type, the SQL statement if any, and where it was raised — never its
    message: a driver's message repeats the values (PostgreSQL's "Key (email)=(…) already
    exists"), and other messages may quote a name, a birthdate or a code."""
    _, exc, _ = exc_info
    lines: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        lines.append("Traceback (most recent call last):")
        lines += [line.rstrip("\n") for line in traceback.format_tb(exc.__traceback__)]
        lines.append(_describe(exc))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if exc is not None:
            lines.append("caused by:")
    return "\n".join(lines)


def _describe(exc: BaseException) -> str:
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    statement = getattr(exc, "statement", None)
    orig = getattr(exc, "orig", None)
    if isinstance(statement, str):
        # SQLAlchemy's errors: the statement has placeholders only; the driver's own error
        # is named by its type and SQLSTATE.
        code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        detail = f" ({type(orig).__name__}{', ' + str(code) if code else ''})" if orig is not None else ""
        return f"{name}{detail} [message hidden] in: {' '.join(statement.split())[:500]}"
    return f"{name} [message hidden]"


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s")

    def formatException(self, ei: Any) -> str:
        return scrubbed_exception(ei)


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record (orjson: a request's line is written on every POST,
    and the standard encoder and strftime were most of its cost)."""

    def __init__(self) -> None:
        super().__init__()
        # The formatted second, reused by every line written within it.
        self._second: tuple[int, str] = (-1, "")

    def formatException(self, ei: Any) -> str:
        return scrubbed_exception(ei)

    def _stamp(self, created: float) -> str:
        second = int(created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return cached[1]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": f"{self._stamp(record.created)}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for key in ("session_id", "candidate_id", "actor", "action", "status", "path", "method", "duration_ms"):
            value = record.__dict__.get(key)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # default=str: a value of a type of its own is written as text rather than lost.
        return orjson.dumps(entry, default=str).decode()


def configure(json_logs: bool, level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_surveillance", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._surveillance = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json_logs else PlainFormatter())
    root.addHandler(handler)
    root.setLevel(level)
