"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from app import logs
from app.compression import Compress
from app.errors import DomainError, HttpRefusal, InternalError, MethodNotAllowed, NotFound
from app.http import error_response
from app.i18n import Locale
from app.middleware import JsonOnly, Logins, RequestLog, SameOrigin, SecurityHeaders
from app.routes import auth, candidate, centre, i18n, incidents, language, live, ops, pages, records, room, supervision
from app.services import Services
from app.settings import Settings, load_settings

log = logging.getLogger("surveillance")


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_response(exc)


_HTTP_REFUSALS: dict[int, type[DomainError]] = {404: NotFound, 405: MethodNotAllowed}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/") and exc.status_code == 404:
        services: Services = request.app.state.services
        return services.templates.TemplateResponse(request, "404.html", {}, status_code=404)
    refusal = _HTTP_REFUSALS.get(exc.status_code, HttpRefusal)
    return error_response(refusal(status=exc.status_code))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    response = error_response(InternalError())
    # Answered outside the middleware stack (Starlette's ServerErrorMiddleware): the
    # headers SecurityHeaders would have added, here.
    response.headers.update(
        {
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        }
    )
    return response


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    logs.configure(settings.log_json)
    services = Services.build(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.open()
        try:
            yield
        finally:
            await services.close()

    routes: list[BaseRoute] = [
        # First: routing tries each route in turn, and the candidates' answers are most requests.
        *candidate.routes,
        *auth.routes,
        *centre.routes,
        *supervision.routes,
        *room.routes,
        *incidents.routes,
        *records.routes,
        *live.routes,
        *ops.routes,
        *i18n.routes,
        *pages.routes,
        *language.routes,
        Mount("/static", app=services.assets, name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            # Outermost: it compresses what every other middleware has finished.
            Middleware(Compress),
            # Before anything that writes words (pages, error bodies, documents).
            Middleware(Locale),
            Middleware(RequestLog),
            Middleware(SecurityHeaders, secure_always=settings.secure_cookies_always),
            Middleware(SameOrigin, allowed=settings.allowed_origins),
            Middleware(JsonOnly),
            Middleware(Logins),
        ],
        exception_handlers={
            DomainError: _domain_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    return app
