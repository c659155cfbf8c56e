"""Health, readiness and metrics for operators and load balancers."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from app import openapi
from app.errors import DomainError, NotFound
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


def _may_read_metrics(request: Request) -> bool:
    # The client address is the proxy's X-Forwarded-For only when uvicorn trusts that proxy
    # (FORWARDED_ALLOW_IPS), so a header sent from outside cannot claim to be local.
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Parsed per request rather than cached in the module: a scrape every few seconds, a few networks.
    allowed = services_of(request).settings.metrics_allowed
    return any(address in ipaddress.ip_network(network) for network in allowed)


async def metrics(request: Request) -> Response:
    if not _may_read_metrics(request):
        # As if there were no such page: nothing tells an outsider the series exist.
        raise NotFound()
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
