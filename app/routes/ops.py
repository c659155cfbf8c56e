"""Health, readiness and metrics for operators and load balancers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app import openapi
from app.errors import DomainError
from app.http import services_of


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = services_of(request)
    checks: dict[str, str] = {}
    try:
        await services.db.ping()
        checks["database"] = "ok"
    except (DomainError, Exception):
        checks["database"] = "unavailable"
    try:
        checks["broker"] = "ok" if await services.hub.broker.ping() else "unavailable"
    except Exception:
        checks["broker"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


async def metrics(request: Request) -> Response:
    return PlainTextResponse(services_of(request).metrics.render(), media_type="text/plain; version=0.0.4")


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.document())


async def messages_schema_json(request: Request) -> Response:
    return JSONResponse(openapi.messages_schema(), media_type="application/schema+json")


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/schema/messages.json", messages_schema_json, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
