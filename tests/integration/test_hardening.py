"""Findings of the security review (issue 11) the attack suite did not cover: redirects
after login, security headers, login CSRF, revocable logins, hygiene. Real app, SQLite
and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.conftest import World, digest
from tests.redirects import KEPT, hostile
from tests.servers import AppProcess

PASSWORD = "motdepasse1"
DATA_NEXT = re.compile(r'data-next="([^"]*)"')
SIGNUP_LINK = re.compile(r'href="(/inscription[^"]*)"')


def _data_next(page: str) -> str:
    match = DATA_NEXT.search(page)
    assert match, page[:2000]
    return html.unescape(match.group(1))


async def test_login_and_signup_pages_keep_only_local_paths(client: httpx.AsyncClient) -> None:
    tried = 0
    for raw in hostile():
        for path in ("/connexion", "/inscription"):
            r = await client.get(path, params={"next": raw})
            assert r.status_code == 200
            assert _data_next(r.text) == "/", (path, raw)
            tried += 1
        link = SIGNUP_LINK.search((await client.get("/connexion", params={"next": raw})).text)
        assert link and html.unescape(link.group(1)) == "/inscription", raw
    for raw in KEPT:
        r = await client.get("/connexion", params={"next": raw})
        assert _data_next(r.text) == raw
    assert tried > 700


async def test_login_and_signup_answer_the_next_they_decided(world: World) -> None:
    staff = await world.user("admin@testix.fr")
    anonymous = world.client()
    for raw in [*hostile()[:12], "/\t/evil.example", "/\\evil.example", "javascript:alert(1)"]:
        r = await anonymous.post("/api/auth/login", json={"email": "admin@testix.fr", "password": PASSWORD, "next": raw})
        assert r.status_code == 200, r.text
        assert r.json()["next"] == "/", raw
    for raw in KEPT:
        r = await anonymous.post("/api/auth/login", json={"email": "admin@testix.fr", "password": PASSWORD, "next": raw})
        assert r.json()["next"] == raw
    r = await anonymous.post(
        "/api/auth/signup",
        json={"email": "new@testix.fr", "password": PASSWORD, "first_name": "A", "last_name": "B", "next": "//evil.example"},
    )
    assert r.status_code == 201 and r.json()["next"] == "/"
    r = await world.client().post(
        "/api/auth/signup",
        json={"email": "new2@testix.fr", "password": PASSWORD, "first_name": "A", "last_name": "B", "next": "/centre"},
    )
    assert r.status_code == 201 and r.json()["next"] == "/centre"
    # A non-string next is not an error: it simply goes home.
    r = await anonymous.post("/api/auth/login", json={"email": "admin@testix.fr", "password": PASSWORD, "next": 5})
    assert r.status_code == 200 and r.json()["next"] == "/"
    assert staff is not None


# ------------------------------------------------------------------------- login CSRF


JSON_ROUTES = [
    ("/api/auth/login", {"email": "admin@testix.fr", "password": PASSWORD}),
    ("/api/auth/signup", {"email": "x@testix.fr", "password": PASSWORD, "first_name": "A", "last_name": "B"}),
    ("/api/candidate/join", {"session_id": 1, "access_code": "BCDF23", "first_name": "A", "last_name": "B", "birthdate": "2001-07-04"}),
    ("/api/supervision/access", {"session_id": 1, "supervisor_password": "C-ABCDE"}),
    ("/api/centres/1/sessions", {"address": "a", "room": "b", "examiner": "c", "date": "2021-12-28", "time": "11:00"}),
    ("/api/sessions/1/candidates", {"last_name": "A", "first_name": "B", "birthdate": "2001-07-04"}),
    ("/api/supervision/sessions/1/candidates/1/presence", {"authorized": True}),
    ("/api/candidate/start", {"consent": True}),
    ("/api/candidate/answers", {"question_id": "q1", "answer": 0}),
    ("/api/sessions/1/finalize", None),
    ("/api/auth/logout", None),
]
# What a plain HTML form (or a no-cors fetch) can send without a preflight, and a few more.
FORM_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/json",
    "application/json-patch+json",
    "application/jsonx",
    "application/javascript",
    "",
]


async def test_a_cross_site_form_cannot_log_a_browser_in(world: World) -> None:
    """The classic text/plain form whose one field spells a JSON object."""
    await world.user("admin@testix.fr")
    before = digest(world.app)
    body = '{"email": "admin@testix.fr", "password": "motdepasse1", "x": "="}'
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=world.app), base_url="http://testserver", headers={"Origin": "https://evil.example"}
    ) as victim:
        r = await victim.post("/api/auth/login", content=body.encode(), headers={"Content-Type": "text/plain"})
        assert r.status_code == 415, r.text
        assert r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert "JSON" in r.json()["error"]["message"] and "contenu" in r.json()["error"]["message"]
        assert "set-cookie" not in r.headers and not victim.cookies
    assert digest(world.app) == before


async def test_json_routes_refuse_every_other_content_type(world: World) -> None:
    staff = await world.user("admin@testix.fr")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    await world.session(staff, centre)
    before = digest(world.app)
    tried = 0
    for path, body in JSON_ROUTES:
        raw = json.dumps(body or {}).encode()
        for ctype in FORM_TYPES:
            headers = {"Content-Type": ctype} if ctype else {}
            r = await staff.post(path, content=raw, headers=headers)
            assert r.status_code == 415, (path, ctype, r.status_code, r.text)
            assert r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
            tried += 1
        # A body without any Content-Type is refused too.
        r = await staff.post(path, content=raw)
        assert r.status_code == 415, (path, "none", r.text)
    assert digest(world.app) == before
    assert tried == len(JSON_ROUTES) * len(FORM_TYPES)
    # application/json in any case, with parameters, still works; bodiless actions need no type.
    for ctype in ("application/json", "Application/JSON; charset=UTF-8", "application/json ; charset=utf-8"):
        r = await staff.post(
            "/api/auth/login", content=b'{"email": "admin@testix.fr", "password": "motdepasse1"}', headers={"Content-Type": ctype}
        )
        assert r.status_code == 200, (ctype, r.text)
    r = await staff.post("/api/auth/logout")
    assert r.status_code == 204


async def test_the_roster_import_still_takes_a_file(world: World) -> None:
    staff = await world.user("admin@testix.fr")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre)
    csv = b"nom;prenom;date_naissance;temps_majore\nDELARUE;Sophie;04/07/2001;0\n"
    r = await staff.post(f"/api/sessions/{session['id']}/candidates/import", content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201, r.text


# ----------------------------------------------------------------------- __Host- cookies


def _set_cookies(r: httpx.Response) -> list[str]:
    return r.headers.get_list("set-cookie")


async def _signup(c: httpx.AsyncClient, email: str) -> httpx.Response:
    r = await c.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "first_name": "A", "last_name": "B"})
    assert r.status_code == 201, r.text
    return r


async def test_https_gets_host_prefixed_secure_cookies(app: Starlette) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver", headers={"Origin": "https://testserver"}
    ) as c:
        (cookie,) = _set_cookies(await _signup(c, "a@testix.fr"))
        assert cookie.startswith("__Host-surveillance_login="), cookie
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path", "samesite"} <= attrs and "domain" not in attrs, cookie
        assert "Path=/" in cookie
        assert (await c.get("/api/me")).status_code == 200
        # The unprefixed name is not read over HTTPS: a cookie planted by a sibling
        # subdomain or over plain HTTP (which cannot set __Host-) opens nothing.
        value = c.cookies["__Host-surveillance_login"]
        c.cookies.clear()
        c.cookies.set("surveillance_login", value)
        assert (await c.get("/api/me")).status_code == 401
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as plain:
        (cookie,) = _set_cookies(await _signup(plain, "b@testix.fr"))
        assert cookie.startswith("surveillance_login=") and "secure" not in cookie.lower()


async def test_a_candidates_join_over_https_gets_a_host_prefixed_cookie(world: World) -> None:
    """The candidate cookie too: a sibling subdomain or a plain-HTTP page must not plant one
    that joins the victim's browser as the attacker's candidate."""
    from app.security import CANDIDATE_COOKIE
    from tests.integration.test_attacks import Site

    site = await Site(world).build()
    await site.presence(site.cand_a)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=site.app), base_url="https://testserver", headers={"Origin": "https://testserver"}
    ) as c:
        r = await c.post("/api/candidate/join", json=site.join_body(site.a))
        assert r.status_code == 200, r.text
        (cookie,) = [v for v in _set_cookies(r) if f"{CANDIDATE_COOKIE}=" in v]
        assert cookie.startswith(f"__Host-{CANDIDATE_COOKIE}="), cookie
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path", "samesite"} <= attrs and "domain" not in attrs, cookie
        assert (await c.post("/api/candidate/start", json={"consent": True})).status_code == 201
        assert (await c.get("/api/candidate/test")).status_code == 200
        value = c.cookies[f"__Host-{CANDIDATE_COOKIE}"]
        c.cookies.clear()
        c.cookies.set(CANDIDATE_COOKIE, value)
        assert (await c.get("/api/candidate/test")).status_code == 401


async def test_an_https_origin_or_cookie_secure_makes_cookies_secure(settings_env: dict[str, str]) -> None:
    from app.main import create_app
    from app.settings import load_settings

    for n, (extra, secure) in enumerate([
        ({"ALLOWED_ORIGINS": "https://surveillance.example"}, True),
        ({"COOKIE_SECURE": "true"}, True),
        ({"ALLOWED_ORIGINS": "https://surveillance.example", "COOKIE_SECURE": "false"}, False),
        ({"ALLOWED_ORIGINS": "http://surveillance.example"}, False),
    ]):
        application = create_app(load_settings({**settings_env, **extra}))
        transport = httpx.ASGITransport(app=application)
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"Origin": "http://testserver"}) as c,
        ):
            (cookie,) = _set_cookies(await _signup(c, f"user{n}@testix.fr"))
            assert cookie.startswith("__Host-") is secure, (extra, cookie)
            assert ("; secure" in cookie.lower()) is secure, (extra, cookie)


def test_a_trusted_proxys_forwarded_proto_makes_cookies_secure(tmp_path: Path) -> None:
    """Real uvicorn: X-Forwarded-Proto counts only from FORWARDED_ALLOW_IPS."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'proxy.db'}", "DATA_DIR": str(tmp_path)}
    for allow, secure in [("127.0.0.1", True), ("10.9.9.9", False)]:
        app = AppProcess({**env, "FORWARDED_ALLOW_IPS": allow}, log_dir=tmp_path).start()
        try:
            r = httpx.post(
                app.url + "/api/auth/signup",
                json={"email": f"p{len(allow)}@testix.fr", "password": PASSWORD, "first_name": "A", "last_name": "B"},
                headers={"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{app.port}"},
            )
            assert r.status_code == 201, r.text
            (cookie,) = r.headers.get_list("set-cookie")
            assert cookie.startswith("__Host-") is secure, (allow, cookie)
        finally:
            app.kill()


# ------------------------------------------------------------------------ security headers

CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def _csp(r: httpx.Response) -> dict[str, str]:
    raw = r.headers.get("content-security-policy", "")
    return {part.split()[0]: " ".join(part.split()[1:]) for part in raw.split(";") if part.strip()}


def _assert_common(r: httpx.Response, what: str) -> None:
    assert r.headers.get("x-content-type-options") == "nosniff", what
    assert r.headers.get("referrer-policy") == "same-origin", what
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), what
    assert r.headers.get("x-frame-options") == "DENY", what


async def staff_supervising(world: World) -> tuple[httpx.AsyncClient, int, dict[str, Any]]:
    """A centre's staff member, its centre and a session the same account also supervises."""
    staff = await world.user("admin@testix.fr")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre)
    r = await staff.post(
        "/api/supervision/access", json={"session_id": session["id"], "supervisor_password": session["supervisor_password"]}
    )
    assert r.status_code == 204
    return staff, centre, session


async def test_every_answer_carries_the_security_headers(world: World) -> None:
    staff, _, session = await staff_supervising(world)
    sid = session["id"]
    pages = ["/", "/connexion", "/inscription", "/certification", "/centre", f"/centre/sessions/{sid}", "/surveillance", f"/surveillance/sessions/{sid}", "/nulle-part"]
    for path in pages:
        r = await staff.get(path)
        assert r.status_code in (200, 404), path
        assert r.headers["content-type"].startswith("text/html"), path
        _assert_common(r, path)
        policy = _csp(r)
        for directive, value in CSP_DIRECTIVES.items():
            assert policy.get(directive) == value, (path, directive, policy)
        # Nothing inline is allowed: no 'unsafe-inline', no nonce or hash to smuggle one in.
        assert "unsafe" not in r.headers["content-security-policy"] and "nonce-" not in r.headers["content-security-policy"]
        # And the pages need none: no style attribute, no inline script, no inline handler.
        assert not re.search(r"<[^>]+\sstyle\s*=", r.text), path
        # A JSON data block (the page's first state) is never run: CSP has nothing to allow.
        assert not re.search(r'<script(?![^>]*\ssrc=)(?![^>]*type="application/json")[^>]*>', r.text), path
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", r.text), path
        assert r.headers.get("cache-control") == "no-store", path
    for path in ["/api/me", "/healthz", "/openapi.json", "/static/css/app.css", "/static/js/auth.js", "/api/nulle-part"]:
        r = await staff.get(path)
        _assert_common(r, path)
    r = await staff.post("/api/auth/login", content=b"{", headers={"Content-Type": "application/json"})
    _assert_common(r, "error")


async def test_answers_with_codes_are_never_stored(world: World) -> None:
    """Session password and access code: no cache may keep them (shared proxies, the
    browser's back button after logout)."""
    staff, centre, session = await staff_supervising(world)
    sid = session["id"]
    carrying = {
        "session created": await staff.post(
            f"/api/centres/{centre}/sessions",
            json={"address": "a", "room": "b", "examiner": "c", "date": "2021-12-28", "time": "11:00"},
        ),
        "session list": await staff.get(f"/api/centres/{centre}/sessions"),
        "session details": await staff.get(f"/api/sessions/{sid}"),
        "snapshot": await staff.get(f"/api/supervision/sessions/{sid}"),
        "kit": await staff.get(f"/api/sessions/{sid}/supervisor-kit.pdf"),
    }
    for what, r in carrying.items():
        assert r.status_code in (200, 201), (what, r.text[:200])
        if what != "kit":
            assert session["access_code"] in r.text or what == "session created", what
        assert "no-store" in r.headers.get("cache-control", ""), (what, r.headers)
        _assert_common(r, what)
    assert carrying["kit"].headers["content-type"] == "application/pdf"


async def test_hsts_when_cookies_are_secure(app: Starlette) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        r = await c.get("/")
        assert r.headers.get("strict-transport-security") == "max-age=31536000"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        r = await c.get("/")
        assert "strict-transport-security" not in r.headers


async def test_path_ids_are_ascii_digits_only(world: World) -> None:
    """Python takes "１" (full-width) and "١" (Arabic-Indic) for decimal digits: they must
    not name an id, or one session would answer under several spellings."""
    staff = await world.user("admin@testix.fr")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre)
    sid = str(session["id"])
    assert (await staff.get(f"/api/sessions/{sid}")).status_code == 200
    for spelled in (sid.translate(str.maketrans("0123456789", "０１２３４５６７８９")), sid.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))):
        for path in (f"/api/sessions/{spelled}", f"/api/supervision/sessions/{spelled}", f"/api/sessions/{spelled}/supervisor-kit.pdf"):
            r = await staff.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND", (path, r.status_code)



async def test_a_login_socket_opened_while_the_database_is_unreachable_is_told_to_come_back(tmp_path: Path) -> None:
    # The login lookup cannot answer: the page must reconnect (TRY_AGAIN), not believe it is
    # logged out (NOT_LOGGED_IN would send it to the login form).
    from app.main import create_app
    from app.security import LOGIN_COOKIE, Signer
    from app.settings import load_settings
    from vocabulary import CloseCode

    key = "k" * 32
    nowhere = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "SECRET_KEY": key, "DATA_DIR": str(tmp_path)}
    app = create_app(load_settings(nowhere))
    cookie = f"{LOGIN_COOKIE}={Signer(key).login(1, 'k' * 30)}"
    path = "/api/supervision/sessions/1/live"
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())],
        "subprotocols": [],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert [(m["type"], m.get("code")) for m in sent] == [("websocket.close", CloseCode.TRY_AGAIN)]
