"""Closing a session and its records: finalisation with its reasons and comment, the
procès-verbal PDF and the incident reports as CSV."""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import records
from app.actions import closing, reports
from app.errors import InvalidPayload
from app.http import attachment, json_body, json_response, path_id, services_of, text, user_id
from app.i18n import N_
from app.routes.incidents import reason_of


def _reasons(body: dict[str, Any]) -> dict[int, reports.Reason] | None:
    """None when the body names no reasons (the original contract's bodiless finalisation)."""
    if "reasons" not in body:
        return None
    raw = body["reasons"]
    if not isinstance(raw, list) or len(raw) > 1000:
        raise InvalidPayload("reasons", N_("doit être une liste de motifs."))
    reasons: dict[int, reports.Reason] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidPayload("reasons", N_("chaque motif est un objet {candidate_id, category, comment}."))
        cid = item.get("candidate_id")
        if isinstance(cid, bool) or not isinstance(cid, int) or not 0 < cid < 2**31:
            raise InvalidPayload("reasons", N_("candidate_id invalide."))
        if cid in reasons:
            raise InvalidPayload("reasons", N_("un seul motif par candidat."))
        reasons[cid] = reason_of(item)
    return reasons


async def finalize(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    body = await json_body(request)
    comment = text(body, "comment", max_length=closing.SESSION_COMMENT_MAX, required=False)
    reasons = _reasons(body)
    services = services_of(request)
    finalized = await services.db.write(lambda tx: closing.finalize(tx, sid, uid, comment, reasons, services.rules))
    return json_response({"session": finalized})


async def proces_verbal(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    services = services_of(request)
    record = await services.db.read(lambda db: records.load(db, sid, uid, services.rules, verbal=True))
    pdf = await anyio.to_thread.run_sync(records.render_pdf, record)
    return attachment(pdf, "application/pdf", f"proces-verbal-session-{sid}.pdf")


async def reports_csv(request: Request) -> Response:
    uid, sid = user_id(request), path_id(request, "sid")
    services = services_of(request)
    record = await services.db.read(lambda db: records.load(db, sid, uid, services.rules, verbal=False))
    return attachment(records.reports_csv(record), "text/csv; charset=utf-8", f"rapports-session-{sid}.csv")


routes = [
    Route("/api/sessions/{sid}/proces-verbal.pdf", proces_verbal, methods=["GET"]),
    Route("/api/sessions/{sid}/reports.csv", reports_csv, methods=["GET"]),
]
