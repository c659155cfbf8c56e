"""Event envelope and message encoding.

The realtime layer only knows session ids, versions and JSON objects. The
``event`` dict is exactly what a supervisor's browser receives; the broker
carries it inside a small wrapper that also records when it was published, so
each process can measure fan-out latency without trusting clocks beyond
"same host or NTP-synced".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

MAX_FRAME = 64 * 1024

CHANNEL_PREFIX = "surveillance:session:"

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_decoder = json.JSONDecoder()


def channel_for(session_id: int) -> str:
    return f"{CHANNEL_PREFIX}{session_id}"


def encode(obj: Any) -> str:
    return _encoder.encode(obj)


def decode(text: str | bytes) -> dict[str, Any]:
    """Parse one JSON object; anything else is a ValueError for the caller to report."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("not UTF-8") from exc
    try:
        value = _decoder.decode(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError("invalid JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class Published:
    """One broker message, decoded once per process and shared by every local socket."""

    session_id: int
    version: int
    event: dict[str, Any]
    text: str
    published_at: float | None = None


def wrap(event: dict[str, Any], *, now: float | None = None) -> str:
    """Broker wire format: the client event plus its publish wall-clock time."""
    return encode({"t": time.time() if now is None else now, "e": event})


def unwrap(session_id: int, data: str) -> Published:
    """Turn a broker payload into a ``Published``; ValueError if it is not ours."""
    outer = decode(data)
    event = outer.get("e")
    if not isinstance(event, dict):
        raise ValueError("missing event")
    version = event.get("version")
    # bool is an int subclass; a True version would silently mean 1.
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError("missing or invalid version")
    sent = outer.get("t")
    published_at = None
    if isinstance(sent, int | float) and not isinstance(sent, bool):
        published_at = float(sent)
    return Published(session_id, version, event, encode(event), published_at)


def session_id_from_channel(channel: str) -> int | None:
    if not channel.startswith(CHANNEL_PREFIX):
        return None
    tail = channel[len(CHANNEL_PREFIX) :]
    # int() accepts "+4", " 4" and "4_2"; a channel name is only ever plain digits.
    if not tail.isdigit() or not tail.isascii():
        return None
    return int(tail)
