"""Compression of the app's own responses (HTML, JSON, CSS, JavaScript, SVG), brotli or gzip as
the browser accepts. Pure ASGI, outermost: it sees the final headers of every other middleware
(security headers, request id) and passes websockets and already encoded bodies through."""

from __future__ import annotations

import gzip
import zlib
from typing import Protocol

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.headers import request_headers, weighted

# Below this a body goes out in the same single TCP segment as its headers (about 500
# bytes with the security headers) compressed or not: compressing saves no packet and costs
# CPU on the hottest replies (brotli 5: about 24 µs for a 761-byte answer reply).
MIN_SIZE = 1024
# Per request: brotli 5 and gzip 6 compress a 20 KB page in well under a millisecond.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
_COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/manifest+json",
    "image/svg+xml",
)


def is_compressible(media_type: str) -> bool:
    return media_type.lower().startswith(_COMPRESSIBLE)


def choose_encoding(accept_encoding: str, offered: tuple[str, ...] = ("br", "gzip")) -> str | None:
    """The best of `offered` (in our order of preference) that the Accept-Encoding header allows."""
    weights: dict[str, float] = {}
    for name, quality in weighted(accept_encoding.lower()):
        weights[name] = quality
    best: str | None = None
    for name in offered:
        quality = weights.get(name, weights.get("*", 0.0))
        if quality > 0 and (best is None or quality > weights.get(best, weights.get("*", 0.0))):
            best = name
    return best


class _Encoder(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...
    def finish(self) -> bytes: ...


class _Brotli:
    def __init__(self) -> None:
        self._c = brotli.Compressor(quality=BROTLI_QUALITY)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._c.process(data))

    def flush(self) -> bytes:
        return bytes(self._c.flush())

    def finish(self) -> bytes:
        return bytes(self._c.finish())


class _Gzip:
    def __init__(self) -> None:
        self._c = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing

    def compress(self, data: bytes) -> bytes:
        return self._c.compress(data)

    def flush(self) -> bytes:
        return self._c.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._c.flush(zlib.Z_FINISH)


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(data, quality=BROTLI_QUALITY))
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def _add_vary(headers: MutableHeaders) -> None:
    vary = headers.get("vary", "")
    if "accept-encoding" not in vary.lower() and vary.strip() != "*":
        headers["vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


class Compress:
    def __init__(self, app: ASGIApp, min_size: int = MIN_SIZE) -> None:
        self.app = app
        self.min_size = min_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        encoding = choose_encoding(request_headers(scope).get("accept-encoding", ""))
        start: Message | None = None
        encoder: _Encoder | None = None
        passthrough = False

        async def wrapped(message: Message) -> None:
            nonlocal start, encoder, passthrough
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                status = message["status"]
                if (
                    status < 200
                    or status in (204, 206, 304)
                    or "content-encoding" in headers
                    or not is_compressible(headers.get("content-type", ""))
                    or "no-transform" in headers.get("cache-control", "")
                ):
                    passthrough = True
                    await send(message)
                    return
                _add_vary(MutableHeaders(raw=message.setdefault("headers", [])))
                if encoding is None:
                    passthrough = True
                    await send(message)
                    return
                start = message  # held until the first body chunk shows how big the body is
                return
            if message["type"] != "http.response.body" or passthrough:
                await send(message)
                return
            assert start is not None and encoding is not None
            body: bytes = message.get("body", b"")
            more: bool = message.get("more_body", False)
            headers = MutableHeaders(raw=start["headers"])
            if encoder is None:
                if not more:
                    # The common case: the whole body in one message.
                    if len(body) >= self.min_size:
                        body = compress(body, encoding)
                        headers["content-encoding"] = encoding
                        headers["content-length"] = str(len(body))
                        _weaken_etag(headers)
                    passthrough = True
                    await send(start)
                    await send({"type": "http.response.body", "body": body})
                    return
                # A stream: each chunk goes out as soon as it is compressed.
                encoder = _Brotli() if encoding == "br" else _Gzip()
                headers["content-encoding"] = encoding
                if "content-length" in headers:
                    del headers["content-length"]
                _weaken_etag(headers)
                await send(start)
            data = encoder.compress(body) + (encoder.flush() if more else encoder.finish())
            await send({"type": "http.response.body", "body": data, "more_body": more})

        await self.app(scope, receive, wrapped)


def _weaken_etag(headers: MutableHeaders) -> None:
    # The compressed bytes are not the ones the tag names; a weak tag still matches the content.
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        headers["etag"] = "W/" + etag
