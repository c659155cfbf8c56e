"""The espace surveillant's JSON API: access, snapshot and the three actions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import supervision
from app.actions.rules import Rules
from app.db import Tx
from app.http import (
    boolean,
    json_body,
    json_response,
    path_id,
    services_of,
    session_number,
    spend_budget,
    text,
    user_id,
)
from app.routes import incidents

# One line per supervisor action, for operators (the event log is the audit trail).
log = logging.getLogger("surveillance.supervision")


async def access(request: Request) -> Response:
    uid = user_id(request)
    await spend_budget(request, "access")
    body = await json_body(request)
    session_id = session_number(body, "session_id")
    password = text(body, "supervisor_password", max_length=20)
    services = services_of(request)
    await services.db.write(lambda tx: supervision.grant_supervision(tx, session_id, password, uid, services.rules))
    log.info("supervisor action", extra={"action": "access", "session_id": session_id, "actor": uid})
    return Response(status_code=204)


async def snapshot(request: Request) -> Response:
    uid, session_id = user_id(request), path_id(request, "sid")
    services = services_of(request)
    return json_response(await services.db.read(lambda db: supervision.snapshot(db, session_id, uid, services.rules)))


CandidateAction = Callable[[Tx, int, int, int, Rules], dict[str, Any]]


def _on_candidate(act: CandidateAction) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        uid, session_id, candidate_id = user_id(request), path_id(request, "sid"), path_id(request, "id")
        services = services_of(request)
        candidate = await services.db.write(lambda tx: act(tx, session_id, candidate_id, uid, services.rules))
        log.info(
            "supervisor action",
            extra={"action": act.__name__, "session_id": session_id, "candidate_id": candidate_id, "actor": uid},
        )
        return json_response({"candidate": candidate})

    return endpoint


async def presence(request: Request) -> Response:
    uid, session_id, candidate_id = user_id(request), path_id(request, "sid"), path_id(request, "id")
    authorized = boolean(await json_body(request), "authorized")
    services = services_of(request)
    candidate = await services.db.write(
        lambda tx: supervision.set_presence(tx, session_id, candidate_id, uid, authorized, services.rules)
    )
    action = "confirm_presence" if authorized else "withdraw_presence"
    log.info(
        "supervisor action",
        extra={"action": action, "session_id": session_id, "candidate_id": candidate_id, "actor": uid},
    )
    return json_response({"candidate": candidate})


_base = "/api/supervision/sessions/{sid}"
routes = [
    Route("/api/supervision/access", access, methods=["POST"]),
    Route(_base, snapshot, methods=["GET"]),
    Route(_base + "/candidates/{id}/presence", presence, methods=["POST"]),
    Route(_base + "/candidates/{id}/authorize-resume", _on_candidate(supervision.authorize_resume), methods=["POST"]),
    Route(_base + "/candidates/{id}/end-test", incidents.end_test, methods=["POST"]),
]
