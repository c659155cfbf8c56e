"""Pure ASGI middleware: request ids and logs, the same-origin rule on state changes, and
JSON-only bodies on the API."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id
from app.security import CANDIDATE_COOKIE, LOGIN_COOKIE, origin_allowed

log = logging.getLogger("surveillance.http")

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A caller's id (nginx's $request_id, a client's trace id) is kept when it looks like one;
        # anything else is replaced rather than echoed into logs and headers.
        given = Headers(scope=scope).get("x-request-id", "")
        rid = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["method"] in UNSAFE or status >= 500:
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id.reset(token)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Uploads that are files, not JSON: the roster import takes the CSV's bytes as they are.
_FILE_ROUTES = re.compile(r"/api/sessions/[^/]+/candidates/import")


class JsonOnly:
    """Login CSRF: a plain HTML form (text/plain, urlencoded, multipart) can post to another
    site without a preflight, and a text/plain field can spell a JSON object. Every API
    state change with a body must therefore say application/json, which a form cannot."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE
            and scope["path"].startswith("/api/")
            and not _FILE_ROUTES.fullmatch(scope["path"])
        ):
            headers = Headers(scope=scope)
            ctype = headers.get("content-type")
            has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
            if ctype is None and not has_body:
                # A bodiless action (log out, finalise) is not a form post: forms always say their type.
                await self.app(scope, receive, send)
                return
            if (ctype or "").split(";", 1)[0].strip().lower() != "application/json":
                await _refuse(
                    send,
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "Type de contenu non pris en charge : envoyez du JSON (Content-Type: application/json).",
                )
                return
        await self.app(scope, receive, send)


class SameOrigin:
    """CSRF: a state change carrying our cookies must come from our own pages."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            headers = Headers(scope=scope)
            cookie = headers.get("cookie", "")
            # Substrings: "surveillance_login" is also found in its "__Host-" name.
            if (LOGIN_COOKIE in cookie or CANDIDATE_COOKIE in cookie) and not origin_allowed(
                headers, scope.get("scheme", "http"), self.allowed
            ):
                await _refuse(send, 403, "CSRF_REJECTED", "Requête refusée : elle ne provient pas de l'application.")
                return
        await self.app(scope, receive, send)
