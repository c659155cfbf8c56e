"""Room control for the session's supervisors: pause, resume, time, bulk, messages, kit."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import room
from app.errors import InvalidPayload
from app.http import attachment, integer, json_body, json_response, path_id, services_of, user_id
from app.i18n import N_
from app.kit import render_kit
from app.routes.incidents import reason_of

log = logging.getLogger("surveillance.supervision")


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidPayload(name, N_("doit être une chaîne de caractères."))
    return value


def _required_text(body: dict[str, Any], name: str) -> str:
    # Emptiness and length are the domain's refusals, each with its own code.
    return _optional_text(body, name) or ""


def _ids(body: dict[str, Any]) -> list[int] | None:
    """`candidate_ids` (a list of numbers) or `all_in_progress: true`, never both."""
    everyone = body.get("all_in_progress", False)
    if not isinstance(everyone, bool):
        raise InvalidPayload("all_in_progress", N_("doit valoir true ou false."))
    raw = body.get("candidate_ids")
    if everyone:
        if raw is not None:
            raise InvalidPayload("candidate_ids", N_("à omettre avec all_in_progress."))
        return None
    if not isinstance(raw, list) or not raw:
        raise InvalidPayload("candidate_ids", N_("liste des candidats sélectionnés attendue."))
    if len(raw) > room.BULK_MAX:
        raise InvalidPayload("candidate_ids", N_("%(limit)s candidats au maximum."), limit=room.BULK_MAX)
    if any(isinstance(i, bool) or not isinstance(i, int) or not 0 < i < 2**31 for i in raw):
        raise InvalidPayload("candidate_ids", N_("numéros de candidats attendus."))
    return [int(i) for i in raw]


def _logged(request: Request, action: str, **extra: Any) -> None:
    log.info("supervisor action", extra={"action": action, "actor": user_id(request), **extra})


async def pause(request: Request) -> Response:
    uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
    message = _optional_text(await json_body(request), "message")
    services = services_of(request)
    candidate = await services.db.write(lambda tx: room.pause(tx, sid, cid, uid, message, services.rules))
    _logged(request, "pause", session_id=sid, candidate_id=cid)
    return json_response({"candidate": candidate})


async def resume(request: Request) -> Response:
    uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
    services = services_of(request)
    candidate = await services.db.write(lambda tx: room.unpause(tx, sid, cid, uid, services.rules))
    _logged(request, "resume", session_id=sid, candidate_id=cid)
    return json_response({"candidate": candidate})


async def adjust_time(request: Request) -> Response:
    uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
    body = await json_body(request)
    # The range is the domain's refusal (MINUTES_OUT_OF_RANGE); here only the type.
    minutes = integer(body, "minutes", low=-(2**31), high=2**31)
    reason = _required_text(body, "reason")
    services = services_of(request)
    candidate = await services.db.write(lambda tx: room.adjust_time(tx, sid, cid, uid, minutes, reason, services.rules))
    _logged(request, "adjust_time", session_id=sid, candidate_id=cid)
    return json_response({"candidate": candidate})


async def pause_room(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    message = _optional_text(await json_body(request), "message")
    services = services_of(request)
    candidates = await services.db.write(lambda tx: room.pause_room(tx, sid, uid, message, services.rules))
    _logged(request, "pause_room", session_id=sid)
    return json_response({"candidates": candidates})


async def resume_room(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    services = services_of(request)
    candidates = await services.db.write(lambda tx: room.unpause_room(tx, sid, uid, services.rules))
    _logged(request, "resume_room", session_id=sid)
    return json_response({"candidates": candidates})


async def bulk(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    body = await json_body(request)
    action = body.get("action")
    if not isinstance(action, str):
        raise InvalidPayload("action", N_("champ obligatoire."))
    ids = _ids(body)
    message = _optional_text(body, "message")
    # Ending tests takes the reason « Terminer le test » takes (optional, as there).
    reason = reason_of(body) if "category" in body or "comment" in body else None
    services = services_of(request)
    candidates = await services.db.write(
        lambda tx: room.bulk(tx, sid, uid, action, ids, services.rules, message=message, reason=reason)
    )
    _logged(request, f"bulk_{action}", session_id=sid, count=len(candidates))
    return json_response({"candidates": candidates})


async def message(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    body = await json_body(request)
    text = _required_text(body, "text")
    to = body.get("candidate_id")
    if to is not None and (isinstance(to, bool) or not isinstance(to, int) or not 0 < to < 2**31):
        raise InvalidPayload("candidate_id", N_("numéro de candidat attendu."))
    services = services_of(request)
    sent = await services.db.write(lambda tx: room.send_message(tx, sid, uid, text, to, services.rules))
    _logged(request, "message", session_id=sid, candidate_id=to)
    return json_response({"message": sent}, 201)


async def supervisor_kit(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")

    info = await services_of(request).db.read(lambda db: room.supervisor_kit_info(db, sid, uid))
    pdf = await anyio.to_thread.run_sync(render_kit, info)
    return attachment(pdf, "application/pdf", f"kit-surveillant-session-{sid}.pdf")


_base = "/api/supervision/sessions/{sid}"
routes = [
    Route(_base + "/candidates/{id}/pause", pause, methods=["POST"]),
    Route(_base + "/candidates/{id}/resume", resume, methods=["POST"]),
    Route(_base + "/candidates/{id}/adjust-time", adjust_time, methods=["POST"]),
    Route(_base + "/pause", pause_room, methods=["POST"]),
    Route(_base + "/resume", resume_room, methods=["POST"]),
    Route(_base + "/bulk", bulk, methods=["POST"]),
    Route(_base + "/messages", message, methods=["POST"]),
    Route(_base + "/supervisor-kit.pdf", supervisor_kit, methods=["GET"]),
]
