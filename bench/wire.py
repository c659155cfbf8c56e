"""Lean HTTP/1.1 and websocket clients on asyncio protocols.

The load generator shares two cores with the server it measures, so its
clients are kept cheap: one keep-alive connection per simulated browser, no
general-purpose library in the hot path, and a websocket client that parses
frames straight out of its receive buffer.

The websocket client offers ``permessage-deflate`` as a browser does (the
server then compresses the frames it sends); ``deflate=False`` turns it off.
Byte counts are what crossed the socket: headers and frames included.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import zlib
from collections.abc import Callable
from typing import Any

CRLF2 = b"\r\n\r\n"


class HttpError(Exception):
    pass


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class _HttpProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def more(self) -> None:
        if self.closed:
            raise HttpError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        await self.waiter
        self.waiter = None


class HttpClient:
    """One browser's cookie jar and keep-alive connection to one origin."""

    def __init__(self, host: str, port: int, origin: str | None = None) -> None:
        self.host = host
        self.port = port
        self.origin = origin or f"http://{host}:{port}"
        self.cookies: dict[str, str] = {}
        self._proto: _HttpProtocol | None = None
        self._lock = asyncio.Lock()
        self.bytes_in = 0
        self.bytes_out = 0

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    async def _connection(self) -> _HttpProtocol:
        if self._proto is None or self._proto.closed:
            loop = asyncio.get_running_loop()
            _, proto = await loop.create_connection(_HttpProtocol, self.host, self.port)
            self._proto = proto
        return self._proto

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Response:
        async with self._lock:
            for attempt in (0, 1):
                proto = await self._connection()
                try:
                    return await self._exchange(proto, method, path, body, raw, content_type)
                except (HttpError, ConnectionError):
                    # A keep-alive connection the server closed meanwhile: once more on a new one.
                    self._proto = None
                    if attempt:
                        raise
            raise AssertionError("unreachable")

    async def _exchange(
        self, proto: _HttpProtocol, method: str, path: str, body: Any, raw: bytes | None, content_type: str
    ) -> Response:
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Origin: {self.origin}"]
        if self.cookies:
            lines.append("Cookie: " + self.cookie_header())
        if payload or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(payload)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        assert proto.transport is not None
        proto.transport.write(head + payload)
        self.bytes_out += len(head) + len(payload)
        buf = proto.buffer
        while (end := buf.find(CRLF2)) < 0:
            await proto.more()
        head_text = bytes(buf[:end]).decode("latin-1")
        del buf[: end + 4]
        status_line, *header_lines = head_text.split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: list[tuple[str, str]] = []
        length = 0
        chunked = False
        close = False
        for line in header_lines:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            value = value.strip()
            headers.append((key, value))
            if key == "content-length":
                length = int(value)
            elif key == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif key == "connection" and value.lower() == "close":
                close = True
            elif key == "set-cookie":
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if "expires=Thu, 01 Jan 1970" in value or "Max-Age=0" in value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie_value
        if chunked:
            data = await self._chunked(proto)
        else:
            while len(buf) < length:
                await proto.more()
            data = bytes(buf[:length])
            del buf[:length]
        self.bytes_in += end + 4 + len(data)
        if close:
            self._proto = None
            assert proto.transport is not None
            proto.transport.close()
        return Response(status, headers, data)

    async def _chunked(self, proto: _HttpProtocol) -> bytes:
        buf = proto.buffer
        parts = []
        while True:
            while (eol := buf.find(b"\r\n")) < 0:
                await proto.more()
            size = int(bytes(buf[:eol]).split(b";")[0], 16)
            while len(buf) < eol + 2 + size + 2:
                await proto.more()
            parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
            del buf[: eol + 2 + size + 2]
            if size == 0:
                return b"".join(parts)

    async def open(self) -> None:
        """Connect now if the keep-alive connection is gone, so that a request stamped next
        measures the server, not the TCP handshake (a browser's page has it open already)."""
        async with self._lock:
            await self._connection()

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> Response:
        return await self.request("POST", path, body if body is not None else {})

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None


# ---------------------------------------------------------------- websocket

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
INFLATE_TAIL = b"\x00\x00\xff\xff"

OnText = Callable[[str, int], None]


def _mask(payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    if n == 0:
        return key
    repeated = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return key + masked


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + _mask(payload)


class WsClient(asyncio.Protocol):
    """A websocket client: calls ``on_text(text, wire_bytes)`` for every text message."""

    def __init__(
        self,
        path: str,
        host: str,
        port: int,
        *,
        origin: str,
        cookie: str = "",
        on_text: OnText | None = None,
        deflate: bool = True,
        read: bool = True,
    ) -> None:
        self.request = self._handshake(path, host, port, origin, cookie, deflate)
        self.on_text = on_text
        self.read = read
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.handshaken = False
        self.status = 0
        self.close_code: int | None = None
        self.inflater: Any = None
        self.reset_inflater = False
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.bytes_in = 0
        self.bytes_out = 0
        self.messages = 0

    @staticmethod
    def _handshake(path: str, host: str, port: int, origin: str, cookie: str, deflate: bool) -> bytes:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: {origin}",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        if deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)
        self.bytes_out += len(self.request)

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        self.buffer += data
        if not self.handshaken and not self._parse_handshake():
            return
        self._parse_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during handshake ({exc})"))
        if not self.done.done():
            self.done.set_result(None)

    # -- parsing --

    def _parse_handshake(self) -> bool:
        end = self.buffer.find(CRLF2)
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        status_line, *lines = head.split("\r\n")
        self.status = int(status_line.split(" ", 2)[1])
        if self.status != 101:
            if not self.opened.done():
                self.opened.set_exception(ConnectionError(f"handshake refused: {status_line}"))
            self.abort()
            return False
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                self.inflater = zlib.decompressobj(-15)
                self.reset_inflater = "server_no_context_takeover" in value
        self.handshaken = True
        if not self.opened.done():
            self.opened.set_result(None)
        if not self.read and self.transport is not None:
            self.transport.pause_reading()
        return True

    def _parse_frames(self) -> None:
        buf = self.buffer
        while True:
            n = len(buf)
            if n < 2:
                return
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if n < 4:
                    return
                length = (buf[2] << 8) | buf[3]
                pos = 4
            elif length == 127:
                if n < 10:
                    return
                length = struct.unpack_from("!Q", buf, 2)[0]
                pos = 10
            if n < pos + length:
                return
            payload = bytes(buf[pos : pos + length])
            del buf[: pos + length]
            self._frame(b0 >> 7, (b0 >> 6) & 1, b0 & 0x0F, payload, pos + length)
            if self.transport is None or self.transport.is_closing():
                return

    def _frame(self, fin: int, rsv1: int, opcode: int, payload: bytes, size: int) -> None:
        if opcode in (OP_TEXT, OP_BINARY):
            self.fragments = [payload]
            self.fragment_compressed = bool(rsv1)
        elif opcode == OP_CONT:
            self.fragments.append(payload)
        elif opcode == OP_PING:
            self.send_frame(OP_PONG, payload)
            return
        elif opcode == OP_CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.send_frame(OP_CLOSE, payload[:2])
            self.abort()
            return
        else:
            return
        if not fin:
            return
        data = b"".join(self.fragments)
        self.fragments = []
        if self.fragment_compressed:
            if self.reset_inflater:
                self.inflater = zlib.decompressobj(-15)
            data = self.inflater.decompress(data + INFLATE_TAIL)
        self.messages += 1
        if self.on_text is not None:
            self.on_text(data.decode("utf-8"), size)

    # -- sending --

    def send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        data = frame(opcode, payload)
        self.bytes_out += len(data)
        self.transport.write(data)

    def send_text(self, text: str) -> None:
        self.send_frame(OP_TEXT, text.encode())

    def close(self, code: int = 1000) -> None:
        self.send_frame(OP_CLOSE, struct.pack("!H", code))
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (a network failure)."""
        if self.transport is not None:
            self.transport.abort()

    @property
    def open(self) -> bool:
        return self.handshaken and self.transport is not None and not self.transport.is_closing()


async def ws_connect(
    host: str,
    port: int,
    path: str,
    *,
    origin: str,
    cookie: str = "",
    on_text: OnText | None = None,
    deflate: bool = True,
    read: bool = True,
    rcvbuf: int | None = None,
    timeout: float = 30.0,
) -> WsClient:
    loop = asyncio.get_running_loop()
    proto = WsClient(path, host, port, origin=origin, cookie=cookie, on_text=on_text, deflate=deflate, read=read)
    if rcvbuf is None:
        await loop.create_connection(lambda: proto, host, port)
    else:
        # A receive buffer set before connect bounds the advertised TCP window.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, (host, port))
        await loop.create_connection(lambda: proto, sock=sock)
    async with asyncio.timeout(timeout):
        await proto.opened
    return proto
