"""An exam day planned through the public surface, as a centre and its supervisors would:
accounts by signup, the centre by the CLI, sessions and candidates by the API (CSV
import), supervisor access with the session password, presence confirmed by a supervisor."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from typing import Any

from bench.stack import VENV_BIN
from bench.wire import HttpClient

PASSWORD = "motdepasse1"
BIRTH = "2000-01-01"


@dataclass
class Endpoint:
    host: str
    port: int


@dataclass
class Session:
    id: int
    access_code: str
    supervisor_password: str
    candidates: list[dict[str, Any]] = field(default_factory=list)  # id, last_name, first_name


@dataclass
class Supervisor:
    index: int
    email: str
    sid: int
    server: int
    cookies: dict[str, str]


@dataclass
class Day:
    sessions: list[Session]
    supervisors: list[Supervisor]
    staff_cookies: dict[str, str]

    def session(self, sid: int) -> Session:
        return next(s for s in self.sessions if s.id == sid)


async def _gather_limited(coros: list[Any], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with gate:
            return await c

    return list(await asyncio.gather(*(one(c) for c in coros)))


async def signup(ep: Endpoint, email: str, first: str, last: str) -> HttpClient:
    client = HttpClient(ep.host, ep.port)
    r = await client.post(
        "/api/auth/signup", {"email": email, "password": PASSWORD, "first_name": first, "last_name": last}
    )
    if r.status != 201:
        raise RuntimeError(f"signup {email}: {r.status} {r.body[:200]!r}")
    return client


async def plan_day(
    endpoints: list[Endpoint],
    env: dict[str, str],
    *,
    sessions: int,
    candidates_per_session: int,
    supervisors_per_session: int,
    confirm_presence: bool = True,
    label: str = "bench",
) -> Day:
    first = endpoints[0]
    staff = await signup(first, f"staff@{label}.test", "Alice", "Martin")
    out = subprocess.run(
        [str(VENV_BIN / "surveillance"), "centre", "create", "Centre de Banc", "--admin", f"staff@{label}.test"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    me = (await staff.get("/api/me")).json()
    centre_id = me["centres"][0]["id"]
    assert "créé" in out.stdout, out.stdout

    async def make_session(n: int) -> Session:
        client = HttpClient(first.host, first.port)
        client.cookies.update(staff.cookies)
        r = await client.post(
            f"/api/centres/{centre_id}/sessions",
            {
                "address": "1 rue du Banc",
                "room": f"Salle {n}",
                "examiner": "Examinateur",
                "date": "2021-12-28",
                "time": "11:00",
            },
        )
        if r.status != 201:
            raise RuntimeError(f"session: {r.status} {r.body[:200]!r}")
        body = r.json()["session"]
        rows = "".join(f"CAND{n:03d}X{i:04d};Prenom{i};01/01/2000;\n" for i in range(candidates_per_session))
        r = await client.request(
            "POST",
            f"/api/sessions/{body['id']}/candidates/import",
            raw=("nom;prenom;date_naissance;temps_majore\n" + rows).encode(),
            content_type="text/csv",
        )
        if r.status != 201:
            raise RuntimeError(f"import: {r.status} {r.body[:200]!r}")
        detail = (await client.get(f"/api/sessions/{body['id']}")).json()
        client.close()
        s = Session(body["id"], body["access_code"], body["supervisor_password"])
        s.candidates = [
            {"id": c["id"], "last_name": c["last_name"], "first_name": c["first_name"]} for c in detail["candidates"]
        ]
        return s

    made = await _gather_limited([make_session(n) for n in range(sessions)], 8)
    staff.close()

    async def make_supervisor(index: int) -> Supervisor:
        s = made[index // supervisors_per_session]
        server = index % len(endpoints)
        ep = endpoints[server]
        email = f"sup{index:05d}@{label}.test"
        client = await signup(ep, email, f"Surv{index}", "Eillant")
        r = await client.post(
            "/api/supervision/access", {"session_id": s.id, "supervisor_password": s.supervisor_password}
        )
        if r.status != 204:
            raise RuntimeError(f"access: {r.status} {r.body[:200]!r}")
        client.close()
        return Supervisor(index, email, s.id, server, dict(client.cookies))

    sups = await _gather_limited([make_supervisor(i) for i in range(sessions * supervisors_per_session)], 8)
    day = Day(made, sups, dict(staff.cookies))
    if confirm_presence:
        await confirm_all(day, endpoints)
    return day


async def confirm_all(day: Day, endpoints: list[Endpoint]) -> None:
    """The first supervisor of each session ticks every candidate present."""

    async def confirm(s: Session) -> None:
        sup = next(x for x in day.supervisors if x.sid == s.id)
        ep = endpoints[sup.server]
        client = HttpClient(ep.host, ep.port)
        client.cookies.update(sup.cookies)
        for c in s.candidates:
            r = await client.post(
                f"/api/supervision/sessions/{s.id}/candidates/{c['id']}/presence", {"authorized": True}
            )
            if r.status != 200:
                raise RuntimeError(f"presence: {r.status} {r.body[:200]!r}")
        client.close()

    await _gather_limited([confirm(s) for s in day.sessions], 16)


async def snapshots(day: Day, endpoints: list[Endpoint], only: set[int] | None = None) -> dict[int, dict[str, Any]]:
    """The database's view of every session, read through GET /api/supervision/sessions/{sid}."""

    async def one(s: Session) -> tuple[int, dict[str, Any]]:
        sup = next(x for x in day.supervisors if x.sid == s.id)
        ep = endpoints[sup.server]
        client = HttpClient(ep.host, ep.port)
        client.cookies.update(sup.cookies)
        r = await client.get(f"/api/supervision/sessions/{s.id}")
        client.close()
        if r.status != 200:
            raise RuntimeError(f"snapshot: {r.status} {r.body[:200]!r}")
        return s.id, r.json()

    chosen = [s for s in day.sessions if only is None or s.id in only]
    return dict(await _gather_limited([one(s) for s in chosen], 16))
