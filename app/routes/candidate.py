"""The candidate's JSON API: join, consent and start, one question at a time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.actions import candidate_test
from app.errors import DomainError, InvalidPayload
from app.http import (
    boolean,
    candidate_claim,
    date,
    error_response,
    json_body,
    json_response,
    services_of,
    session_number,
    set_candidate_cookie,
    spend_budget,
    text,
)
from app.i18n import N_


async def join(request: Request) -> Response:
    await spend_budget(request, "join")
    body = await json_body(request)
    session_id = session_number(body, "session_id")
    code = text(body, "access_code", max_length=20)
    first = text(body, "first_name")
    last = text(body, "last_name")
    birth = date(body, "birthdate")
    services = services_of(request)
    try:
        held = candidate_claim(request)
        joined = await services.db.write(
            lambda tx: candidate_test.join(tx, session_id, code, first, last, birth, services.rules, held)
        )
    except DomainError as refusal:
        response = error_response(refusal)
        claim = refusal.private.get("claim")
        if claim is not None:
            set_candidate_cookie(response, request, claim)
        return response
    response = json_response({"candidate": joined.candidate, "next": joined.next})
    set_candidate_cookie(response, request, joined.claim)
    return response


async def start(request: Request) -> Response:
    body = await json_body(request)
    consent = body.get("consent") is True
    if "consent" in body and not isinstance(body["consent"], bool):
        boolean(body, "consent")
    claim = candidate_claim(request)
    services = services_of(request)
    candidate = await services.db.write(lambda tx: candidate_test.start(tx, claim, consent, services.rules))
    return json_response({"candidate": candidate}, 201)


async def test(request: Request) -> Response:
    claim = candidate_claim(request)
    services = services_of(request)
    return json_response(await services.db.read(lambda db: candidate_test.read_test(db, claim, services.rules)))


async def answers(request: Request) -> Response:
    body = await json_body(request)
    question_id = text(body, "question_id", max_length=20)
    choice = body.get("answer")
    if isinstance(choice, bool) or not isinstance(choice, int):
        raise InvalidPayload("answer", N_("doit être le numéro (entier) du choix."))
    if not 0 <= choice < 100:
        raise InvalidPayload("answer", N_("réponse hors des choix proposés."))
    claim = candidate_claim(request)
    services = services_of(request)
    state = await services.db.write(lambda tx: candidate_test.answer(tx, claim, question_id, choice, services.rules))
    return json_response(state)


routes = [
    Route("/api/candidate/join", join, methods=["POST"]),
    Route("/api/candidate/start", start, methods=["POST"]),
    Route("/api/candidate/test", test, methods=["GET"]),
    Route("/api/candidate/answers", answers, methods=["POST"]),
]
