"""Centre staff: plan sessions, enrol candidates, the supervisor kit, finalisation."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import roster
from app.actions import centres, reports, session_access
from app.errors import InvalidCsv, UnknownEncoding
from app.http import (
    MAX_UPLOAD_BYTES,
    attachment,
    clock,
    date,
    integer,
    json_body,
    json_response,
    path_id,
    read_body,
    services_of,
    text,
    user_id,
)
from app.kit import render_kit
from app.routes import records


async def list_sessions(request: Request) -> Response:
    uid, centre_id = user_id(request), path_id(request, "cid")
    sessions = await services_of(request).db.read(lambda db: centres.list_sessions(db, centre_id, uid))
    return json_response({"sessions": sessions})


async def create_session(request: Request) -> Response:
    uid, centre_id = user_id(request), path_id(request, "cid")
    body = await json_body(request)
    plan = centres.SessionPlan(
        address=text(body, "address", max_length=300),
        room=text(body, "room", max_length=200),
        examiner=text(body, "examiner", max_length=200),
        date=date(body, "date"),
        time=clock(body, "time"),
    )
    created = await services_of(request).db.write(lambda tx: centres.plan_session(tx, centre_id, uid, plan))
    return json_response({"session": created}, 201)


async def session_detail(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    services = services_of(request)
    return json_response(await services.db.read(lambda db: centres.session_detail(db, session_id, uid, services.rules)))


async def add_candidate(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    body = await json_body(request)
    enrolment = centres.Enrolment(
        last_name=text(body, "last_name"),
        first_name=text(body, "first_name"),
        birthdate=date(body, "birthdate", past=True),
        extra_time_percentage=integer(body, "extra_time_percentage", low=0, high=200, default=0),
    )
    services = services_of(request)
    candidate = await services.db.write(lambda tx: centres.enrol(tx, session_id, uid, enrolment, services.rules))
    return json_response({"candidate": candidate}, 201)


async def import_candidates(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    raw = await read_body(request, MAX_UPLOAD_BYTES)
    decoded = roster.decode(raw)
    if decoded is None:
        raise UnknownEncoding()
    rows, problems = roster.parse(decoded)
    if problems:
        raise InvalidCsv([p.json() for p in problems])
    services = services_of(request)
    count = await services.db.write(lambda tx: centres.enrol_many(tx, session_id, uid, rows, services.rules))
    return json_response({"imported": count}, 201)


async def remove_candidate(request: Request) -> Response:
    uid, session_id, candidate_id = user_id(request), path_id(request, "sid"), path_id(request, "id")
    services = services_of(request)
    await services.db.write(lambda tx: reports.remove_candidate(tx, session_id, candidate_id, uid, services.rules))
    return Response(status_code=204)


async def supervisor_kit(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    info = await services_of(request).db.read(lambda db: centres.kit_info(db, session_id, uid))
    pdf = await anyio.to_thread.run_sync(render_kit, info)
    return attachment(pdf, "application/pdf", f"kit-surveillant-session-{session_id}.pdf")


async def rotate_password(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    services = services_of(request)
    rotated = await services.db.write(lambda tx: session_access.rotate_password(tx, session_id, uid))
    response = json_response({"session": rotated})
    response.headers["Cache-Control"] = "no-store"  # carries the new password
    return response


async def supervisors(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    listed = await services_of(request).db.read(lambda db: session_access.list_supervisors(db, session_id, uid))
    return json_response({"supervisors": listed})


async def revoke_supervisor(request: Request) -> Response:
    uid, session_id, supervisor = user_id(request), path_id(request, "sid"), path_id(request, "uid")
    await services_of(request).db.write(lambda tx: session_access.revoke(tx, session_id, supervisor, uid))
    return Response(status_code=204)


routes = [
    Route("/api/centres/{cid}/sessions", list_sessions, methods=["GET"]),
    Route("/api/centres/{cid}/sessions", create_session, methods=["POST"]),
    Route("/api/sessions/{sid}", session_detail, methods=["GET"]),
    Route("/api/sessions/{sid}/candidates", add_candidate, methods=["POST"]),
    Route("/api/sessions/{sid}/candidates/import", import_candidates, methods=["POST"]),
    Route("/api/sessions/{sid}/candidates/{id}", remove_candidate, methods=["DELETE"]),
    Route("/api/sessions/{sid}/supervisor-kit.pdf", supervisor_kit, methods=["GET"]),
    Route("/api/sessions/{sid}/finalize", records.finalize, methods=["POST"]),
    Route("/api/sessions/{sid}/supervisor-password", rotate_password, methods=["POST"]),
    Route("/api/sessions/{sid}/supervisors", supervisors, methods=["GET"]),
    Route("/api/sessions/{sid}/supervisors/{uid}", revoke_supervisor, methods=["DELETE"]),
]
