"""The two websockets: the app checks who may listen, realtime/ runs the feed."""

from __future__ import annotations

from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from app.actions import candidate_test, guards
from app.errors import DomainError, OpenedElsewhere
from app.http import candidate_claim, current_login, services_of
from app.i18n import N_, gettext
from app.security import origin_allowed
from app.services import Services
from realtime.sockets import Handle, Verdict, serve_candidate_feed, serve_session_feed
from vocabulary import ENDED, Action, CloseCode, EventName, MessageType, SessionStatus

CLOSE_POLICY = CloseCode.POLICY
CLOSE_NOT_LOGGED_IN = CloseCode.NOT_LOGGED_IN
CLOSE_NO_ACCESS = CloseCode.NO_ACCESS

ELSEWHERE = (CloseCode.ELSEWHERE, N_("Votre test a été ouvert sur un autre poste."))
OVER = (CloseCode.OVER, N_("Votre test de certification est terminé."))
REVOKED = (CloseCode.REVOKED, N_("Votre accès à la surveillance de cette session a été retiré par le centre."))


def supervisor_verdict(user_id: int) -> Verdict:
    def judge(message: dict[str, Any]) -> tuple[int, str] | None:
        if (
            message.get("name") == EventName.SUPERVISORS_UPDATED
            and message.get("action") == Action.SUPERVISOR_REVOKED
            and message.get("revoked") == user_id
        ):
            return REVOKED
        return None

    return judge


def candidate_verdict(token: int) -> Verdict:
    """For a candidate socket holding join `token` (-1: a refused join, listening)."""

    def judge(message: dict[str, Any]) -> tuple[int, str] | None:
        session = message.get("session")
        if message.get("session_status") == SessionStatus.FINALIZED or (
            message.get("name") == EventName.SESSION_UPDATED
            and isinstance(session, dict)
            and session.get("status") == SessionStatus.FINALIZED
        ):
            return OVER
        candidate = message.get("candidate")
        if message.get("type") == MessageType.CANDIDATE and candidate is None:
            return OVER  # removed from the session
        join = message.get("join")
        if token >= 1 and isinstance(join, int) and join != token:
            return ELSEWHERE
        if isinstance(candidate, dict) and candidate.get("status") in ENDED:
            return OVER
        return None

    return judge


async def _admit(websocket: WebSocket, services: Services) -> bool:
    # Close codes only exist once accepted, so refusals accept then close with a reason.
    await websocket.accept()
    if not origin_allowed(websocket.headers, websocket.url.scheme, services.settings.allowed_origins):
        await websocket.close(CLOSE_POLICY, gettext("Origine refusée."))
        return False
    return True


async def supervisor_live(websocket: WebSocket) -> None:
    services = services_of(websocket)
    if not await _admit(websocket, services):
        return
    claim = current_login(websocket)
    if claim is None:
        await websocket.close(CLOSE_NOT_LOGGED_IN, gettext("Vous devez être connecté."))
        return
    raw = websocket.path_params.get("sid", "")
    session_id = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdecimal() and len(raw) < 10 else 0
    try:
        await services.db.read(lambda db: guards.require_supervisor(db, session_id, claim.user_id))
    except DomainError:
        await websocket.close(CLOSE_NO_ACCESS, gettext("Accès refusé à cette session."))
        return
    key, handle = ("supervisor", session_id, claim.user_id, 0), Handle()
    services.caps.enter(key, handle, services.settings.supervisor_sockets)
    # The login may be ended meanwhile (logout, « Mon compte », a password change): a copied
    # cookie must not keep a dashboard open either (checked for the whole process, app/logouts.py).
    services.logouts.hold(claim.session_id, handle, gettext("Vous avez été déconnecté."))
    try:
        await services.presence.supervisor_connected(session_id, claim.user_id)
        try:
            await serve_session_feed(
                websocket,
                services.hub,
                session_id,
                services.session_feed,
                heartbeat_seconds=services.settings.supervisor_heartbeat_seconds,
                handle=handle,
                verdict=supervisor_verdict(claim.user_id),
            )
        finally:
            services.presence.supervisor_disconnected(session_id, claim.user_id)
    finally:
        services.logouts.release(claim.session_id, handle)
        services.caps.leave(key, handle)


async def candidate_live(websocket: WebSocket) -> None:
    services = services_of(websocket)
    if not await _admit(websocket, services):
        return
    claim = candidate_claim(websocket)
    try:
        join = await services.db.read(lambda db: candidate_test.listening_join(db, claim))
    except OpenedElsewhere:
        await websocket.close(ELSEWHERE[0], gettext(ELSEWHERE[1]))
        return
    except DomainError:
        await websocket.close(CLOSE_NOT_LOGGED_IN, gettext("Rejoignez d'abord la session."))
        return
    assert claim is not None
    sid, cid = claim.session_id, claim.candidate_id
    key, handle = ("candidate", sid, cid, join), Handle()
    services.caps.enter(key, handle, services.settings.candidate_sockets)
    try:
        await services.presence.candidate_connected(sid, cid, join)
        try:
            await serve_candidate_feed(
                websocket,
                services.hub,
                sid,
                cid,
                services.candidate_feed.for_join(join),
                handle=handle,
                verdict=candidate_verdict(claim.token),
            )
        finally:
            services.presence.candidate_disconnected(sid, cid, join)
    finally:
        services.caps.leave(key, handle)


routes = [
    WebSocketRoute("/api/supervision/sessions/{sid}/live", supervisor_live),
    WebSocketRoute("/api/candidate/live", candidate_live),
]
