"""Every refusal of CONTRACT.md (Errors, Accounts, Centre, Supervision, Candidate), one
table row each: the status, the `{"error": {"code", "message"}}` shape, a French message
(asked in English: the same code and details, the words in English), no leak, and nothing
changed in the database.

One scene per backend is built once through the API (module scope) and every case runs
against it; since no case may change anything, the scene stays the same throughout. The
`failed_attempt` table is emptied before each case, so wrong codes counted on purpose
never turn a later case into 429.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from starlette.applications import Starlette

from app import i18n, migrate
from app.errors import INCORRECT_DATA, INVALID_SESSION_OR_CODE, NOT_AUTHORIZED_TO_JOIN
from app.main import create_app
from app.settings import load_settings
from tests.conftest import ORIGIN, PG_ADMIN_URL, World, digest, event_log

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVIL = "https://evil.example"
HUGE = 2**80
MEGABYTE = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
DROP = object()  # a field left out of a body

S1_CSV = (
    "nom;prenom;date_naissance;temps_majore\n"
    "ATTENTE;Nina;01/02/2000;\n"
    "PRETE;Rémi;02/03/2001;\n"
    "RETIRE;Wanda;03/04/2002;\n"
    "ENCOURS;Rita;04/05/2003;\n"
    "REPRISE;Roger;05/06/2004;\n"
    "FINI;Eric;06/07/2005;\n"
)
S2_CSV = "nom;prenom;date_naissance;temps_majore\nZORGLUB;Zelda;07/08/1999;\nZORGLUB;Zoé;08/09/1998;\n"
LEAKS = ("traceback", 'file "', "sqlalchemy", "psycopg", "sqlite3", "select ", "insert ", "update ", "exam_session")
FRENCH = re.compile(
    r"[éèêàùçôîï]|\b(le|la|les|de|des|du|vous|votre|est|doit|un|une|ce|cette|aucun|trop|introuvable|requête|"
    r"champ|obligatoire|invalide|entier|heure|date|méthode)\b",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- the scene


@dataclass
class Scene:
    app: Starlette
    ids: dict[str, Any]
    cookies: dict[str, httpx.Cookies]
    secrets_a: tuple[str, ...] = ()
    secrets_b: tuple[str, ...] = ()

    def client(self, who: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        """A throw-away client with a copy of `who`'s cookies: no case can change another's."""
        base = {"Origin": ORIGIN} if headers is None else headers
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=ORIGIN,
            headers=base,
            cookies=httpx.Cookies(self.cookies.get(who, httpx.Cookies())),
            timeout=30,
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own, so the shared fixtures' truncations never touch it."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path_factory.mktemp("errors") / "errors.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    name = f"surveillance_errors_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(load_settings({"DATABASE_URL": url, "SECRET_KEY": "t" * 32}))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def _ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json()) if r.content else {}


async def _build(world: World) -> Scene:
    staff_a = await world.user("admin@a.fr", "Alice", "Martin")
    staff_b = await world.user("admin@b.fr", "Bruno", "Bernard")
    sup = await world.user("sup@a.fr", "Marie", "Curie")
    sup_b = await world.user("sup@b.fr", "Boris", "Vian")
    outsider = await world.user("outsider@x.fr", "Oscar", "Wilde")
    centre_a = await world.centre("Centre A", "admin@a.fr")
    centre_b = await world.centre("Centre B", "admin@b.fr")
    s1 = await world.session(staff_a, centre_a)
    sf = await world.session(staff_a, centre_a, room="Salle finale")
    s2 = await world.session(staff_b, centre_b, address="Rue secrète 12", room="Salle Zorglub")
    csv_headers = {"Content-Type": "text/csv"}
    await _ok(
        await staff_a.post(f"/api/sessions/{s1['id']}/candidates/import", content=S1_CSV.encode(), headers=csv_headers),
        201,
    )
    await _ok(
        await staff_b.post(f"/api/sessions/{s2['id']}/candidates/import", content=S2_CSV.encode(), headers=csv_headers),
        201,
    )
    fanny = await _ok(
        await staff_a.post(
            f"/api/sessions/{sf['id']}/candidates",
            json={"last_name": "FINAL", "first_name": "Fanny", "birthdate": "2000-01-01"},
        ),
        201,
    )
    for who, s in ((sup, s1), (sup, sf), (sup_b, s2)):
        await _ok(
            await who.post(
                "/api/supervision/access", json={"session_id": s["id"], "supervisor_password": s["supervisor_password"]}
            ),
            204,
        )
    detail = await _ok(await staff_a.get(f"/api/sessions/{s1['id']}"))
    c = {x["first_name"]: x["id"] for x in detail["candidates"]}
    detail_b = await _ok(await staff_b.get(f"/api/sessions/{s2['id']}"))
    zelda = next(x["id"] for x in detail_b["candidates"] if x["first_name"] == "Zelda")

    def presence(name: str, authorized: bool) -> Any:
        path = f"/api/supervision/sessions/{s1['id']}/candidates/{c[name]}/presence"
        return sup.post(path, json={"authorized": authorized})

    for name in ("Rémi", "Wanda", "Rita", "Roger", "Eric"):
        await _ok(await presence(name, True))
    people = {
        "Rémi": ("PRETE", "2001-03-02"),
        "Wanda": ("RETIRE", "2002-04-03"),
        "Rita": ("ENCOURS", "2003-05-04"),
        "Roger": ("REPRISE", "2004-06-05"),
        "Eric": ("FINI", "2005-07-06"),
        "Nina": ("ATTENTE", "2000-02-01"),
    }
    clients: dict[str, httpx.AsyncClient] = {}

    async def join(first: str, status: int) -> httpx.AsyncClient:
        cl = world.client()
        last, birth = people[first]
        body = {
            "session_id": s1["id"],
            "access_code": s1["access_code"],
            "first_name": first,
            "last_name": last,
            "birthdate": birth,
        }
        await _ok(await cl.post("/api/candidate/join", json=body), status)
        return cl

    for key, first in (
        ("ready", "Rémi"),
        ("withdrawn", "Wanda"),
        ("running", "Rita"),
        ("requested", "Roger"),
        ("ended", "Eric"),
    ):
        clients[key] = await join(first, 200)
    for key in ("running", "requested", "ended"):
        await _ok(await clients[key].post("/api/candidate/start", json={"consent": True}), 201)
    await _ok(await presence("Wanda", False))
    await join("Roger", 403)  # a second browser: "reprise demandée"
    await _ok(await sup.post(f"/api/supervision/sessions/{s1['id']}/candidates/{c['Eric']}/end-test"))
    clients["waiting"] = await join("Nina", 403)
    state = await _ok(await clients["running"].get("/api/candidate/test"))
    await _ok(await staff_a.post(f"/api/sessions/{sf['id']}/finalize"))

    clients.update(staff_a=staff_a, staff_b=staff_b, sup=sup, sup_b=sup_b, outsider=outsider)
    ids = {
        "ca": centre_a,
        "cb": centre_b,
        "s1": s1["id"],
        "s2": s2["id"],
        "sf": sf["id"],
        "code1": s1["access_code"],
        "pw1": s1["supervisor_password"],
        "code2": s2["access_code"],
        "pw2": s2["supervisor_password"],
        "codef": sf["access_code"],
        "pwf": sf["supervisor_password"],
        "fanny": fanny["candidate"]["id"],
        "zelda": zelda,
        "question": state["question"]["id"],
        "nina": c["Nina"],
        "remi": c["Rémi"],
        "wanda": c["Wanda"],
        "rita": c["Rita"],
        "roger": c["Roger"],
        "eric": c["Eric"],
    }
    return Scene(
        app=world.app,
        ids=ids,
        cookies={k: httpx.Cookies(v.cookies) for k, v in clients.items()},
        secrets_a=(s1["access_code"], s1["supervisor_password"], "ATTENTE", "ENCOURS", "REPRISE", "Rémi"),
        secrets_b=(s2["access_code"], s2["supervisor_password"], "ZORGLUB", "Zelda", "Rue secrète"),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(module_database: str) -> AsyncIterator[Scene]:
    settings = load_settings({"DATABASE_URL": module_database, "SECRET_KEY": "secret-" + "e" * 32, "LOG_PLAIN": "1"})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        world = World(app)
        try:
            yield await _build(world)
        finally:
            await world.close()


def _forget_attempts(app: Starlette) -> None:
    with app.state.services.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM failed_attempt"))


# ---------------------------------------------------------------- the table

Body = Callable[[dict[str, Any]], Any] | bytes | None


@dataclass(frozen=True)
class Case:
    id: str
    who: str
    method: str
    path: str
    status: int
    code: str
    body: Body = None
    field: str | None = None
    headers: dict[str, str] | None = None
    message: str | None = None
    rows: tuple[tuple[int, str], ...] | None = None
    content_type: str | None = None


def with_(
    base: Callable[[dict[str, Any]], dict[str, Any]], **changes: Any
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(ids: dict[str, Any]) -> dict[str, Any]:
        body = base(ids)
        for k, v in changes.items():
            if v is DROP:
                body.pop(k, None)
            else:
                body[k] = v(ids) if callable(v) else v
        return body

    return build


def join_body(ids: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": ids["s1"],
        "access_code": ids["code1"],
        "first_name": "Nina",
        "last_name": "ATTENTE",
        "birthdate": "2000-02-01",
    }


def signup_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"email": "nouveau@a.fr", "password": "motdepasse1", "first_name": "Jean", "last_name": "Neuf"}


def login_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"email": "admin@a.fr", "password": "motdepasse1"}


def session_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"address": "1 rue", "room": "Salle 1", "examiner": "Examinateur", "date": "2030-01-01", "time": "09:00"}


def candidate_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"last_name": "NOUVEAU", "first_name": "Noé", "birthdate": "2001-01-01", "extra_time_percentage": 0}


def access_body(ids: dict[str, Any]) -> dict[str, Any]:
    return {"session_id": ids["s1"], "supervisor_password": ids["pw1"]}


def presence_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"authorized": True}


def consent_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"consent": True}


def answer_body(ids: dict[str, Any]) -> dict[str, Any]:
    return {"question_id": ids["question"], "answer": 0}


def adjust_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"minutes": 5, "reason": "Panne"}


def bulk_body(ids: dict[str, Any]) -> dict[str, Any]:
    return {"action": "pause", "candidate_ids": [ids["rita"]]}


def message_body(_: dict[str, Any]) -> dict[str, Any]:
    return {"text": "Il reste 10 minutes"}


def const(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda _ids: value


SUP = "/api/supervision/sessions/{s1}/candidates"
ROOM = "/api/supervision/sessions/{s1}"
# Routes taking a JSON object, as (name, who, path, valid body): the generic refusals
# (malformed, not an object, too large, missing and mistyped fields) run on each.
JSON_ROUTES = [
    ("join", "anon", "/api/candidate/join", join_body),
    ("signup", "anon", "/api/auth/signup", signup_body),
    ("login", "anon", "/api/auth/login", login_body),
    ("create-session", "staff_a", "/api/centres/{ca}/sessions", session_body),
    ("add-candidate", "staff_a", "/api/sessions/{s1}/candidates", candidate_body),
    ("access", "outsider", "/api/supervision/access", access_body),
    ("presence", "sup", SUP + "/{nina}/presence", presence_body),
    ("start", "ready", "/api/candidate/start", consent_body),
    ("answers", "running", "/api/candidate/answers", answer_body),
    ("adjust-time", "sup", SUP + "/{rita}/adjust-time", adjust_body),
    ("bulk", "sup", ROOM + "/bulk", bulk_body),
    ("messages", "sup", ROOM + "/messages", message_body),
]
MALFORMED = [
    ("truncated-json", b'{"session_id": 1,', 422),
    ("json-array", b"[1, 2, 3]", 422),
    ("json-string", b'"bonjour"', 422),
    ("json-number", b"42", 422),
    ("json-null", b"null", 422),
    ("invalid-utf8", b'{"a": "\xff\xfe"}', 422),
    ("nan-literal-garbage", b"{NaN}", 422),
    ("one-megabyte", MEGABYTE, 413),
]


def generic_cases() -> list[Case]:
    cases = []
    for route, who, path, _ in JSON_ROUTES:
        for name, raw, status in MALFORMED:
            code = "PAYLOAD_TOO_LARGE" if status == 413 else "INVALID_PAYLOAD"
            cases.append(Case(f"{route}-{name}", who, "POST", path, status, code, body=raw))
    return cases


# (route, field, label, value, field named in the answer or None, code)
FIELD_CASES: list[tuple[str, str, str, Any, str | None, str]] = [
    ("join", "session_id", "missing", DROP, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "text", "douze", "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "bool", True, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "float", 1.5, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "null", None, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "huge", HUGE, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "negative", -1, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "zero", 0, "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "superscript-digit", "²", "session_id", "INVALID_PAYLOAD"),
    ("join", "session_id", "list", [1], "session_id", "INVALID_PAYLOAD"),
    ("join", "access_code", "missing", DROP, "access_code", "INVALID_PAYLOAD"),
    ("join", "access_code", "number", 123456, "access_code", "INVALID_PAYLOAD"),
    ("join", "access_code", "too-long", "X" * 21, "access_code", "INVALID_PAYLOAD"),
    ("join", "first_name", "missing", DROP, "first_name", "INVALID_PAYLOAD"),
    ("join", "first_name", "blank", "   ", "first_name", "INVALID_PAYLOAD"),
    ("join", "first_name", "bool", False, "first_name", "INVALID_PAYLOAD"),
    ("join", "first_name", "control-char", "Ni\x00na", "first_name", "INVALID_PAYLOAD"),
    ("join", "last_name", "missing", DROP, "last_name", "INVALID_PAYLOAD"),
    ("join", "last_name", "object", {"a": 1}, "last_name", "INVALID_PAYLOAD"),
    ("join", "birthdate", "missing", DROP, "birthdate", "INVALID_PAYLOAD"),
    ("join", "birthdate", "not-a-date", "hier", "birthdate", "INVALID_PAYLOAD"),
    ("join", "birthdate", "impossible-date", "2000-02-30", "birthdate", "INVALID_PAYLOAD"),
    ("join", "birthdate", "number", 20000201, "birthdate", "INVALID_PAYLOAD"),
    ("signup", "email", "missing", DROP, "email", "INVALID_PAYLOAD"),
    ("signup", "email", "no-at", "pas-une-adresse", "email", "INVALID_PAYLOAD"),
    ("signup", "email", "at-start", "@a.fr", "email", "INVALID_PAYLOAD"),
    ("signup", "email", "number", 42, "email", "INVALID_PAYLOAD"),
    ("signup", "password", "missing", DROP, "password", "INVALID_PAYLOAD"),
    ("signup", "password", "short", "abc12", "password", "INVALID_PAYLOAD"),
    ("signup", "password", "no-digit", "motdepasse", "password", "INVALID_PAYLOAD"),
    ("signup", "password", "no-letter", "12345678", "password", "INVALID_PAYLOAD"),
    ("signup", "password", "too-long", "a1" * 101, "password", "INVALID_PAYLOAD"),
    ("signup", "password", "number", 12345678, "password", "INVALID_PAYLOAD"),
    ("signup", "first_name", "missing", DROP, "first_name", "INVALID_PAYLOAD"),
    ("signup", "last_name", "too-long", "L" * 101, "last_name", "INVALID_PAYLOAD"),
    ("login", "email", "missing", DROP, "email", "INVALID_PAYLOAD"),
    ("login", "password", "missing", DROP, "password", "INVALID_PAYLOAD"),
    ("login", "password", "bool", True, "password", "INVALID_PAYLOAD"),
    ("create-session", "address", "missing", DROP, "address", "INVALID_PAYLOAD"),
    ("create-session", "address", "too-long", "a" * 301, "address", "INVALID_PAYLOAD"),
    ("create-session", "room", "missing", DROP, "room", "INVALID_PAYLOAD"),
    ("create-session", "examiner", "null", None, "examiner", "INVALID_PAYLOAD"),
    ("create-session", "date", "missing", DROP, "date", "INVALID_PAYLOAD"),
    ("create-session", "date", "impossible", "2030-13-01", "date", "INVALID_PAYLOAD"),
    ("create-session", "date", "year-9999", "9999-01-01", "date", "INVALID_PAYLOAD"),
    ("create-session", "time", "missing", DROP, "time", "INVALID_PAYLOAD"),
    ("create-session", "time", "25h", "25:00", "time", "INVALID_PAYLOAD"),
    ("create-session", "time", "number", 900, "time", "INVALID_PAYLOAD"),
    ("add-candidate", "last_name", "missing", DROP, "last_name", "INVALID_PAYLOAD"),
    ("add-candidate", "first_name", "number", 7, "first_name", "INVALID_PAYLOAD"),
    ("add-candidate", "birthdate", "missing", DROP, "birthdate", "INVALID_PAYLOAD"),
    ("add-candidate", "birthdate", "future", "2999-01-01", "birthdate", "INVALID_PAYLOAD"),
    ("add-candidate", "birthdate", "french-impossible", "31/02/2001", "birthdate", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "bool", True, "extra_time_percentage", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "float", 30.0, "extra_time_percentage", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "text", "30", "extra_time_percentage", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "null", None, "extra_time_percentage", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "huge", HUGE, "extra_time_percentage", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "negative", -10, "extra_time_percentage", "INVALID_PAYLOAD"),
    ("add-candidate", "extra_time_percentage", "over-200", 201, "extra_time_percentage", "INVALID_PAYLOAD"),
    ("access", "session_id", "missing", DROP, "session_id", "INVALID_PAYLOAD"),
    ("access", "session_id", "bool", True, "session_id", "INVALID_PAYLOAD"),
    ("access", "session_id", "float", 2.0, "session_id", "INVALID_PAYLOAD"),
    ("access", "session_id", "null", None, "session_id", "INVALID_PAYLOAD"),
    ("access", "session_id", "huge", HUGE, "session_id", "INVALID_PAYLOAD"),
    ("access", "session_id", "huge-text", str(HUGE), "session_id", "INVALID_PAYLOAD"),
    ("access", "session_id", "superscript-digit", "¹", "session_id", "INVALID_PAYLOAD"),
    ("access", "supervisor_password", "missing", DROP, "supervisor_password", "INVALID_PAYLOAD"),
    ("access", "supervisor_password", "number", 12345, "supervisor_password", "INVALID_PAYLOAD"),
    ("presence", "authorized", "missing", DROP, "authorized", "INVALID_PAYLOAD"),
    ("presence", "authorized", "text", "true", "authorized", "INVALID_PAYLOAD"),
    ("presence", "authorized", "int", 1, "authorized", "INVALID_PAYLOAD"),
    ("presence", "authorized", "null", None, "authorized", "INVALID_PAYLOAD"),
    ("start", "consent", "text", "oui", "consent", "INVALID_PAYLOAD"),
    ("start", "consent", "int", 1, "consent", "INVALID_PAYLOAD"),
    ("start", "consent", "missing", DROP, None, "CONSENT_REQUIRED"),
    ("start", "consent", "false", False, None, "CONSENT_REQUIRED"),
    ("start", "consent", "null", None, "consent", "INVALID_PAYLOAD"),
    ("answers", "question_id", "missing", DROP, "question_id", "INVALID_PAYLOAD"),
    ("answers", "question_id", "number", 1, "question_id", "INVALID_PAYLOAD"),
    ("answers", "answer", "missing", DROP, "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "bool", True, "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "float", 1.0, "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "text", "1", "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "null", None, "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "huge", HUGE, "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "negative", -1, "answer", "INVALID_PAYLOAD"),
    ("answers", "answer", "not-a-choice", 99, "answer", "INVALID_PAYLOAD"),
]


def field_cases() -> list[Case]:
    routes = {name: (who, path, body) for name, who, path, body in JSON_ROUTES}
    cases = []
    for route, name, label, value, named, code in FIELD_CASES:
        who, path, base = routes[route]
        status = 422
        cases.append(
            Case(
                f"{route}-{name}-{label}",
                who,
                "POST",
                path,
                status,
                code,
                body=with_(base, **{name: value}),
                field=named,
            )
        )
    return cases


UNAUTHENTICATED = [
    ("me", "GET", "/api/me"),
    ("list-sessions", "GET", "/api/centres/{ca}/sessions"),
    ("create-session", "POST", "/api/centres/{ca}/sessions"),
    ("session-detail", "GET", "/api/sessions/{s1}"),
    ("add-candidate", "POST", "/api/sessions/{s1}/candidates"),
    ("import", "POST", "/api/sessions/{s1}/candidates/import"),
    ("remove-candidate", "DELETE", "/api/sessions/{s1}/candidates/{nina}"),
    ("supervisor-kit", "GET", "/api/sessions/{s1}/supervisor-kit.pdf"),
    ("finalize", "POST", "/api/sessions/{s1}/finalize"),
    ("access", "POST", "/api/supervision/access"),
    ("snapshot", "GET", "/api/supervision/sessions/{s1}"),
    ("presence", "POST", SUP + "/{nina}/presence"),
    ("authorize-resume", "POST", SUP + "/{roger}/authorize-resume"),
    ("end-test", "POST", SUP + "/{rita}/end-test"),
    ("pause", "POST", SUP + "/{rita}/pause"),
    ("resume", "POST", SUP + "/{rita}/resume"),
    ("adjust-time", "POST", SUP + "/{rita}/adjust-time"),
    ("room-pause", "POST", ROOM + "/pause"),
    ("room-resume", "POST", ROOM + "/resume"),
    ("bulk", "POST", ROOM + "/bulk"),
    ("messages", "POST", ROOM + "/messages"),
    ("supervision-kit", "GET", ROOM + "/supervisor-kit.pdf"),
    ("start", "POST", "/api/candidate/start"),
    ("test", "GET", "/api/candidate/test"),
    ("answers", "POST", "/api/candidate/answers"),
]


# A valid body where the route takes one, so the refusal is about the missing login alone.
VALID_BODIES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "create-session": session_body,
    "add-candidate": candidate_body,
    "access": access_body,
    "presence": presence_body,
    "start": consent_body,
    "answers": answer_body,
    "adjust-time": adjust_body,
    "bulk": bulk_body,
    "messages": message_body,
}


def unauthenticated_cases() -> list[Case]:
    cases = [
        Case(f"anonymous-{name}", "anon", m, p, 401, "NOT_AUTHENTICATED", body=VALID_BODIES.get(name))
        for name, m, p in UNAUTHENTICATED
    ]
    # A candidate refused at the door holds a listening cookie only: it opens nothing.
    for name, m, p in UNAUTHENTICATED[-3:]:
        body = VALID_BODIES.get(name)
        cases.append(Case(f"waiting-cookie-{name}", "waiting", m, p, 401, "NOT_AUTHENTICATED", body=body))
    return cases


STATE_CHANGES = [
    ("staff_a", "create-session", "POST", "/api/centres/{ca}/sessions", session_body),
    ("staff_a", "add-candidate", "POST", "/api/sessions/{s1}/candidates", candidate_body),
    ("staff_a", "remove-candidate", "DELETE", "/api/sessions/{s1}/candidates/{nina}", None),
    ("staff_a", "finalize", "POST", "/api/sessions/{s1}/finalize", None),
    ("staff_a", "logout", "POST", "/api/auth/logout", None),
    ("staff_a", "signup", "POST", "/api/auth/signup", signup_body),
    ("outsider", "access", "POST", "/api/supervision/access", access_body),
    ("sup", "presence", "POST", SUP + "/{nina}/presence", presence_body),
    ("sup", "authorize-resume", "POST", SUP + "/{roger}/authorize-resume", None),
    ("sup", "end-test", "POST", SUP + "/{rita}/end-test", None),
    ("sup", "pause", "POST", SUP + "/{rita}/pause", None),
    ("sup", "adjust-time", "POST", SUP + "/{rita}/adjust-time", adjust_body),
    ("sup", "room-pause", "POST", ROOM + "/pause", None),
    ("sup", "bulk", "POST", ROOM + "/bulk", bulk_body),
    ("sup", "messages", "POST", ROOM + "/messages", message_body),
    ("ready", "start", "POST", "/api/candidate/start", consent_body),
    ("running", "answers", "POST", "/api/candidate/answers", answer_body),
    ("running", "join", "POST", "/api/candidate/join", join_body),
    ("waiting", "join", "POST", "/api/candidate/join", join_body),
]
FOREIGN = [
    ("foreign-origin", {"Origin": EVIL}),
    ("no-origin-no-referer", {}),
    ("null-origin", {"Origin": "null"}),
    ("lookalike-origin", {"Origin": ORIGIN + ".evil.example"}),
    ("foreign-referer", {"Referer": EVIL + "/page"}),
    ("userinfo-referer", {"Referer": "http://testserver@evil.example/"}),
    ("other-scheme-origin", {"Origin": "https://testserver"}),
]


def csrf_cases() -> list[Case]:
    cases = []
    for who, name, method, path, body in STATE_CHANGES:
        variants = FOREIGN if name in ("finalize", "end-test", "start") else FOREIGN[:2]
        for label, headers in variants:
            cases.append(
                Case(f"csrf-{name}-{who}-{label}", who, method, path, 403, "CSRF_REJECTED", body=body, headers=headers)
            )
    return cases


CSV_HEADERS = "nom;prenom;date_naissance;temps_majore\n"


def domain_cases() -> list[Case]:
    imp = "/api/sessions/{s1}/candidates/import"
    return [
        # Accounts
        Case(
            "signup-email-taken",
            "anon",
            "POST",
            "/api/auth/signup",
            409,
            "EMAIL_TAKEN",
            body=with_(signup_body, email="admin@a.fr"),
        ),
        Case(
            "signup-email-taken-case-and-spaces",
            "anon",
            "POST",
            "/api/auth/signup",
            409,
            "EMAIL_TAKEN",
            body=with_(signup_body, email="  ADMIN@A.FR "),
        ),
        Case(
            "login-wrong-password",
            "anon",
            "POST",
            "/api/auth/login",
            401,
            "INVALID_CREDENTIALS",
            body=with_(login_body, password="mauvais123"),
        ),
        Case(
            "login-unknown-email",
            "anon",
            "POST",
            "/api/auth/login",
            401,
            "INVALID_CREDENTIALS",
            body=with_(login_body, email="personne@nulle.part"),
        ),
        # Centre: membership and unknown ids
        Case("list-sessions-other-centre", "staff_a", "GET", "/api/centres/{cb}/sessions", 403, "NOT_A_MEMBER"),
        Case("list-sessions-unknown-centre", "staff_a", "GET", "/api/centres/999999/sessions", 403, "NOT_A_MEMBER"),
        Case("list-sessions-outsider", "outsider", "GET", "/api/centres/{ca}/sessions", 403, "NOT_A_MEMBER"),
        Case(
            "create-session-other-centre",
            "staff_a",
            "POST",
            "/api/centres/{cb}/sessions",
            403,
            "NOT_A_MEMBER",
            body=session_body,
        ),
        Case(
            "create-session-unknown-centre",
            "staff_a",
            "POST",
            "/api/centres/999999/sessions",
            403,
            "NOT_A_MEMBER",
            body=session_body,
        ),
        Case("session-detail-other-centre", "staff_a", "GET", "/api/sessions/{s2}", 403, "NOT_A_MEMBER"),
        Case("session-detail-supervisor-not-member", "sup", "GET", "/api/sessions/{s1}", 403, "NOT_A_MEMBER"),
        Case("session-detail-unknown", "staff_a", "GET", "/api/sessions/999999", 404, "SESSION_NOT_FOUND"),
        Case("session-detail-huge-id", "staff_a", "GET", f"/api/sessions/{HUGE}", 404, "NOT_FOUND"),
        Case("session-detail-int32-overflow", "staff_a", "GET", f"/api/sessions/{2**31}", 404, "NOT_FOUND"),
        Case("session-detail-negative-id", "staff_a", "GET", "/api/sessions/-1", 404, "NOT_FOUND"),
        Case("session-detail-text-id", "staff_a", "GET", "/api/sessions/abc", 404, "NOT_FOUND"),
        Case("session-detail-superscript-id", "staff_a", "GET", "/api/sessions/%C2%B2", 404, "NOT_FOUND"),
        Case(
            "add-candidate-other-centre",
            "staff_a",
            "POST",
            "/api/sessions/{s2}/candidates",
            403,
            "NOT_A_MEMBER",
            body=candidate_body,
        ),
        Case(
            "add-candidate-unknown-session",
            "staff_a",
            "POST",
            "/api/sessions/999999/candidates",
            404,
            "SESSION_NOT_FOUND",
            body=candidate_body,
        ),
        Case(
            "add-candidate-already-enrolled",
            "staff_a",
            "POST",
            "/api/sessions/{s1}/candidates",
            409,
            "CANDIDATE_ALREADY_ENROLLED",
            body=const({"last_name": "ATTENTE", "first_name": "Nina", "birthdate": "2000-02-01"}),
        ),
        Case(
            "add-candidate-already-enrolled-folded",
            "staff_a",
            "POST",
            "/api/sessions/{s1}/candidates",
            409,
            "CANDIDATE_ALREADY_ENROLLED",
            body=const({"last_name": " attente ", "first_name": "NÏNA", "birthdate": "01/02/2000"}),
        ),
        Case(
            "add-candidate-finalized",
            "staff_a",
            "POST",
            "/api/sessions/{sf}/candidates",
            409,
            "SESSION_FINALIZED",
            body=candidate_body,
        ),
        Case(
            "import-other-centre",
            "staff_a",
            "POST",
            "/api/sessions/{s2}/candidates/import",
            403,
            "NOT_A_MEMBER",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;\n").encode(),
            content_type="text/csv",
        ),
        Case(
            "import-finalized",
            "staff_a",
            "POST",
            "/api/sessions/{sf}/candidates/import",
            409,
            "SESSION_FINALIZED",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;\n").encode(),
            content_type="text/csv",
        ),
        Case(
            "import-unknown-session",
            "staff_a",
            "POST",
            "/api/sessions/999999/candidates/import",
            404,
            "SESSION_NOT_FOUND",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;\n").encode(),
            content_type="text/csv",
        ),
        Case(
            "import-one-bad-date-among-good",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;\nVIEUX;Léa;31/02/2001;\n").encode(),
            rows=((3, "date_naissance"),),
            content_type="text/csv",
        ),
        Case(
            "import-missing-first-name",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;;01/01/2001;\n").encode(),
            rows=((2, "prenom"),),
            content_type="text/csv",
        ),
        Case(
            "import-bad-extra-time",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;deux\n").encode(),
            rows=((2, "temps_majore"),),
            content_type="text/csv",
        ),
        Case(
            "import-too-many-columns",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;0;x\n").encode(),
            rows=((2, "ligne"),),
            content_type="text/csv",
        ),
        Case(
            "import-duplicate-in-file",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;\nneuf;NOE;2001-01-01;\n").encode(),
            rows=((3, "nom"),),
            content_type="text/csv",
        ),
        Case(
            "import-already-enrolled",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;\nATTENTE;Nina;01/02/2000;\n").encode(),
            rows=((3, "nom"),),
            content_type="text/csv",
        ),
        Case(
            "import-wrong-header",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=b"name;first;birth\nNEUF;Noe;01/01/2001\n",
            rows=((1, "en-tête"),),
            content_type="text/csv",
        ),
        Case(
            "import-empty-file",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=b"",
            rows=((1, "fichier"),),
            content_type="text/csv",
        ),
        Case(
            "import-one-megabyte",
            "staff_a",
            "POST",
            imp,
            413,
            "PAYLOAD_TOO_LARGE",
            body=CSV_HEADERS.encode() + b"A" * (1024 * 1024),
            content_type="text/csv",
        ),
        Case(
            "import-superscript-extra-time",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=(CSV_HEADERS + "NEUF;Noé;01/01/2001;²\n").encode(),
            rows=((2, "temps_majore"),),
            content_type="text/csv",
        ),
        Case(
            "import-huge-field",
            "staff_a",
            "POST",
            imp,
            422,
            "INVALID_CSV",
            body=CSV_HEADERS.encode() + b"A" * 200_000 + b";Noe;01/01/2001;\n",
            content_type="text/csv",
        ),
        Case(
            "remove-candidate-other-centre",
            "staff_a",
            "DELETE",
            "/api/sessions/{s2}/candidates/{zelda}",
            403,
            "NOT_A_MEMBER",
        ),
        Case(
            "remove-candidate-of-other-session",
            "staff_a",
            "DELETE",
            "/api/sessions/{s1}/candidates/{zelda}",
            404,
            "CANDIDATE_NOT_FOUND",
        ),
        Case(
            "remove-candidate-unknown",
            "staff_a",
            "DELETE",
            "/api/sessions/{s1}/candidates/999999",
            404,
            "CANDIDATE_NOT_FOUND",
        ),
        Case(
            "remove-candidate-unknown-session",
            "staff_a",
            "DELETE",
            "/api/sessions/999999/candidates/{nina}",
            404,
            "SESSION_NOT_FOUND",
        ),
        Case(
            "remove-candidate-already-started",
            "staff_a",
            "DELETE",
            "/api/sessions/{s1}/candidates/{rita}",
            409,
            "CANDIDATE_ALREADY_STARTED",
        ),
        Case(
            "remove-candidate-finalized",
            "staff_a",
            "DELETE",
            "/api/sessions/{sf}/candidates/{fanny}",
            409,
            "SESSION_FINALIZED",
        ),
        Case("kit-other-centre", "staff_a", "GET", "/api/sessions/{s2}/supervisor-kit.pdf", 403, "NOT_A_MEMBER"),
        Case(
            "kit-unknown-session", "staff_a", "GET", "/api/sessions/999999/supervisor-kit.pdf", 404, "SESSION_NOT_FOUND"
        ),
        Case("kit-supervisor-not-member", "sup", "GET", "/api/sessions/{s1}/supervisor-kit.pdf", 403, "NOT_A_MEMBER"),
        Case("finalize-other-centre", "staff_a", "POST", "/api/sessions/{s2}/finalize", 403, "NOT_A_MEMBER"),
        Case("finalize-unknown-session", "staff_a", "POST", "/api/sessions/999999/finalize", 404, "SESSION_NOT_FOUND"),
        Case("finalize-twice", "staff_a", "POST", "/api/sessions/{sf}/finalize", 409, "SESSION_FINALIZED"),
        Case("finalize-by-supervisor", "sup", "POST", "/api/sessions/{s1}/finalize", 403, "NOT_A_MEMBER"),
        # Supervision
        Case(
            "access-wrong-password",
            "outsider",
            "POST",
            "/api/supervision/access",
            403,
            "INCORRECT_DATA",
            body=with_(access_body, supervisor_password="C-BBBBB"),
            message=INCORRECT_DATA,
        ),
        Case(
            "access-unknown-session",
            "outsider",
            "POST",
            "/api/supervision/access",
            403,
            "INCORRECT_DATA",
            body=with_(access_body, session_id=999999),
            message=INCORRECT_DATA,
        ),
        Case(
            "access-other-sessions-password",
            "outsider",
            "POST",
            "/api/supervision/access",
            403,
            "INCORRECT_DATA",
            body=with_(access_body, supervisor_password=lambda ids: ids["pw2"]),
            message=INCORRECT_DATA,
        ),
        Case(
            "access-finalized",
            "outsider",
            "POST",
            "/api/supervision/access",
            403,
            "SESSION_FINALIZED",
            body=with_(access_body, session_id=lambda ids: ids["sf"], supervisor_password=lambda ids: ids["pwf"]),
        ),
        Case("snapshot-no-access", "outsider", "GET", "/api/supervision/sessions/{s1}", 403, "NO_SUPERVISOR_ACCESS"),
        Case(
            "snapshot-member-without-access",
            "staff_a",
            "GET",
            "/api/supervision/sessions/{s1}",
            403,
            "NO_SUPERVISOR_ACCESS",
        ),
        Case("snapshot-other-session", "sup", "GET", "/api/supervision/sessions/{s2}", 403, "NO_SUPERVISOR_ACCESS"),
        Case("snapshot-unknown-session", "sup", "GET", "/api/supervision/sessions/999999", 403, "NO_SUPERVISOR_ACCESS"),
        Case("snapshot-huge-id", "sup", "GET", f"/api/supervision/sessions/{HUGE}", 404, "NOT_FOUND"),
        Case("snapshot-finalized", "sup", "GET", "/api/supervision/sessions/{sf}", 403, "SESSION_FINALIZED"),
        Case(
            "presence-other-session",
            "sup",
            "POST",
            "/api/supervision/sessions/{s2}/candidates/{zelda}/presence",
            403,
            "NO_SUPERVISOR_ACCESS",
            body=presence_body,
        ),
        Case(
            "presence-candidate-of-other-session",
            "sup",
            "POST",
            SUP + "/{zelda}/presence",
            404,
            "CANDIDATE_NOT_FOUND",
            body=presence_body,
        ),
        Case(
            "presence-unknown-candidate",
            "sup",
            "POST",
            SUP + "/999999/presence",
            404,
            "CANDIDATE_NOT_FOUND",
            body=presence_body,
        ),
        Case(
            "presence-huge-candidate-id", "sup", "POST", SUP + f"/{HUGE}/presence", 404, "NOT_FOUND", body=presence_body
        ),
        Case(
            "presence-withdrawn-after-start",
            "sup",
            "POST",
            SUP + "/{rita}/presence",
            409,
            "CANDIDATE_ALREADY_STARTED",
            body=const({"authorized": False}),
        ),
        Case(
            "presence-withdrawn-after-end",
            "sup",
            "POST",
            SUP + "/{eric}/presence",
            409,
            "CANDIDATE_ALREADY_STARTED",
            body=const({"authorized": False}),
        ),
        Case(
            "presence-finalized",
            "sup",
            "POST",
            "/api/supervision/sessions/{sf}/candidates/{fanny}/presence",
            403,
            "SESSION_FINALIZED",
            body=presence_body,
        ),
        Case(
            "presence-by-member-without-access",
            "staff_a",
            "POST",
            SUP + "/{nina}/presence",
            403,
            "NO_SUPERVISOR_ACCESS",
            body=presence_body,
        ),
        Case("authorize-resume-not-started", "sup", "POST", SUP + "/{nina}/authorize-resume", 409, "TEST_NOT_STARTED"),
        Case(
            "authorize-resume-finished", "sup", "POST", SUP + "/{eric}/authorize-resume", 409, "TEST_ALREADY_FINISHED"
        ),
        Case(
            "authorize-resume-candidate-of-other-session",
            "sup",
            "POST",
            SUP + "/{zelda}/authorize-resume",
            404,
            "CANDIDATE_NOT_FOUND",
        ),
        Case(
            "authorize-resume-other-session",
            "sup",
            "POST",
            "/api/supervision/sessions/{s2}/candidates/{zelda}/authorize-resume",
            403,
            "NO_SUPERVISOR_ACCESS",
        ),
        Case(
            "authorize-resume-finalized",
            "sup",
            "POST",
            "/api/supervision/sessions/{sf}/candidates/{fanny}/authorize-resume",
            403,
            "SESSION_FINALIZED",
        ),
        Case("end-test-not-started", "sup", "POST", SUP + "/{nina}/end-test", 409, "TEST_NOT_STARTED"),
        Case(
            "end-test-candidate-of-other-session", "sup", "POST", SUP + "/{zelda}/end-test", 404, "CANDIDATE_NOT_FOUND"
        ),
        Case(
            "end-test-other-session",
            "sup",
            "POST",
            "/api/supervision/sessions/{s2}/candidates/{zelda}/end-test",
            403,
            "NO_SUPERVISOR_ACCESS",
        ),
        Case("end-test-unknown-candidate", "sup", "POST", SUP + "/999999/end-test", 404, "CANDIDATE_NOT_FOUND"),
        # Candidate
        Case(
            "join-wrong-code",
            "anon",
            "POST",
            "/api/candidate/join",
            404,
            "INVALID_SESSION_OR_CODE",
            body=with_(join_body, access_code="BBBB22"),
            message=INVALID_SESSION_OR_CODE,
        ),
        Case(
            "join-unknown-session",
            "anon",
            "POST",
            "/api/candidate/join",
            404,
            "INVALID_SESSION_OR_CODE",
            body=with_(join_body, session_id=999999),
            message=INVALID_SESSION_OR_CODE,
        ),
        Case(
            "join-other-sessions-code",
            "anon",
            "POST",
            "/api/candidate/join",
            404,
            "INVALID_SESSION_OR_CODE",
            body=with_(join_body, access_code=lambda ids: ids["code2"]),
            message=INVALID_SESSION_OR_CODE,
        ),
        Case(
            "join-candidate-of-other-session",
            "anon",
            "POST",
            "/api/candidate/join",
            404,
            "CANDIDATE_NOT_FOUND",
            body=with_(join_body, first_name="Zelda", last_name="ZORGLUB", birthdate="1999-08-07"),
        ),
        Case(
            "join-wrong-birthdate",
            "anon",
            "POST",
            "/api/candidate/join",
            404,
            "CANDIDATE_NOT_FOUND",
            body=with_(join_body, birthdate="2000-01-02"),
        ),
        Case(
            "join-wrong-name",
            "anon",
            "POST",
            "/api/candidate/join",
            404,
            "CANDIDATE_NOT_FOUND",
            body=with_(join_body, first_name="Nino"),
        ),
        Case(
            "join-presence-not-confirmed",
            "anon",
            "POST",
            "/api/candidate/join",
            403,
            "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION",
            body=join_body,
            message=NOT_AUTHORIZED_TO_JOIN,
        ),
        Case(
            "join-resume-already-requested",
            "anon",
            "POST",
            "/api/candidate/join",
            403,
            "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION",
            body=with_(join_body, first_name="Roger", last_name="REPRISE", birthdate="05/06/2004"),
        ),
        Case(
            "join-test-finished",
            "anon",
            "POST",
            "/api/candidate/join",
            409,
            "TEST_FINISHED",
            body=with_(join_body, first_name="Eric", last_name="FINI", birthdate="2005-07-06"),
        ),
        Case(
            "join-finalized-session",
            "anon",
            "POST",
            "/api/candidate/join",
            412,
            "SESSION_NOT_ACCESSIBLE",
            body=with_(
                join_body,
                session_id=lambda ids: ids["sf"],
                access_code=lambda ids: ids["codef"],
                first_name="Fanny",
                last_name="FINAL",
                birthdate="2000-01-01",
            ),
        ),
        Case(
            "start-presence-withdrawn",
            "withdrawn",
            "POST",
            "/api/candidate/start",
            403,
            "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION",
            body=consent_body,
            message=NOT_AUTHORIZED_TO_JOIN,
        ),
        Case(
            "start-test-ended",
            "ended",
            "POST",
            "/api/candidate/start",
            409,
            "TEST_ENDED_BY_SUPERVISOR",
            body=consent_body,
        ),
        Case("test-ended-by-supervisor", "ended", "GET", "/api/candidate/test", 409, "TEST_ENDED_BY_SUPERVISOR"),
        Case(
            "answers-ended-by-supervisor",
            "ended",
            "POST",
            "/api/candidate/answers",
            409,
            "TEST_ENDED_BY_SUPERVISOR",
            body=answer_body,
        ),
        Case(
            "answers-question-not-current",
            "running",
            "POST",
            "/api/candidate/answers",
            409,
            "QUESTION_NOT_CURRENT",
            body=with_(answer_body, question_id="zz99"),
        ),
        Case(
            "answers-not-started", "ready", "POST", "/api/candidate/answers", 409, "TEST_NOT_STARTED", body=answer_body
        ),
        # The routes themselves
        Case("unknown-api-route", "staff_a", "GET", "/api/nowhere", 404, "NOT_FOUND"),
        Case("wrong-method", "staff_a", "PUT", "/api/sessions/{s1}", 405, "METHOD_NOT_ALLOWED", body=const({})),
    ]


CASES = generic_cases() + field_cases() + unauthenticated_cases() + csrf_cases() + domain_cases()


async def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


# ---------------------------------------------------------------- running a case


async def send(scene: Scene, case: Case, language: str | None = None) -> httpx.Response:
    ids = scene.ids
    path = case.path.format(**ids)
    headers = case.headers
    if language is not None:
        headers = {**({"Origin": ORIGIN} if headers is None else headers), "Accept-Language": language}
    kwargs: dict[str, Any] = {}
    if isinstance(case.body, bytes):
        kwargs["content"] = case.body
        kwargs["headers"] = {"Content-Type": case.content_type or "application/json"}
    elif case.body is not None and case.method != "GET":
        kwargs["json"] = case.body(ids)
    async with scene.client(case.who, headers) as c:
        return await c.request(case.method, path, **kwargs)


def assert_clean_error(r: httpx.Response, scene: Scene, who: str, french: bool = True) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict) and set(body["error"]) == {"code", "message"}, body
    code, message = body["error"]["code"], body["error"]["message"]
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code)
    assert isinstance(message, str) and message.strip(), message
    assert bool(FRENCH.search(message)) or not french, message
    lowered = r.text.lower()
    for leak in LEAKS:
        assert leak not in lowered, (leak, r.text)
    foreign = scene.secrets_a if who in ("staff_b", "sup_b") else scene.secrets_b
    for secret in foreign:
        assert secret.lower() not in lowered, (secret, r.text)
    return body


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_refusal(scene: Scene, case: Case) -> None:
    _forget_attempts(scene.app)
    before = digest(scene.app)
    r = await send(scene, case)
    assert r.status_code == case.status, r.text
    body = assert_clean_error(r, scene, case.who)
    assert body["error"]["code"] == case.code, body
    if case.field is not None:
        assert body.get("field") == case.field, body
        assert case.field in body["error"]["message"]
    if case.message is not None:
        assert body["error"]["message"] == case.message
    if case.rows is not None:
        assert [(row["line"], row["field"]) for row in body["rows"]] == list(case.rows), body
        assert all(isinstance(row["message"], str) and row["message"] for row in body["rows"])
    if case.status == 429 or "retry_after_seconds" in body:
        raise AssertionError(f"unexpected rate limit: {body}")
    assert digest(scene.app) == before, "a refused request changed the database"


def _in_english(french: str) -> str:
    token = i18n.current.set("en")
    try:
        return i18n.gettext(french)
    finally:
        i18n.current.reset(token)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_refusal_in_english(scene: Scene, case: Case) -> None:
    """The same refusal asked in French then in English: same status, code and details, the
    words translated (the French run is the contract's, checked by test_refusal)."""
    _forget_attempts(scene.app)
    before = digest(scene.app)
    french = await send(scene, case, "fr")
    _forget_attempts(scene.app)
    english = await send(scene, case, "en-GB,en;q=0.9")
    assert english.status_code == french.status_code == case.status, english.text
    fr_body = assert_clean_error(french, scene, case.who)
    en_body = assert_clean_error(english, scene, case.who, french=False)
    fr_words, en_words = fr_body["error"].pop("message"), en_body["error"].pop("message")
    assert en_words != fr_words, en_words
    if case.message is not None:
        assert en_words == _in_english(case.message) != case.message
    if case.field is not None:
        assert case.field in en_words
    rows = en_body.pop("rows", None), fr_body.pop("rows", None)
    if rows[0] is not None:
        assert [(r["line"], r["field"]) for r in rows[0]] == [(r["line"], r["field"]) for r in rows[1] or []]
        assert [r["message"] for r in rows[0]] != [r["message"] for r in rows[1] or []]
    assert en_body == fr_body
    assert digest(scene.app) == before, "a refused request changed the database"


# ---------------------------------------------------------------- same answers


async def _post(scene: Scene, who: str, path: str, body: dict[str, Any]) -> httpx.Response:
    async with scene.client(who) as c:
        return await c.post(path, json=body)


async def test_unknown_session_and_wrong_password_answer_alike(scene: Scene) -> None:
    _forget_attempts(scene.app)
    ids = scene.ids
    wrong = await _post(
        scene, "outsider", "/api/supervision/access", {"session_id": ids["s1"], "supervisor_password": "C-BBBBB"}
    )
    unknown = await _post(
        scene, "outsider", "/api/supervision/access", {"session_id": 999999, "supervisor_password": ids["pw1"]}
    )
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.json()["error"] == {"code": "INCORRECT_DATA", "message": INCORRECT_DATA}
    assert wrong.headers.get("set-cookie") == unknown.headers.get("set-cookie")


async def test_unknown_session_and_wrong_code_answer_alike(scene: Scene) -> None:
    _forget_attempts(scene.app)
    ids = scene.ids
    base = join_body(ids)
    wrong = await _post(scene, "anon", "/api/candidate/join", base | {"access_code": "BBBB22"})
    unknown = await _post(scene, "anon", "/api/candidate/join", base | {"session_id": 999999})
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.json()["error"] == {"code": "INVALID_SESSION_OR_CODE", "message": INVALID_SESSION_OR_CODE}
    # No listening cookie either way: nothing tells which part was wrong.
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers


async def test_unknown_email_and_wrong_password_answer_alike(scene: Scene) -> None:
    _forget_attempts(scene.app)
    wrong = await _post(scene, "anon", "/api/auth/login", {"email": "admin@a.fr", "password": "mauvais123"})
    unknown = await _post(scene, "anon", "/api/auth/login", {"email": "inconnu@a.fr", "password": "mauvais123"})
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())


OTHER_SESSION_ROUTES = [
    ("presence", "sup", "POST", SUP + "/{cid}/presence", {"authorized": True}),
    ("authorize-resume", "sup", "POST", SUP + "/{cid}/authorize-resume", None),
    ("end-test", "sup", "POST", SUP + "/{cid}/end-test", None),
    ("pause", "sup", "POST", SUP + "/{cid}/pause", None),
    ("resume", "sup", "POST", SUP + "/{cid}/resume", None),
    ("adjust-time", "sup", "POST", SUP + "/{cid}/adjust-time", {"minutes": 5, "reason": "Panne"}),
    ("remove", "staff_a", "DELETE", "/api/sessions/{s1}/candidates/{cid}", None),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "body"), [r[1:] for r in OTHER_SESSION_ROUTES], ids=[r[0] for r in OTHER_SESSION_ROUTES]
)
async def test_other_sessions_candidate_answers_like_unknown(
    scene: Scene, who: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = digest(scene.app)
    answers = []
    for cid in (scene.ids["zelda"], 999999):
        async with scene.client(who) as c:
            r = await c.request(method, path.format(**scene.ids, cid=cid), json=body)
        answers.append((r.status_code, r.json()))
        assert_clean_error(r, scene, who)
    assert answers[0] == answers[1] == (404, answers[0][1])
    assert answers[0][1]["error"]["code"] == "CANDIDATE_NOT_FOUND"
    assert digest(scene.app) == before


async def test_ending_an_ended_test_again_changes_nothing(scene: Scene) -> None:
    before, log = digest(scene.app), await event_log(scene.app, scene.ids["s1"])
    async with scene.client("sup") as c:
        r = await c.post(f"/api/supervision/sessions/{scene.ids['s1']}/candidates/{scene.ids['eric']}/end-test")
    assert r.status_code == 200 and r.json()["candidate"]["status"] == "ended_by_supervisor"
    assert digest(scene.app) == before
    assert await event_log(scene.app, scene.ids["s1"]) == log


async def test_the_scene_is_still_what_it_was(scene: Scene) -> None:
    """After every refusal, the statuses are those the scene built (nothing slipped through)."""
    async with scene.client("staff_a") as c:
        detail = (await c.get(f"/api/sessions/{scene.ids['s1']}")).json()
    statuses = {
        x["first_name"]: (x["status"], x["authorized_to_start"], x["resume_requested"]) for x in detail["candidates"]
    }
    assert statuses == {
        "Nina": ("not_started", False, False),
        "Rémi": ("not_started", True, False),
        "Wanda": ("not_started", False, False),
        "Rita": ("in_progress", False, False),
        "Roger": ("in_progress", False, True),
        "Eric": ("ended_by_supervisor", False, False),
    }
    assert detail["session"]["status"] == "created"


async def test_own_referer_without_origin_is_accepted(scene: Scene) -> None:
    """The control for the CSRF rows: lacking Origin, our own Referer is enough."""
    path = f"/api/supervision/sessions/{scene.ids['s1']}/candidates/{scene.ids['nina']}/presence"
    before = digest(scene.app)
    async with scene.client("sup", {"Referer": ORIGIN + "/surveillance/session"}) as c:
        r = await c.post(path, json={"authorized": False})
    assert r.status_code == 200, r.text
    assert digest(scene.app) == before  # Nina was not confirmed: unticking again changes nothing
