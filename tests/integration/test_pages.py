"""The pages as a browser receives them: hashed static URLs with a year of cache, compressed
bodies when asked (and only then), the module graph announced up front, a description on
every page, and who is logged in carried by the page instead of a call to /api/me."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from html.parser import HTMLParser
from typing import Any

import brotli
import httpx
import pytest

from tests.conftest import World

IMMUTABLE = "public, max-age=31536000, immutable"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <script type="application/json">."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.json: dict[str, str] = {}
        self._in_json: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag == "script" and found.get("type") == "application/json":
            self._in_json = found.get("id", "")

    def handle_endtag(self, tag: str) -> None:
        self._in_json = None

    def handle_data(self, data: str) -> None:
        if self._in_json is not None:
            self.json[self._in_json] = self.json.get(self._in_json, "") + data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def asset_urls(tags: Tags) -> list[str]:
    return [
        *(a["href"] for a in tags.find("link", rel="stylesheet")),
        *(a["href"] for a in tags.find("link", rel="icon")),
        *(a["href"] for a in tags.find("link", rel="modulepreload")),
        *(a["src"] for a in tags.find("script", type="module")),
    ]


async def raw_get(client: httpx.AsyncClient, url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The body exactly as sent on the wire, before httpx decodes it."""
    async with client.stream("GET", url, headers=headers) as r:
        body = b"".join([chunk async for chunk in r.aiter_raw()])
    return r, body


def decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return bytes(brotli.decompress(body))
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


async def logged_in(world: World) -> tuple[httpx.AsyncClient, int]:
    staff = await world.user("admin@testix.fr", "Alice", "Martin")
    centre = await world.centre("Centre de Testix", "admin@testix.fr")
    session = await world.session(staff, centre)
    r = await staff.post(
        "/api/supervision/access",
        json={"session_id": session["id"], "supervisor_password": session["supervisor_password"]},
    )
    assert r.status_code == 204, r.text
    return staff, int(session["id"])


async def test_static_urls_carry_the_hash_and_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    tags = parse((await client.get("/connexion")).text)
    urls = asset_urls(tags)
    assert any("/css/base.css" in u for u in urls) and any("/js/auth.js" in u for u in urls)
    for url in urls:
        path, _, version = url.partition("?v=")
        assert path.startswith("/static/") and re.fullmatch(r"[0-9a-f]{12}", version), url
        r, body = await raw_get(client, url, **{"Accept-Encoding": "identity"})
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == IMMUTABLE
        assert "content-encoding" not in r.headers and int(r.headers["content-length"]) == len(body)
        # The version is the hash of the bytes served: a changed file cannot keep its URL.
        assert hashlib.sha256(body).hexdigest()[:12] == version
        # Revalidation of an unchanged file costs a 304 and no body.
        again = await client.get(url, headers={"If-None-Match": r.headers["etag"], "Accept-Encoding": "identity"})
        assert again.status_code == 304 and again.content == b""
    # Without the version (an old bookmark) or with an outdated one: the current file, revalidated each time.
    for url in ("/static/css/base.css", "/static/css/base.css?v=000000000000"):
        r = await client.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert (await client.get("/static/css/nothing.css")).status_code == 404
    assert (await client.post("/static/css/base.css")).status_code == 405


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.5, gzip", "gzip"),
        ("*", "br"),
        ("identity", None),
        ("br;q=0, gzip;q=0", None),
    ],
)
async def test_static_files_are_compressed_when_asked(
    client: httpx.AsyncClient, accept: str, expected: str | None
) -> None:
    tags = parse((await client.get("/certification")).text)
    plain = {}
    for url in asset_urls(tags):
        r, body = await raw_get(client, url, **{"Accept-Encoding": "identity"})
        plain[url] = body
        r, body = await raw_get(client, url, **{"Accept-Encoding": accept})
        assert r.status_code == 200
        assert r.headers.get("content-encoding") == expected, (url, accept)
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["cache-control"] == IMMUTABLE
        assert int(r.headers["content-length"]) == len(body)
        assert decode(body, expected) == plain[url]
        if expected:
            assert len(body) < len(plain[url]) * (0.6 if len(plain[url]) > 1000 else 1), url
    js = [u for u in plain if "/js/candidate.js" in u]
    assert js
    r, _ = await raw_get(client, js[0], **{"Accept-Encoding": accept})
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "expected"), [("gzip", "gzip"), ("br", "br"), ("gzip, br", "br"), ("identity", None), ("", None)]
)
async def test_pages_and_json_are_compressed_when_asked(world: World, accept: str, expected: str | None) -> None:
    staff, sid = await logged_in(world)
    for url, kind in [
        ("/connexion", "text/html"),
        (f"/surveillance/sessions/{sid}", "text/html"),
        ("/openapi.json", "application/json"),
    ]:
        r, body = await raw_get(staff, url, **{"Accept-Encoding": accept})
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith(kind)
        assert r.headers.get("content-encoding") == expected, url
        assert "accept-encoding" in r.headers["vary"].lower()
        plain = decode(body, expected)
        assert int(r.headers["content-length"]) == len(body)
        if kind == "text/html":
            assert plain.startswith(b"<!doctype html>")
        else:
            assert json.loads(plain)["openapi"]
    # A small answer is not worth compressing; it still says that it could vary.
    r, body = await raw_get(staff, "/api/me", **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in r.headers and json.loads(body)["user"]["email"] == "admin@testix.fr"
    assert r.headers["vary"] == "Accept-Encoding"
    # A PDF is already compressed: left alone.
    r, body = await raw_get(staff, f"/api/sessions/{sid}/supervisor-kit.pdf", **{"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers and body.startswith(b"%PDF")


async def test_modulepreload_announces_the_whole_module_graph(world: World) -> None:
    staff, sid = await logged_in(world)
    for page, entry in [
        (f"/surveillance/sessions/{sid}", "supervision.js"),
        ("/certification", "candidate.js"),
        ("/centre", "centre.js"),
    ]:
        tags = parse((await staff.get(page)).text)
        scripts = [a["src"] for a in tags.find("script", type="module")]
        assert [s.split("?")[0] for s in scripts] == ["/static/js/header.js", f"/static/js/{entry}"]
        preloads = [a["href"] for a in tags.find("link", rel="modulepreload")]
        # The graph, followed here through the import statements of the modules as served.
        seen: set[str] = set()
        todo = list(scripts)
        while todo:
            url = todo.pop()
            source = (await staff.get(url)).text
            base = url.rsplit("/", 1)[0]
            for spec in re.findall(r"""^\s*import\b[^"']*?["'](\./[^"']+)["']""", source, re.M):
                assert "?v=" in spec, (url, spec)  # imports are hashed too, or the cache would be bypassed
                target = base + spec[1:]
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        assert set(preloads) == seen - set(scripts), page
        assert len(preloads) == len(set(preloads))


async def test_every_page_has_a_description_and_its_own_stylesheets(world: World) -> None:
    staff, sid = await logged_in(world)
    pages: dict[str, list[str]] = {
        "/": [],
        "/connexion": [],
        "/inscription": [],
        "/certification": ["candidate", "room", "incidents"],
        "/surveillance": [],
        f"/surveillance/sessions/{sid}": ["supervision", "room", "incidents"],
        "/surveillance/aide": [],
        "/centre": ["centre"],
        f"/centre/sessions/{sid}": ["centre", "incidents"],
        "/nulle-part": [],
    }
    descriptions = set()
    for url, sheets in pages.items():
        r = await staff.get(url)
        assert r.status_code == (404 if url == "/nulle-part" else 200), url
        tags = parse(r.text)
        meta = tags.find("meta", name="description")
        assert len(meta) == 1 and len(meta[0]["content"]) > 40, url
        descriptions.add(meta[0]["content"])
        css = [a["href"].split("?")[0].rsplit("/", 1)[1] for a in tags.find("link", rel="stylesheet")]
        assert css == ["base.css", *(f"{s}.css" for s in sheets)], url
    assert len(descriptions) >= 8  # each page says what it is


async def test_the_page_says_who_is_logged_in(world: World, client: httpx.AsyncClient) -> None:
    staff, sid = await logged_in(world)
    me = (await staff.get("/api/me")).json()
    for url in ("/", f"/surveillance/sessions/{sid}", "/centre", "/surveillance"):
        html = (await staff.get(url)).text
        tags = parse(html)
        embedded: dict[str, Any] = json.loads(tags.json["me"])
        assert embedded == me, url
        assert "Alice Martin" in html  # the header's name, before any script
    # Nobody logged in: nothing embedded, and the private pages send to the login form.
    assert "me" not in parse((await client.get("/certification")).text).json
    r = await client.get(f"/surveillance/sessions/{sid}")
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")


async def test_embedded_data_cannot_close_its_script(world: World) -> None:
    c = world.client()
    r = await c.post(
        "/api/auth/signup",
        json={"email": "x@testix.fr", "password": "motdepasse1", "first_name": "</script><b>", "last_name": "<!--"},
    )
    assert r.status_code == 201, r.text
    html = (await c.get("/")).text
    assert "</script><b>" not in html and "<!--" not in html
    assert json.loads(parse(html).json["me"])["user"]["first_name"] == "</script><b>"


class Rows(HTMLParser):
    """The text of each cell of each <tbody> row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._body = self._cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self.rows.append([])
        elif tag == "td" and self._body:
            self._cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._body = False
        elif tag == "td":
            self._cell = False

    def handle_data(self, data: str) -> None:
        if self._cell:
            self.rows[-1][-1] += data.strip()


async def test_centre_pages_hold_their_data_before_any_script(world: World) -> None:
    staff, sid = await logged_in(world)
    for last, first, extra in [("DUPONT", "Paul", 0), ("Élise", "Éva", 30)]:
        r = await staff.post(
            f"/api/sessions/{sid}/candidates",
            json={"last_name": last, "first_name": first, "birthdate": "1997-05-21", "extra_time_percentage": extra},
        )
        assert r.status_code == 201, r.text
    listing = (await staff.get("/centre")).text
    assert f'href="/centre/sessions/{sid}"' in listing and "28/12/2021 · 11:00" in listing

    detail = (await staff.get(f"/api/sessions/{sid}")).json()
    r = await staff.get(f"/centre/sessions/{sid}")
    assert r.status_code == 200
    html = r.text
    assert detail["session"]["access_code"] in html and detail["session"]["supervisor_password"] in html
    assert 'Candidats <span class="muted">(2)</span>' in html
    table = Rows()
    table.feed(html)
    # The same rows, in the same order, as the JSON the API gives for the session.
    assert [row[:5] for row in table.rows] == [
        [
            c["last_name"].upper(),
            c["first_name"],
            "21/05/1997",
            f"{c['extra_time_percentage']} %" if c["extra_time_percentage"] else "—",
            "Inscrit",
        ]
        for c in detail["candidates"]
    ]
    assert [a["data-remove"] for a in parse(html).find("button") if "data-remove" in a] == [
        str(c["id"]) for c in detail["candidates"]
    ]

    # Someone outside the centre: the refusal in words, and nothing of the session.
    other = await world.user("autre@testix.fr")
    r = await other.get(f"/centre/sessions/{sid}")
    assert r.status_code == 403
    assert detail["session"]["access_code"] not in r.text and "DUPONT" not in r.text
    assert 'role="alert"' in r.text
    assert "aucun centre" in (await other.get("/centre")).text


class Dashboard(HTMLParser):
    """What the dashboard shows before any script: counters, session facts, and the rows
    (outside the <template> the script clones for later arrivals)."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []
        self.templates: list[str] = []
        self._slot: str | None = None
        self._in_template = False
        self._name = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "template":
            self._in_template = True
            self.templates.append(a.get("id", ""))
        if self._in_template:
            return
        for key in (
            "data-count",
            "data-session-date",
            "data-session-site",
            "data-session-room",
            "data-session-examiner",
            "data-session-code",
            "data-filter-count",
        ):
            if key in a:
                self._slot = f"{key}={a[key]}" if a[key] else key
                self.text[self._slot] = ""
        classes = a.get("class", "").split()
        if tag == "li" and "data-candidate-id" in a:
            self.rows.append({"id": int(a["data-candidate-id"]), "name": "", "tags": [], "presence": None})
        elif not self.rows:
            return
        row = self.rows[-1]
        if "candidate__name" in classes:
            self._name = True
        if a.get("data-part") == "presence" and "hidden" not in a:
            row["presence"] = {"checked": "checked" in a, "disabled": "disabled" in a}
        if "tag" in classes and "hidden" not in a:
            row["tags"].append(a["data-part"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._in_template = False
        self._slot = None
        self._name = False

    def handle_data(self, data: str) -> None:
        if self._slot:
            self.text[self._slot] += data
        if self._name:
            self.rows[-1]["name"] += data


async def test_the_dashboard_arrives_with_the_room(world: World) -> None:
    staff, sid = await logged_in(world)
    session = (await staff.get(f"/api/sessions/{sid}")).json()["session"]
    for last, first in [("DUPONT", "Paul"), ("DELARUE", "Sophie"), ("DURAND", "Simon")]:
        r = await staff.post(
            f"/api/sessions/{sid}/candidates", json={"last_name": last, "first_name": first, "birthdate": "1997-05-21"}
        )
        assert r.status_code == 201
    r = await staff.post(
        "/api/supervision/access", json={"session_id": sid, "supervisor_password": session["supervisor_password"]}
    )
    assert r.status_code == 204, r.text
    api = (await staff.get(f"/api/supervision/sessions/{sid}")).json()
    paul = next(c for c in api["candidates"] if c["first_name"] == "Paul")
    r = await staff.post(f"/api/supervision/sessions/{sid}/candidates/{paul['id']}/presence", json={"authorized": True})
    assert r.status_code == 200
    api = (await staff.get(f"/api/supervision/sessions/{sid}")).json()

    html = (await staff.get(f"/surveillance/sessions/{sid}")).text
    page = Dashboard()
    page.feed(html)
    # Counters and facts are in the HTML itself, from the snapshot the feed sends.
    assert {k: int(v) for k, v in page.text.items() if k.startswith("data-count=")} == {
        f"data-count={k}": v for k, v in api["counts"].items()
    }
    assert api["counts"]["present"] == 1 and api["counts"]["enrolled"] == 3
    assert page.text["data-session-date"] == "28/12/2021 · 11:00"
    assert page.text["data-session-room"] == "Salle 3" and page.text["data-session-code"] == session["access_code"]
    # Every candidate's row, by name (nobody needs a supervisor yet), with the presence box as
    # the snapshot has it; disabled until the page's live link is up.
    assert [r["name"] for r in page.rows] == ["DELARUE Sophie", "DUPONT Paul", "DURAND Simon"]
    assert {r["id"] for r in page.rows} == {c["id"] for c in api["candidates"]}
    assert [r["presence"] for r in page.rows] == [
        {"checked": False, "disabled": True},
        {"checked": True, "disabled": True},
        {"checked": False, "disabled": True},
    ]
    assert all(r["tags"] == [] for r in page.rows)
    # What the script clones for a candidate or a supervisor who arrives later.
    assert page.templates == ["candidate-row", "person"]
    assert page.text["data-filter-count=all"] == "3" and page.text["data-filter-count=not_started"] == "3"
    assert page.text["data-filter-count=todo"] == "0"
    embedded = json.loads(parse(html).json["snapshot"])
    assert embedded["version"] == api["version"]
    assert [c["id"] for c in embedded["candidates"]] == [c["id"] for c in api["candidates"]]
    assert embedded["counts"] == api["counts"] and embedded["session"] == api["session"]

    # No supervisor access yet (another account), or a finalised session: the access form says why.
    other = await world.user("autre@testix.fr")
    r = await other.get(f"/surveillance/sessions/{sid}")
    assert r.status_code == 303 and r.headers["location"] == f"/surveillance?session={sid}&info=acces"
    r = await staff.post(f"/api/sessions/{sid}/finalize")
    assert r.status_code == 200, r.text
    r = await staff.get(f"/surveillance/sessions/{sid}")
    assert r.status_code == 303 and r.headers["location"] == f"/surveillance?session={sid}&info=finalisee"
    # There, the session's supervisors find its procès-verbal; another account does not.
    for record in (f'href="/api/sessions/{sid}/proces-verbal.pdf"', f'href="/api/sessions/{sid}/reports.csv"'):
        assert record in (await staff.get(f"/surveillance?session={sid}&info=finalisee")).text
        assert record not in (await other.get(f"/surveillance?session={sid}&info=finalisee")).text
        assert record not in (await staff.get(f"/surveillance?session={sid}&info=acces")).text
