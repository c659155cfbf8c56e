"""The browser's words as JSON, per language: the same catalog every page embeds, for tools,
tests and any client that is not one of our pages."""

from __future__ import annotations

import hashlib
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import i18n
from app.errors import NotFound

# Changes only with a deployment: an hour of caching, then a cheap revalidation by ETag.
CACHE_CONTROL = "public, max-age=3600"


async def catalog(request: Request) -> Response:
    locale = request.path_params["locale"]
    if locale not in i18n.LOCALES:
        raise NotFound()
    body = json.dumps(i18n.browser_catalog(locale), ensure_ascii=False, sort_keys=True).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


routes = [Route("/api/i18n/{locale}.json", catalog, methods=["GET"])]
