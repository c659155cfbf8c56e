"""The espace surveillant's JSON API: access, snapshot and the three actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import lifecycle, views
from app.db import Tx
from app.http import boolean, json_body, json_response, path_id, services, session_number, text, user_id

# One line per supervisor action, for operators (the event log is the audit trail).
log = logging.getLogger("surveillance.supervision")


async def access(request: Request) -> Response:
    uid = user_id(request)
    body = await json_body(request)
    session_id = session_number(body, "session_id")
    password = text(body, "supervisor_password", max_length=20)
    s = services(request)
    await s.db.write(lambda tx: lifecycle.grant_supervision(tx, session_id, password, uid, s.rules))
    log.info("supervisor action", extra={"action": "access", "session_id": session_id, "actor": uid})
    return Response(status_code=204)


async def snapshot(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    rules = services(request).rules

    def load(db: Session) -> dict[str, Any]:
        lifecycle.require_supervisor(db, sid, uid)
        data = views.snapshot(db, sid, rules.test_minutes, rules.questions_per_test)
        assert data is not None
        return data

    return json_response(await services(request).db.read(load))


Action = Callable[[Tx, int, int, int, lifecycle.Rules], dict[str, Any]]


def _action(act: Action) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
        s = services(request)
        candidate = await s.db.write(lambda tx: act(tx, sid, cid, uid, s.rules))
        log.info(
            "supervisor action", extra={"action": act.__name__, "session_id": sid, "candidate_id": cid, "actor": uid}
        )
        return json_response({"candidate": candidate})

    return endpoint


async def presence(request: Request) -> Response:
    uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
    authorized = boolean(await json_body(request), "authorized")
    s = services(request)
    candidate = await s.db.write(lambda tx: lifecycle.set_presence(tx, sid, cid, uid, authorized, s.rules))
    action = "confirm_presence" if authorized else "withdraw_presence"
    log.info("supervisor action", extra={"action": action, "session_id": sid, "candidate_id": cid, "actor": uid})
    return json_response({"candidate": candidate})


_base = "/api/supervision/sessions/{sid}"
routes = [
    Route("/api/supervision/access", access, methods=["POST"]),
    Route(_base, snapshot, methods=["GET"]),
    Route(_base + "/candidates/{id}/presence", presence, methods=["POST"]),
    Route(_base + "/candidates/{id}/authorize-resume", _action(lifecycle.authorize_resume), methods=["POST"]),
    Route(_base + "/candidates/{id}/end-test", _action(lifecycle.end_test), methods=["POST"]),
]
