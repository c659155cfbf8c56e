"""Event envelope and message encoding.

The realtime layer only knows session ids, versions and JSON objects. The
``event`` dict is exactly what a supervisor's browser receives; the broker
carries it inside a small wrapper that also records when it was published, so
each process can measure fan-out latency without trusting clocks beyond
"same host or NTP-synced".
"""

from __future__ import annotations

import json
import math
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
    """Broker wire format: the client event plus its publish wall-clock time, as one JSON
    object whose event is the exact text every socket will be sent."""
    return wrap_text(encode(event), now=now)


def wrap_text(text: str, *, now: float | None = None) -> str:
    """The same wrapper around an event already encoded (the text its transaction wrote to
    the log), so the publisher does not encode it a second time."""
    return f'{_HEAD}{encode(time.time() if now is None else now)}{_EVENT}{text}}}'


_HEAD = '{"t":'
_EVENT = ',"e":'


def unwrap(session_id: int, data: str) -> Published:
    """Turn a broker payload into a ``Published``; ValueError if it is not ours.

    Our own wrapper is cut apart rather than parsed whole: the event's text is taken as it
    is, so each process decodes an event once and never encodes it again. Anything else
    (another writer's spacing, a field order of its own) is parsed in full."""
    if data.startswith(_HEAD) and data.endswith("}"):
        cut = data.find(_EVENT, len(_HEAD))
        if cut > 0:
            try:
                sent = float(data[len(_HEAD) : cut])
                text = data[cut + len(_EVENT) : -1]
                event = decode(text)
            except ValueError:
                pass
            else:
                return Published(session_id, _version(event), event, text, sent if math.isfinite(sent) else None)
    outer = decode(data)
    inner = outer.get("e")
    if not isinstance(inner, dict):
        raise ValueError("missing event")
    version = _version(inner)
    sent_at = outer.get("t")
    published_at = None
    if isinstance(sent_at, int | float) and not isinstance(sent_at, bool):
        published_at = float(sent_at)
    return Published(session_id, version, inner, encode(inner), published_at)


def _version(event: dict[str, Any]) -> int:
    version = event.get("version")
    # bool is an int subclass; a True version would silently mean 1.
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError("missing or invalid version")
    return version


def session_id_from_channel(channel: str) -> int | None:
    if not channel.startswith(CHANNEL_PREFIX):
        return None
    tail = channel[len(CHANNEL_PREFIX) :]
    # int() accepts "+4", " 4" and "4_2"; a channel name is only ever plain digits.
    if not tail.isdigit() or not tail.isascii():
        return None
    return int(tail)
