"""Centre staff: plan sessions, enrol candidates, the supervisor kit, finalisation."""

from __future__ import annotations

from typing import Any

import anyio
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import lifecycle, roster, views
from app.db import Tx
from app.errors import NOT_A_MEMBER, err, refuse
from app.http import (
    MAX_UPLOAD_BYTES,
    clock,
    date,
    integer,
    json_body,
    json_response,
    path_id,
    read_body,
    services,
    text,
    user_id,
)
from app.kit import KitInfo, render_kit
from app.models import Candidate, Centre, ExamSession


def _session_json(db: Session, s: ExamSession) -> dict[str, Any]:
    return views.session_view(s, views.centre_name(db, s.centre_id), with_codes=True)


async def list_sessions(request: Request) -> Response:
    uid, cid = user_id(request), path_id(request, "cid")

    def load(db: Session) -> list[dict[str, Any]]:
        if db.get(Centre, cid) is None:
            raise err(NOT_A_MEMBER)
        lifecycle._require_member(db, cid, uid)
        rows = db.execute(
            select(ExamSession)
            .where(col(ExamSession.centre_id) == cid)
            .order_by(col(ExamSession.date).desc(), col(ExamSession.id).desc())
        ).scalars()
        return [_session_json(db, s) for s in rows]

    return json_response({"sessions": await services(request).db.read(load)})


async def create_session(request: Request) -> Response:
    uid, cid = user_id(request), path_id(request, "cid")
    body = await json_body(request)
    address = text(body, "address", max_length=300)
    room = text(body, "room", max_length=200)
    examiner = text(body, "examiner", max_length=200)
    day, hour = date(body, "date"), clock(body, "time")

    def create(tx: Tx) -> dict[str, Any]:
        s = lifecycle.create_session(tx, cid, uid, address=address, room=room, examiner=examiner, date=day, time=hour)
        return _session_json(tx.db, s)

    return json_response({"session": await services(request).db.write(create)}, 201)


async def session_detail(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    rules = services(request).rules

    def load(db: Session) -> dict[str, Any]:
        s = lifecycle.member_session(db, sid, uid)
        candidates = list(db.execute(select(Candidate).where(col(Candidate.session_id) == sid)).scalars())
        candidates.sort(key=views.sort_key)
        return {
            "session": _session_json(db, s),
            "candidates": [views.candidate_view(c, rules.test_minutes, rules.questions_per_test) for c in candidates],
        }

    return json_response(await services(request).db.read(load))


async def add_candidate(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    body = await json_body(request)
    enrolment = lifecycle.Enrolment(
        last_name=text(body, "last_name"),
        first_name=text(body, "first_name"),
        birthdate=date(body, "birthdate", past=True),
        extra_time_percentage=integer(body, "extra_time_percentage", low=0, high=200, default=0),
    )
    s = services(request)
    candidate = await s.db.write(lambda tx: lifecycle.enrol(tx, sid, uid, enrolment, s.rules))
    return json_response({"candidate": candidate}, 201)


async def import_candidates(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    raw = await read_body(request, MAX_UPLOAD_BYTES)
    decoded = roster.decode(raw)
    if decoded is None:
        raise refuse(422, "INVALID_CSV", "Encodage du fichier non reconnu (UTF-8 attendu).", extra={"rows": []})
    rows, problems = roster.parse(decoded)
    if problems:
        raise refuse(
            422,
            "INVALID_CSV",
            "Le fichier contient des erreurs : aucun candidat n'a été importé.",
            extra={"rows": [p.json() for p in problems]},
        )
    s = services(request)
    count = await s.db.write(lambda tx: lifecycle.enrol_many(tx, sid, uid, rows, s.rules))
    return json_response({"imported": count}, 201)


async def remove_candidate(request: Request) -> Response:
    uid, sid, cand = user_id(request), path_id(request, "sid"), path_id(request, "id")
    s = services(request)
    await s.db.write(lambda tx: lifecycle.remove_candidate(tx, sid, cand, uid, s.rules))
    return Response(status_code=204)


async def supervisor_kit(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")

    def load(db: Session) -> KitInfo:
        s = lifecycle.member_session(db, sid, uid)
        count = len(list(db.execute(select(col(Candidate.id)).where(col(Candidate.session_id) == sid))))
        assert s.id is not None
        return KitInfo(
            session_id=s.id,
            date=s.date,
            time=s.time,
            centre=views.centre_name(db, s.centre_id),
            address=s.address,
            room=s.room,
            examiner=s.examiner,
            supervisor_password=s.supervisor_password,
            access_code=s.access_code,
            candidate_count=count,
        )

    info = await services(request).db.read(load)
    pdf = await anyio.to_thread.run_sync(render_kit, info)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="kit-surveillant-session-{sid}.pdf"'},
    )


async def finalize(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    s = services(request)

    def run(tx: Tx) -> dict[str, Any]:
        return _session_json(tx.db, lifecycle.finalize(tx, sid, uid, s.rules))

    return json_response({"session": await s.db.write(run)})


routes = [
    Route("/api/centres/{cid}/sessions", list_sessions, methods=["GET"]),
    Route("/api/centres/{cid}/sessions", create_session, methods=["POST"]),
    Route("/api/sessions/{sid}", session_detail, methods=["GET"]),
    Route("/api/sessions/{sid}/candidates", add_candidate, methods=["POST"]),
    Route("/api/sessions/{sid}/candidates/import", import_candidates, methods=["POST"]),
    Route("/api/sessions/{sid}/candidates/{id}", remove_candidate, methods=["DELETE"]),
    Route("/api/sessions/{sid}/supervisor-kit.pdf", supervisor_kit, methods=["GET"]),
    Route("/api/sessions/{sid}/finalize", finalize, methods=["POST"]),
]
