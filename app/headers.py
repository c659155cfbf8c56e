"""The few request headers the middlewares read, found in one pass over the raw list.

Seven layers each building Starlette's ``Headers`` and calling ``get`` walked the whole
list a dozen times per request (each ``get`` decodes and compares every name). The first
layer to ask collects these names once and leaves them in the scope for the others.
"""

from __future__ import annotations

from starlette.types import Scope

_SCOPE_KEY = "surveillance.headers"

# ASGI servers give names in lower case; Starlette's Headers compares them as they are too.
_WANTED = frozenset(
    {
        b"accept-encoding",
        b"accept-language",
        b"content-length",
        b"content-type",
        b"cookie",
        b"host",
        b"origin",
        b"referer",
        b"transfer-encoding",
        b"x-forwarded-proto",
        b"x-request-id",
    }
)


def request_headers(scope: Scope) -> dict[str, str]:
    """Name → first value (as ``Headers.get`` answers) of the headers in ``_WANTED``."""
    found: dict[str, str] | None = scope.get(_SCOPE_KEY)
    if found is None:
        found = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                key = name.decode("latin-1")
                if key not in found:
                    found[key] = value.decode("latin-1")
        scope[_SCOPE_KEY] = found
    return found


def weighted(header: str) -> list[tuple[str, float]]:
    """The items of a list header with q-values (Accept-Encoding, Accept-Language), in their
    order, each with its weight: 1 when absent, 0 when unreadable (so it is never chosen)."""
    items: list[tuple[str, float]] = []
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name.strip():
            items.append((name.strip(), quality))
    return items
