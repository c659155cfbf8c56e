"""Request parsing and answers shared by the thin routes."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from app import i18n
from app.actions.logins import Login
from app.errors import (
    DomainError,
    InvalidPayload,
    MalformedJson,
    NotAJsonObject,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
)
from app.i18n import N_
from app.security import (
    CANDIDATE_COOKIE,
    CANDIDATE_MAX_AGE,
    LOGIN_COOKIE,
    LOGIN_MAX_AGE,
    CandidateClaim,
    LoginClaim,
    cookie_name,
)

if TYPE_CHECKING:
    from app.services import Services

MAX_JSON_BYTES = 64 * 1024
# Where the Logins middleware leaves the request's login session (scope key).
LOGIN_SCOPE_KEY = "surveillance.login"
MAX_UPLOAD_BYTES = 1024 * 1024
LANG_MAX_AGE = 365 * 24 * 3600


def services_of(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]


class Json(JSONResponse):
    """JSONResponse's bytes (UTF-8, no spaces, keys in order) made by orjson: on the answer
    path, the standard encoder cost more than building the answer itself."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_response(data: Any, status: int = 200) -> JSONResponse:
    return Json(data, status_code=status)


def attachment(content: bytes, media_type: str, filename: str) -> Response:
    """A file the browser saves under `filename` rather than shows (the kit, the records)."""
    disposition = f'attachment; filename="{filename}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def error_response(exc: DomainError) -> JSONResponse:
    return Json(exc.body(), status_code=exc.status, headers=exc.headers)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdecimal() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await read_body(request, MAX_JSON_BYTES)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedJson() from None
    if not isinstance(data, dict):
        raise NotAJsonObject()
    return data


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# JSON may carry lone surrogates (\ud800); they are not text and cannot be encoded.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def is_text(value: str) -> bool:
    return _SURROGATE.search(value) is None


def text(body: dict[str, Any], name: str, *, max_length: int = 100, required: bool = True) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidPayload(name, N_("champ obligatoire."))
        return ""
    if not isinstance(value, str):
        raise InvalidPayload(name, N_("doit être une chaîne de caractères."))
    value = " ".join(value.split())
    if len(value) > max_length:
        raise InvalidPayload(name, N_("%(limit)s caractères au maximum."), limit=max_length)
    if _CONTROL.search(value) or not is_text(value):
        raise InvalidPayload(name, N_("caractères non autorisés."))
    return value


def integer(body: dict[str, Any], name: str, *, low: int, high: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if value is None:
        raise InvalidPayload(name, N_("champ obligatoire."))
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPayload(name, N_("doit être un nombre entier."))
    if not low <= value <= high:
        raise InvalidPayload(name, N_("doit être compris entre %(low)s et %(high)s."), low=low, high=high)
    return value


def boolean(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise InvalidPayload(name, N_("doit valoir true ou false."))
    return value


def parse_date(value: str) -> dt.date | None:
    """ISO (2021-12-28) or French (28/12/2021) dates."""
    value = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return dt.date.fromisoformat(value)
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def date(body: dict[str, Any], name: str, *, past: bool = False) -> dt.date:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(name, N_("date obligatoire (AAAA-MM-JJ)."))
    parsed = parse_date(value)
    if parsed is None or parsed.year < 1900 or parsed.year > 2200:
        raise InvalidPayload(name, N_("date invalide (AAAA-MM-JJ)."))
    if past and parsed >= dt.date.today():
        raise InvalidPayload(name, N_("la date doit être passée."))
    return parsed


def clock(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
        raise InvalidPayload(name, N_("heure invalide (HH:MM)."))
    return value.strip()


def path_id(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if isinstance(raw, int):
        value = raw
    # ASCII digits only: "１" (full-width) is decimal to Python and would name id 1.
    elif isinstance(raw, str) and raw.isascii() and raw.isdecimal() and len(raw) < 12:
        value = int(raw)
    else:
        raise NotFound()
    if value > 2**31 - 1:
        raise NotFound()
    return value


def client_address(conn: HTTPConnection) -> str | None:
    """The client's address as uvicorn reports it: behind a proxy listed in
    FORWARDED_ALLOW_IPS, the one that proxy forwarded."""
    return conn.client.host if conn.client else None


async def spend_budget(request: Request, door: str) -> None:
    """One try at a door open without an account, counted against the client's address."""
    await services_of(request).budget.spend(door, client_address(request))


def secure_connection(conn: HTTPConnection) -> bool:
    """HTTPS as the browser sees it: uvicorn takes the scheme from X-Forwarded-Proto only
    when the proxy is in FORWARDED_ALLOW_IPS."""
    # The scope's scheme is what conn.url.scheme reads, without building the whole URL.
    return services_of(conn).settings.secure_cookies_always or conn.scope.get("scheme") in ("https", "wss")


def read_cookie(conn: HTTPConnection, base: str) -> str | None:
    # Only the name of this connection's kind: over HTTPS an unprefixed cookie is ignored.
    return conn.cookies.get(cookie_name(base, secure_connection(conn)))


def login_claim(conn: HTTPConnection) -> LoginClaim | None:
    return services_of(conn).signer.read_login(read_cookie(conn, LOGIN_COOKIE))


def current_login(conn: HTTPConnection) -> Login | None:
    """The login session app.middleware.Logins found for this request's cookie."""
    found = conn.scope.get(LOGIN_SCOPE_KEY)
    return found if isinstance(found, Login) else None


def require_login(conn: HTTPConnection) -> Login:
    found = current_login(conn)
    if found is None:
        raise NotAuthenticated()
    return found


def user_id(conn: HTTPConnection) -> int:
    return require_login(conn).user_id


def optional_user_id(conn: HTTPConnection) -> int | None:
    found = current_login(conn)
    return found.user_id if found else None


def candidate_claim(conn: HTTPConnection) -> CandidateClaim | None:
    return services_of(conn).signer.read_candidate(read_cookie(conn, CANDIDATE_COOKIE))


def session_number(body: dict[str, Any], name: str) -> int:
    """A session number as typed: an integer, or digits in a string."""
    value = body.get(name)
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 12:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise InvalidPayload(name, N_("numéro de session invalide."))
    return value


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    secure = secure_connection(request)
    # Path "/" and no Domain: both required by the __Host- prefix.
    response.set_cookie(
        cookie_name(name, secure), value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure
    )


def set_lang_cookie(response: Response, request: Request, locale: str) -> None:
    # Read by the Locale middleware (app.i18n) on every request: nothing secret, a year long.
    response.set_cookie(
        i18n.COOKIE, locale, max_age=LANG_MAX_AGE, path="/", samesite="lax", secure=secure_connection(request)
    )


def delete_login_cookie(response: Response, request: Request) -> None:
    secure = secure_connection(request)
    response.delete_cookie(cookie_name(LOGIN_COOKIE, secure), path="/", httponly=True, samesite="lax", secure=secure)


def set_login_cookie(response: Response, request: Request, user: int, key: str) -> None:
    _set_cookie(response, request, LOGIN_COOKIE, services_of(request).signer.login(user, key), LOGIN_MAX_AGE)


def set_candidate_cookie(response: Response, request: Request, claim: CandidateClaim) -> None:
    _set_cookie(response, request, CANDIDATE_COOKIE, services_of(request).signer.candidate(claim), CANDIDATE_MAX_AGE)
