"""The two websockets: the app checks who may listen, realtime/ runs the feed."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from app.actions import candidate_test, guards, logins
from app.errors import DomainError
from app.http import candidate_claim, current_login, services_of
from app.security import origin_allowed
from app.services import Services
from realtime.sockets import serve_candidate_feed, serve_session_feed
from vocabulary import CloseCode

CLOSE_POLICY = CloseCode.POLICY
CLOSE_NOT_LOGGED_IN = CloseCode.NOT_LOGGED_IN
CLOSE_NO_ACCESS = CloseCode.NO_ACCESS


async def _admit(websocket: WebSocket, services: Services) -> bool:
    # Close codes only exist once accepted, so refusals accept then close with a reason.
    await websocket.accept()
    if not origin_allowed(websocket.headers, websocket.url.scheme, services.settings.allowed_origins):
        await websocket.close(CLOSE_POLICY, "Origine refusée.")
        return False
    return True


async def supervisor_live(websocket: WebSocket) -> None:
    services = services_of(websocket)
    if not await _admit(websocket, services):
        return
    claim = current_login(websocket)
    if claim is None:
        await websocket.close(CLOSE_NOT_LOGGED_IN, "Vous devez être connecté.")
        return
    raw = websocket.path_params.get("sid", "")
    session_id = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdecimal() and len(raw) < 10 else 0
    try:
        await services.db.read(lambda db: guards.require_supervisor(db, session_id, claim.user_id))
    except DomainError:
        await websocket.close(CLOSE_NO_ACCESS, "Accès refusé à cette session.")
        return
    await services.presence.supervisor_connected(session_id, claim.user_id)
    feed = asyncio.ensure_future(
        serve_session_feed(
            websocket,
            services.hub,
            session_id,
            services.session_feed,
            heartbeat_seconds=services.settings.supervisor_heartbeat_seconds,
        )
    )
    watch = asyncio.ensure_future(_until_logged_out(services, claim))
    try:
        await asyncio.wait((feed, watch), return_when=asyncio.FIRST_COMPLETED)
        if watch.done() and not watch.cancelled() and watch.exception() is None:
            # The login was ended (logout, « Mon compte », a password change): a copied
            # cookie must not keep a dashboard open either.
            feed.cancel()
            await asyncio.gather(feed, return_exceptions=True)
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_NOT_LOGGED_IN, "Vous avez été déconnecté.")
        elif feed.done() and not feed.cancelled() and (failure := feed.exception()) is not None:
            raise failure
    finally:
        for task in (feed, watch):
            task.cancel()
        await asyncio.gather(feed, watch, return_exceptions=True)
        services.presence.supervisor_disconnected(session_id, claim.user_id)


async def _until_logged_out(services: Services, login: logins.Login) -> None:
    every = services.settings.login_recheck_seconds
    while True:
        await asyncio.sleep(every)
        if not await logins.still_open(services.db, login, max_age=every / 2):
            return


async def candidate_live(websocket: WebSocket) -> None:
    services = services_of(websocket)
    if not await _admit(websocket, services):
        return
    claim = candidate_claim(websocket)
    if claim is None or not await services.db.read(lambda db: candidate_test.holds_seat(db, claim)):
        await websocket.close(CLOSE_NOT_LOGGED_IN, "Rejoignez d'abord la session.")
        return
    await services.presence.candidate_connected(claim.session_id, claim.candidate_id)
    try:
        await serve_candidate_feed(
            websocket, services.hub, claim.session_id, claim.candidate_id, services.candidate_feed
        )
    finally:
        services.presence.candidate_disconnected(claim.session_id, claim.candidate_id)


routes = [
    WebSocketRoute("/api/supervision/sessions/{sid}/live", supervisor_live),
    WebSocketRoute("/api/candidate/live", candidate_live),
]
