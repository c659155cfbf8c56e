"""Incidents over HTTP: the candidate's alert, the supervisors' decisions and reports,
and « Terminer le test » with its reason."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import alerts, closing, reports
from app.errors import InvalidPayload
from app.http import candidate_claim, json_body, json_response, path_id, services_of, text, user_id
from app.i18n import N_
from vocabulary import AlertCategory, ReportCategory

log = logging.getLogger("surveillance.supervision")


def choice(body: dict[str, Any], name: str, allowed: Iterable[str]) -> str:
    value = body.get(name)
    options = list(allowed)
    if not isinstance(value, str) or value not in options:
        raise InvalidPayload(name, N_("valeur attendue parmi : %(options)s."), options=", ".join(options))
    return value


def reason_of(body: dict[str, Any]) -> reports.Reason:
    category = choice(body, "category", ReportCategory)
    return reports.Reason(category, text(body, "comment", max_length=reports.REPORT_COMMENT_MAX, required=False))


# ---------------------------------------------------------------- candidate


async def raise_alert(request: Request) -> Response:
    body = await json_body(request)
    question_id = text(body, "question_id", max_length=20)
    category = choice(body, "category", AlertCategory)
    # « Autre » says nothing by itself: its comment is required.
    comment = text(body, "comment", max_length=alerts.COMMENT_MAX, required=category == AlertCategory.OTHER)
    claim = candidate_claim(request)
    services = services_of(request)
    state = await services.db.write(
        lambda tx: alerts.raise_alert(tx, claim, question_id, category, comment, services.rules)
    )
    return json_response(state, 201)


# ---------------------------------------------------------------- supervisors


def _decision(validate: bool) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        uid, sid, aid = user_id(request), path_id(request, "sid"), path_id(request, "aid")
        services = services_of(request)
        result = await services.db.write(lambda tx: alerts.decide(tx, sid, aid, uid, validate, services.rules))
        action = "validate_alert" if validate else "refuse_alert"
        log.info("supervisor action", extra={"action": action, "session_id": sid, "alert_id": aid, "actor": uid})
        return json_response(result)

    return endpoint


async def add_report(request: Request) -> Response:
    uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
    reason = reason_of(await json_body(request))
    services = services_of(request)
    report = await services.db.write(lambda tx: reports.add_report(tx, sid, cid, uid, reason, services.rules))
    return json_response({"report": report}, 201)


async def edit_report(request: Request) -> Response:
    uid, sid, cid, rid = user_id(request), path_id(request, "sid"), path_id(request, "id"), path_id(request, "rid")
    body = await json_body(request)
    if "category" not in body and "comment" not in body:
        raise InvalidPayload("category", N_("indiquez la catégorie ou le commentaire à modifier."))
    category = choice(body, "category", ReportCategory) if "category" in body else None
    comment = None
    if "comment" in body:
        comment = text(body, "comment", max_length=reports.REPORT_COMMENT_MAX, required=False)
    services = services_of(request)
    report = await services.db.write(
        lambda tx: reports.edit_report(tx, sid, cid, rid, uid, category, comment, services.rules)
    )
    return json_response({"report": report})


async def remove_report(request: Request) -> Response:
    uid, sid, cid, rid = user_id(request), path_id(request, "sid"), path_id(request, "id"), path_id(request, "rid")
    services = services_of(request)
    await services.db.write(lambda tx: reports.remove_report(tx, sid, cid, rid, uid, services.rules))
    return Response(status_code=204)


async def end_test(request: Request) -> Response:
    """« Terminer le test »: the body's reason is optional so that older clients keep working."""
    uid, sid, cid = user_id(request), path_id(request, "sid"), path_id(request, "id")
    body = await json_body(request)
    reason = reason_of(body) if body else None
    services = services_of(request)
    candidate = await services.db.write(lambda tx: closing.end_test(tx, sid, cid, uid, reason, services.rules))
    log.info("supervisor action", extra={"action": "end_test", "session_id": sid, "candidate_id": cid, "actor": uid})
    return json_response({"candidate": candidate})


_base = "/api/supervision/sessions/{sid}"
routes = [
    Route("/api/candidate/alerts", raise_alert, methods=["POST"]),
    Route(_base + "/alerts/{aid}/validate", _decision(True), methods=["POST"]),
    Route(_base + "/alerts/{aid}/refuse", _decision(False), methods=["POST"]),
    Route(_base + "/candidates/{id}/reports", add_report, methods=["POST"]),
    Route(_base + "/candidates/{id}/reports/{rid}", edit_report, methods=["PATCH"]),
    Route(_base + "/candidates/{id}/reports/{rid}", remove_report, methods=["DELETE"]),
]
