"""The language switch: a plain form post (no script needed) that keeps the choice in the
`lang` cookie and, for a logged-in account, in its profile, then goes back to the page."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app import i18n
from app.actions import accounts
from app.errors import CsrfRejected, InvalidPayload
from app.http import current_login, read_body, services_of, set_lang_cookie
from app.i18n import N_
from app.redirects import safe_next
from app.security import origin_allowed

PATH = "/langue"
MAX_FORM_BYTES = 2048


async def switch(request: Request) -> Response:
    # Whether or not a login cookie came along (SameOrigin checks only those): another site
    # must not change anyone's language.
    if not origin_allowed(request.headers, request.url.scheme, services_of(request).settings.allowed_origins):
        raise CsrfRejected()
    raw = await read_body(request, MAX_FORM_BYTES)
    form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=4)
    chosen = i18n.supported((form.get("lang") or [""])[0])
    if chosen is None:
        raise InvalidPayload("lang", N_("langue inconnue (fr ou en)."))
    login = current_login(request)
    if login is not None:
        await services_of(request).db.write(lambda tx: accounts.set_locale(tx, login.user_id, chosen))
    response = RedirectResponse(safe_next((form.get("next") or [""])[0]), status_code=303)
    set_lang_cookie(response, request, chosen)
    return response


routes: list[BaseRoute] = [Route(PATH, switch, methods=["POST"])]
