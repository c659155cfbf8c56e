"""Pure ASGI middleware: request ids and logs, the same-origin rule on state changes, and
JSON-only bodies on the API."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import i18n
from app.actions import logins
from app.errors import CsrfRejected, DomainError, UnsupportedMediaType
from app.headers import request_headers
from app.http import LOGIN_SCOPE_KEY, error_response, login_claim, services_of
from app.logs import request_id
from app.security import CANDIDATE_COOKIE, LOGIN_COOKIE, origin_allowed
from vocabulary import CloseCode

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
        given = request_headers(scope).get("x-request-id", "")
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


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: DomainError) -> None:
    """Answer a refusal before any route runs (the routes' exception handlers are inside)."""
    await error_response(refusal)(scope, receive, send)


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
            headers = request_headers(scope)
            ctype = headers.get("content-type")
            has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
            if ctype is None and not has_body:
                # A bodiless action (log out, finalise) is not a form post: forms always say their type.
                await self.app(scope, receive, send)
                return
            if (ctype or "").split(";", 1)[0].strip().lower() != "application/json":
                await _refuse(scope, receive, send, UnsupportedMediaType())
                return
        await self.app(scope, receive, send)


# No inline script or style anywhere: everything comes from /static (the header's mark is
# inline SVG markup, which needs no source). connect-src 'self' covers the page's own ws://
# and wss:// (CSP level 3).
PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# JSON, CSS, JS: nothing to run, and never framed.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The kit: browsers show a PDF with a viewer of their own that a default-src would hamper.
PDF_POLICY = "frame-ancestors 'none'"
HSTS = b"max-age=31536000"
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Per policy, without and with HSTS: the headers are the same bytes on every answer.
_ADDED = {
    (policy, secure): [(b"content-security-policy", policy.encode()), *_COMMON]
    + ([(b"strict-transport-security", HSTS)] if secure else [])
    for policy in (PAGE_POLICY, PDF_POLICY, OTHER_POLICY)
    for secure in (False, True)
}


class SecurityHeaders:
    """Headers every answer carries; Cache-Control no-store on the API, whose answers hold
    session passwords and access codes (details, snapshots, the kit), and on pages, unless a
    route set its own."""

    def __init__(self, app: ASGIApp, secure_always: bool) -> None:
        self.app = app
        self.secure_always = secure_always

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = self.secure_always or scope.get("scheme") == "https"
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                ctype: bytes | None = None
                cached = False
                for name, value in headers:
                    lowered = name.lower()
                    if lowered == b"content-type" and ctype is None:
                        ctype = value
                    elif lowered == b"cache-control":
                        cached = True
                if ctype is None:
                    policy = OTHER_POLICY
                elif ctype.startswith(b"text/html"):
                    policy = PAGE_POLICY
                elif ctype.startswith(b"application/pdf"):
                    policy = PDF_POLICY
                else:
                    policy = OTHER_POLICY
                # HSTS only when cookies are Secure: over plain HTTP the header is ignored anyway.
                headers += _ADDED[policy, secure]
                if (api or policy is PAGE_POLICY) and not cached:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOrigin:
    """CSRF: a state change carrying our cookies must come from our own pages."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE:
            headers = request_headers(scope)
            cookie = headers.get("cookie", "")
            # Substrings: "surveillance_login" is also found in its "__Host-" name.
            if (LOGIN_COOKIE in cookie or CANDIDATE_COOKIE in cookie) and not origin_allowed(
                headers, scope.get("scheme", "http"), self.allowed
            ):
                await _refuse(scope, receive, send, CsrfRejected())
                return
        await self.app(scope, receive, send)


# Answers that never depend on who is logged in: no lookup for them.
_NO_LOGIN = ("/static/", "/healthz", "/readyz", "/metrics", "/openapi.json", "/favicon")


class Logins:
    """Finds the login session a verified login cookie names (one indexed lookup) and leaves
    it in the scope for the routes and sockets; a deleted or expired one counts as none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Without a login cookie there is nothing to look up (a candidate's requests).
        if (
            scope["type"] in ("http", "websocket")
            and not scope["path"].startswith(_NO_LOGIN)
            and LOGIN_COOKIE in request_headers(scope).get("cookie", "")
        ):
            conn = HTTPConnection(scope)
            claim = login_claim(conn)
            if claim is not None:
                try:
                    found = scope[LOGIN_SCOPE_KEY] = await logins.authenticate(services_of(conn).db, claim)
                except DomainError as exc:
                    # The database is down: say so rather than "not logged in", which would
                    # send the pages to the login form.
                    if scope["type"] == "http":
                        await _refuse(scope, receive, send, exc)
                        return
                    await send(
                        {"type": "websocket.close", "code": CloseCode.TRY_AGAIN, "reason": "Service indisponible."}
                    )
                    return
                if found is not None and found.locale:
                    # The account's own choice outranks the cookie and the browser (app.i18n).
                    i18n.current.set(i18n.negotiate(found.locale))
        await self.app(scope, receive, send)
