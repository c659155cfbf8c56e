"""Every rule of a session and of a candidate's test, in one place.

Each public function runs inside one write transaction (`Tx`): it locks the exam
session, checks its rule against the latest state, changes rows, and for each change
bumps the session's version and appends the event to the log. Events reach the broker
only after commit (see `Database.write`). Nothing here knows about HTTP or sockets.

Candidate lifecycle:
    not_started --presence ✓--> authorised --start--> in_progress --finish--> finished
    in_progress --supervisor ends--> ended_by_supervisor
    in_progress --new join without authorisation--> resume requested --authorise--> (one join)
    finalising the session ends running tests: ended_by_finalization
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app import codes, views
from app.db import Tx
from app.errors import (
    CANDIDATE_NOT_IN_SESSION,
    NO_SUPERVISOR_ACCESS,
    NOT_A_MEMBER,
    SESSION_NOT_FOUND,
    DomainError,
    err,
    refuse,
)
from app.models import (
    Answer,
    Candidate,
    Centre,
    ExamSession,
    Membership,
    SessionEvent,
    SupervisorAccess,
    User,
    utcnow,
)
from app.questions import by_id, draw_test, public_view
from app.security import CandidateClaim, RateLimiter
from app.settings import Settings

NOT_AUTHORIZED_TO_JOIN = (
    "Votre surveillant n'a pas confirmé votre présence dans la salle de test. Vous ne pouvez "
    "donc pas encore commencer votre test de certification. Merci de prévenir votre surveillant."
)
NOT_AUTHORIZED_TO_RESUME = (
    "Vous avez déjà commencé votre test de certification. Pour le reprendre, votre surveillant "
    "doit vous y autoriser. Merci de prévenir votre surveillant."
)
INCORRECT_DATA = "Le numéro de session et/ou le mot de passe saisis sont incorrects."
INVALID_SESSION_OR_CODE = "Le numéro de session et/ou le code d'accès saisis sont incorrects."


@dataclass(frozen=True)
class Rules:
    test_minutes: int
    questions_per_test: int
    limiter: RateLimiter
    lease_seconds: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            test_minutes=settings.test_minutes,
            questions_per_test=settings.questions_per_test,
            limiter=RateLimiter(settings.rate_limit_attempts, settings.rate_limit_window_seconds),
            lease_seconds=settings.candidate_lease_seconds,
        )


@dataclass(frozen=True)
class Actor:
    name: str
    user_id: int | None = None

    @staticmethod
    def of(user: User) -> Actor:
        return Actor(name=f"{user.first_name} {user.last_name}", user_id=user.id)

    @staticmethod
    def candidate(c: Candidate) -> Actor:
        return Actor(name=f"{c.first_name} {c.last_name}")


@dataclass(frozen=True)
class Joined:
    candidate: dict[str, Any]
    next: str
    claim: CandidateClaim


# ---------------------------------------------------------------- events


def _emit(
    tx: Tx,
    s: ExamSession,
    name: str,
    rules: Rules,
    *,
    action: str,
    actor: Actor | None = None,
    candidate: Candidate | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """`action` says what happened in words a client can describe without diffing views."""
    assert s.id is not None
    s.version += 1
    tx.db.add(s)
    now = utcnow()
    event: dict[str, Any] = {
        "type": "event",
        "version": s.version,
        "name": name,
        "action": action,
        "at": views.iso(now),
        "actor": {"name": actor.name} if actor else None,
    }
    if candidate is not None:
        if candidate.id is None:
            tx.db.flush()  # a new candidate needs its id in the event
        event["candidate"] = views.candidate_view(candidate, rules.test_minutes, rules.questions_per_test, now)
    if payload:
        event.update(payload)
    tx.db.add(
        SessionEvent(
            session_id=s.id,
            version=s.version,
            type=name,
            candidate_id=candidate.id if candidate else None,
            actor_user_id=actor.user_id if actor else None,
            actor_name=actor.name if actor else None,
            payload=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
            at=now,
        )
    )
    tx.events.append((s.id, event))


def _emit_supervisors(tx: Tx, s: ExamSession, rules: Rules, actor: Actor | None, action: str) -> None:
    tx.db.flush()
    assert s.id is not None
    supervisors = {"supervisors": views.supervisors(tx.db, s.id)}
    _emit(tx, s, "supervisors.updated", rules, action=action, actor=actor, payload=supervisors)


def _emit_session(tx: Tx, s: ExamSession, rules: Rules, actor: Actor | None) -> None:
    centre = views.centre_name(tx.db, s.centre_id)
    _emit(
        tx,
        s,
        "session.updated",
        rules,
        action="finalized",
        actor=actor,
        payload={"session": views.session_view(s, centre, with_codes=False)},
    )


def events_since(db: Session, session_id: int, since: int, limit: int) -> list[dict[str, Any]] | None:
    """Events after `since`, in order; None when the client is too far behind to replay."""
    current = db.execute(select(col(ExamSession.version)).where(col(ExamSession.id) == session_id)).scalar()
    if current is None:
        return []
    if current - since > limit:
        return None
    rows = db.execute(
        select(col(SessionEvent.payload))
        .where(col(SessionEvent.session_id) == session_id, col(SessionEvent.version) > since)
        .order_by(col(SessionEvent.version))
    ).scalars()
    return [json.loads(p) for p in rows]


def current_version(db: Session, session_id: int) -> int:
    return db.execute(select(col(ExamSession.version)).where(col(ExamSession.id) == session_id)).scalar() or 0


# ---------------------------------------------------------------- lookups


def _lock_session(tx: Tx, session_id: int) -> ExamSession:
    # Row lock on PostgreSQL; on SQLite the transaction already holds the write lock.
    s: ExamSession | None = tx.db.execute(
        select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()
    ).scalar()
    if s is None:
        raise err(SESSION_NOT_FOUND)
    return s


def _require_open(s: ExamSession, status: int = 409) -> None:
    if s.status == "finalized":
        raise refuse(status, "SESSION_FINALIZED", "Cette session est finalisée.")


def _require_member(db: Session, centre_id: int, user_id: int) -> None:
    found = db.execute(
        select(col(Membership.id)).where(col(Membership.centre_id) == centre_id, col(Membership.user_id) == user_id)
    ).first()
    if found is None:
        raise err(NOT_A_MEMBER)


def member_session(db: Session, session_id: int, user_id: int) -> ExamSession:
    s = db.get(ExamSession, session_id)
    if s is None:
        raise err(SESSION_NOT_FOUND)
    _require_member(db, s.centre_id, user_id)
    return s


def _candidate_of(db: Session, session_id: int, candidate_id: int) -> Candidate:
    c = db.get(Candidate, candidate_id)
    # Another session's candidate is answered exactly like an unknown one.
    if c is None or c.session_id != session_id:
        raise err(CANDIDATE_NOT_IN_SESSION)
    return c


def require_supervisor(db: Session, session_id: int, user_id: int) -> ExamSession:
    s = db.get(ExamSession, session_id)
    access = db.execute(
        select(col(SupervisorAccess.id)).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == user_id
        )
    ).first()
    if s is None or access is None:
        raise err(NO_SUPERVISOR_ACCESS)
    if s.status == "finalized":
        raise refuse(403, "SESSION_FINALIZED", "Cette session est finalisée : la surveillance est terminée.")
    return s


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise refuse(401, "NOT_AUTHENTICATED", "Vous devez être connecté.")
    return user


# ---------------------------------------------------------------- accounts and centres


def signup(tx: Tx, email: str, password_hash: str, first_name: str, last_name: str) -> User:
    email = email.strip().lower()
    if tx.db.execute(select(col(User.id)).where(col(User.email) == email)).first():
        raise refuse(409, "EMAIL_TAKEN", "Un compte existe déjà avec cette adresse e-mail.")
    user = User(email=email, password_hash=password_hash, first_name=first_name, last_name=last_name)
    tx.db.add(user)
    try:
        tx.db.flush()
    except IntegrityError:
        raise refuse(409, "EMAIL_TAKEN", "Un compte existe déjà avec cette adresse e-mail.") from None
    return user


def create_centre(tx: Tx, name: str, admin_email: str) -> Centre:
    user = tx.db.execute(select(User).where(col(User.email) == admin_email.strip().lower())).scalar()
    if user is None:
        raise refuse(404, "USER_NOT_FOUND", f"Aucun compte pour {admin_email}.")
    centre = Centre(name=name)
    tx.db.add(centre)
    tx.db.flush()
    assert centre.id is not None and user.id is not None
    tx.db.add(Membership(centre_id=centre.id, user_id=user.id))
    return centre


def _unique_access_code(db: Session) -> str:
    for _ in range(50):
        code = codes.new_access_code()
        taken = db.execute(
            select(col(ExamSession.id)).where(
                col(ExamSession.access_code) == code, col(ExamSession.status) != "finalized"
            )
        ).first()
        if taken is None:
            return code
    raise DomainError("Impossible de générer un code d'accès unique.", status=503, code="SERVICE_UNAVAILABLE")


def create_session(
    tx: Tx,
    centre_id: int,
    user_id: int,
    *,
    address: str,
    room: str,
    examiner: str,
    date: dt.date,
    time: str,
    number: int | None = None,
) -> ExamSession:
    """`number` asks for a given session number (the demo's 668); the caller checks it is free."""
    if tx.db.get(Centre, centre_id) is None:
        raise err(NOT_A_MEMBER)
    _require_member(tx.db, centre_id, user_id)
    s = ExamSession(
        id=number,
        centre_id=centre_id,
        address=address,
        room=room,
        examiner=examiner,
        date=date,
        time=time,
        access_code=_unique_access_code(tx.db),
        supervisor_password=codes.new_supervisor_password(),
    )
    tx.db.add(s)
    tx.db.flush()
    if number is not None and tx.db.get_bind().dialect.name == "postgresql":
        # An explicit id does not move PostgreSQL's sequence: move it past ours.
        tx.db.execute(
            text("SELECT setval(pg_get_serial_sequence('exam_session', 'id'), (SELECT max(id) FROM exam_session))")
        )
    return s


@dataclass(frozen=True)
class Enrolment:
    last_name: str
    first_name: str
    birthdate: dt.date
    extra_time_percentage: int = 0


def enrol_into(tx: Tx, s: ExamSession, e: Enrolment, rules: Rules, actor: Actor) -> Candidate:
    assert s.id is not None
    key = codes.identity_key(e.last_name, e.first_name)
    exists = tx.db.execute(
        select(col(Candidate.id)).where(
            col(Candidate.session_id) == s.id,
            col(Candidate.identity_key) == key,
            col(Candidate.birthdate) == e.birthdate,
        )
    ).first()
    if exists:
        raise refuse(
            409,
            "CANDIDATE_ALREADY_ENROLLED",
            f"{e.first_name} {e.last_name}, né(e) le {e.birthdate:%d/%m/%Y}, est déjà inscrit(e) à cette session.",
        )
    c = Candidate(
        session_id=s.id,
        last_name=e.last_name,
        first_name=e.first_name,
        birthdate=e.birthdate,
        extra_time_percentage=e.extra_time_percentage,
        identity_key=key,
    )
    tx.db.add(c)
    _emit(tx, s, "candidate.updated", rules, action="enrolled", actor=actor, candidate=c)
    return c


def enrol(tx: Tx, session_id: int, user_id: int, e: Enrolment, rules: Rules) -> dict[str, Any]:
    s = _lock_session(tx, session_id)
    _require_member(tx.db, s.centre_id, user_id)
    _require_open(s)
    c = enrol_into(tx, s, e, rules, Actor.of(_user(tx.db, user_id)))
    return views.candidate_view(c, rules.test_minutes, rules.questions_per_test)


def enrol_many(tx: Tx, session_id: int, user_id: int, rows: list[tuple[int, Enrolment]], rules: Rules) -> int:
    """All or nothing: one bad row (duplicate included) and no candidate is imported."""
    s = _lock_session(tx, session_id)
    _require_member(tx.db, s.centre_id, user_id)
    _require_open(s)
    actor = Actor.of(_user(tx.db, user_id))
    seen: dict[tuple[str, dt.date], int] = {}
    problems: list[dict[str, Any]] = []
    for line, e in rows:
        key = (codes.identity_key(e.last_name, e.first_name), e.birthdate)
        if key in seen:
            problems.append({"line": line, "field": "nom", "message": f"doublon de la ligne {seen[key]}"})
        seen[key] = line
    if problems:
        raise _import_refusal(problems)
    for line, e in rows:
        try:
            enrol_into(tx, s, e, rules, actor)
        except DomainError as refusal:
            problems.append({"line": line, "field": "nom", "message": refusal.message})
    if problems:
        raise _import_refusal(problems)
    return len(rows)


def _import_refusal(problems: list[dict[str, Any]]) -> DomainError:
    return refuse(
        422,
        "INVALID_CSV",
        "Le fichier contient des erreurs : aucun candidat n'a été importé.",
        extra={"rows": problems},
    )


def remove_candidate(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> None:
    s = _lock_session(tx, session_id)
    _require_member(tx.db, s.centre_id, user_id)
    _require_open(s)
    c = _candidate_of(tx.db, session_id, candidate_id)
    if c.status != "not_started":
        raise refuse(
            409, "CANDIDATE_ALREADY_STARTED", "Ce candidat a déjà commencé son test : il ne peut plus être retiré."
        )
    tx.db.delete(c)
    tx.db.flush()
    _emit(
        tx,
        s,
        "candidate.removed",
        rules,
        action="removed",
        actor=Actor.of(_user(tx.db, user_id)),
        payload={"candidate": {"id": candidate_id, "last_name": c.last_name, "first_name": c.first_name}},
    )


def finalize(tx: Tx, session_id: int, user_id: int, rules: Rules) -> ExamSession:
    s = _lock_session(tx, session_id)
    _require_member(tx.db, s.centre_id, user_id)
    _require_open(s)
    actor = Actor.of(_user(tx.db, user_id))
    now = utcnow()
    running = tx.db.execute(
        select(Candidate).where(col(Candidate.session_id) == session_id, col(Candidate.status) == "in_progress")
    ).scalars()
    for c in running:
        c.status = "ended_by_finalization"
        c.ended_at = now
        c.resume_requested = False
        c.resume_authorized = False
        tx.db.add(c)
        _emit(tx, s, "candidate.updated", rules, action="ended_by_finalization", actor=actor, candidate=c)
    s.status = "finalized"
    s.finalized_at = now
    _emit_session(tx, s, rules, actor)
    return s


# ---------------------------------------------------------------- supervision


def _enter_code(
    tx: Tx,
    rules: Rules,
    session_id: int,
    key: str,
    typed: str,
    expected: Callable[[ExamSession], str],
    refusal: DomainError,
) -> ExamSession:
    """A session number and a code typed by a person, under the rate limit. The failure is
    counted under the session's lock so simultaneous guesses take turns, and an unknown
    session gets the same answer as a wrong code: there is nothing to enumerate."""
    s: ExamSession | None = (
        tx.db.execute(select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()).scalar()
    )
    rules.limiter.check(tx.db, key)
    if s is None or not codes.same(typed, expected(s)):
        rules.limiter.fail(tx.db, key)
        raise refusal
    return s


def grant_supervision(tx: Tx, session_id: int, typed_password: str, user_id: int, rules: Rules) -> None:
    s = _enter_code(
        tx,
        rules,
        session_id,
        f"supervision:{session_id}",
        codes.normalise_supervisor_password(typed_password),
        lambda found: found.supervisor_password,
        refuse(403, "INCORRECT_DATA", INCORRECT_DATA, commit=True),
    )
    _require_open(s, status=403)
    user = _user(tx.db, user_id)
    existing = tx.db.execute(
        select(SupervisorAccess).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == user_id
        )
    ).scalar()
    if existing is not None:
        existing.granted_at = utcnow()
        tx.db.add(existing)
        return
    tx.db.add(SupervisorAccess(session_id=session_id, user_id=user_id))
    _emit_supervisors(tx, s, rules, Actor.of(user), "supervisor_joined")


def _supervised(tx: Tx, session_id: int, candidate_id: int, user_id: int) -> tuple[ExamSession, Candidate, Actor]:
    # Lock, then check: on PostgreSQL a check read before the lock misses a finalisation
    # committed while we waited for it. An unknown session locks nothing and is refused below.
    tx.db.execute(select(ExamSession).where(col(ExamSession.id) == session_id).with_for_update()).scalar()
    s = require_supervisor(tx.db, session_id, user_id)
    c = _candidate_of(tx.db, session_id, candidate_id)
    return s, c, Actor.of(_user(tx.db, user_id))


def set_presence(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, authorized: bool, rules: Rules
) -> dict[str, Any]:
    s, c, actor = _supervised(tx, session_id, candidate_id, user_id)
    if c.status != "not_started":
        if not authorized:
            raise refuse(
                409,
                "CANDIDATE_ALREADY_STARTED",
                "Ce candidat a déjà commencé son test : sa présence ne peut plus être retirée.",
            )
    elif c.authorized_to_start != authorized:
        c.authorized_to_start = authorized
        tx.db.add(c)
        _emit(
            tx,
            s,
            "candidate.updated",
            rules,
            action="presence_confirmed" if authorized else "presence_withdrawn",
            actor=actor,
            candidate=c,
        )
    return views.candidate_view(c, rules.test_minutes, rules.questions_per_test)


def _require_started(c: Candidate) -> None:
    if c.status == "not_started":
        raise refuse(409, "TEST_NOT_STARTED", "Ce candidat n'a pas encore commencé son test.")


def authorize_resume(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    s, c, actor = _supervised(tx, session_id, candidate_id, user_id)
    _require_started(c)
    if c.status in views.ENDED:
        raise refuse(409, "TEST_ALREADY_FINISHED", "Le test de ce candidat est déjà terminé.")
    if not c.resume_authorized:
        c.resume_authorized = True
        c.resume_requested = False
        tx.db.add(c)
        _emit(tx, s, "candidate.updated", rules, action="resume_authorized", actor=actor, candidate=c)
    return views.candidate_view(c, rules.test_minutes, rules.questions_per_test)


def end_test(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    s, c, actor = _supervised(tx, session_id, candidate_id, user_id)
    _require_started(c)
    if c.status == "in_progress":
        c.status = "ended_by_supervisor"
        c.ended_at = utcnow()
        c.resume_requested = False
        c.resume_authorized = False
        tx.db.add(c)
        _emit(tx, s, "candidate.updated", rules, action="ended_by_supervisor", actor=actor, candidate=c)
    return views.candidate_view(c, rules.test_minutes, rules.questions_per_test)


# ---------------------------------------------------------------- candidates


def join(
    tx: Tx,
    session_id: int,
    typed_code: str,
    first_name: str,
    last_name: str,
    birthdate: dt.date,
    rules: Rules,
) -> Joined:
    s = _enter_code(
        tx,
        rules,
        session_id,
        f"access:{session_id}",
        codes.normalise_access_code(typed_code),
        lambda found: found.access_code,
        refuse(404, "INVALID_SESSION_OR_CODE", INVALID_SESSION_OR_CODE, commit=True),
    )
    if s.status == "finalized":
        raise refuse(412, "SESSION_NOT_ACCESSIBLE", "Cette session n'est plus accessible : elle a été finalisée.")
    wanted = codes.identity_key(last_name, first_name)
    c = tx.db.execute(
        select(Candidate).where(
            col(Candidate.session_id) == session_id,
            col(Candidate.identity_key) == wanted,
            col(Candidate.birthdate) == birthdate,
        )
    ).scalar()
    if c is None:
        raise refuse(
            404,
            "CANDIDATE_NOT_FOUND",
            "Aucun candidat inscrit à cette session ne correspond à ces nom, prénom et date de naissance. "
            "Vérifiez vos informations ou prévenez votre surveillant.",
        )
    assert c.id is not None and s.id is not None
    # Refused candidates may still listen for their own changes, so the page can continue
    # by itself; token -1 never matches join_token, so it grants nothing else.
    waiting = CandidateClaim(candidate_id=c.id, session_id=s.id, token=-1)
    if c.status in views.ENDED:
        raise refuse(409, "TEST_FINISHED", "Votre test de certification est terminé.")
    actor = Actor.candidate(c)
    if c.status == "not_started":
        if not c.authorized_to_start:
            raise refuse(
                403, "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION", NOT_AUTHORIZED_TO_JOIN, private={"claim": waiting}
            )
        c.join_token += 1
        tx.db.add(c)
        next_step = "consent"
    else:
        if not c.resume_authorized:
            if not c.resume_requested:
                c.resume_requested = True
                tx.db.add(c)
                _emit(tx, s, "candidate.updated", rules, action="resume_requested", actor=actor, candidate=c)
            raise refuse(
                403,
                "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION",
                NOT_AUTHORIZED_TO_RESUME,
                commit=True,
                private={"claim": waiting},
            )
        # The authorisation is used up by this join; the old browser loses its token.
        c.resume_authorized = False
        c.resume_requested = False
        c.join_token += 1
        tx.db.add(c)
        _emit(tx, s, "candidate.updated", rules, action="resumed", actor=actor, candidate=c)
        next_step = "test"
    claim = CandidateClaim(candidate_id=c.id, session_id=s.id, token=c.join_token)
    return Joined(views.candidate_view(c, rules.test_minutes, rules.questions_per_test), next_step, claim)


def _claimed(tx_db: Session, claim: CandidateClaim | None) -> Candidate:
    c = tx_db.get(Candidate, claim.candidate_id) if claim else None
    if claim is None or c is None or c.session_id != claim.session_id:
        raise refuse(
            401,
            "NOT_AUTHENTICATED",
            "Veuillez rejoindre la session avec votre numéro de session et votre code d'accès.",
        )
    if c.join_token != claim.token:
        raise refuse(
            401,
            "NOT_AUTHENTICATED",
            "Votre test a été ouvert sur un autre poste. "
            "Rejoignez à nouveau la session si votre surveillant vous y autorise.",
        )
    return c


def _refuse_if_over(c: Candidate, session_status: str) -> None:
    if c.status == "ended_by_supervisor":
        raise refuse(409, "TEST_ENDED_BY_SUPERVISOR", "Votre surveillant a mis fin à votre test de certification.")
    if c.status == "ended_by_finalization" or session_status == "finalized":
        raise refuse(
            409, "TEST_ENDED_BY_FINALIZATION", "La session a été finalisée : votre test de certification est terminé."
        )


def _locked_candidate(tx: Tx, claim: CandidateClaim | None) -> tuple[ExamSession, Candidate]:
    """The candidate holding this cookie, read under its session's lock, with a test still open."""
    if claim is None:
        _claimed(tx.db, claim)  # raises: no cookie
    assert claim is not None
    s = _lock_session(tx, claim.session_id)
    c = _claimed(tx.db, claim)
    _refuse_if_over(c, s.status)
    return s, c


def start(tx: Tx, claim: CandidateClaim | None, consent: bool, rules: Rules) -> dict[str, Any]:
    s, c = _locked_candidate(tx, claim)
    if c.status == "in_progress":
        return views.candidate_view(c, rules.test_minutes, rules.questions_per_test)
    if c.status != "not_started":
        raise refuse(409, "TEST_FINISHED", "Votre test de certification est terminé.")
    if not consent:
        raise refuse(422, "CONSENT_REQUIRED", "Vous devez accepter les conditions pour commencer votre test.")
    if not c.authorized_to_start:
        raise refuse(403, "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION", NOT_AUTHORIZED_TO_JOIN)
    c.status = "in_progress"
    c.started_at = utcnow()
    # The presence confirmation is used up by this start.
    c.authorized_to_start = False
    c.question_ids = ",".join(draw_test(rules.questions_per_test))
    tx.db.add(c)
    _emit(
        tx,
        s,
        "candidate.updated",
        rules,
        action="started",
        actor=Actor.candidate(c),
        candidate=c,
    )
    return views.candidate_view(c, rules.test_minutes, rules.questions_per_test)


def test_state(c: Candidate, rules: Rules) -> dict[str, Any]:
    now = utcnow()
    ids = c.question_ids.split(",") if c.question_ids else []
    question = None
    if c.status == "in_progress" and c.answered < len(ids):
        question = public_view(by_id(ids[c.answered]), c.answered)
    end = views.theoretical_end(c, rules.test_minutes)
    left = max(0, int((end - now).total_seconds())) if end and c.status == "in_progress" else 0
    return {
        "candidate": views.candidate_view(c, rules.test_minutes, rules.questions_per_test, now),
        "question": question,
        "time_left_seconds": left,
    }


def read_test(db: Session, claim: CandidateClaim | None, rules: Rules) -> dict[str, Any]:
    c = _claimed(db, claim)
    s = db.get(ExamSession, c.session_id)
    _refuse_if_over(c, s.status if s else "finalized")
    return test_state(c, rules)


def answer(tx: Tx, claim: CandidateClaim | None, question_id: str, choice: int, rules: Rules) -> dict[str, Any]:
    s, c = _locked_candidate(tx, claim)
    ids = c.question_ids.split(",") if c.question_ids else []
    if c.status == "not_started":
        raise refuse(409, "TEST_NOT_STARTED", "Votre test n'a pas encore commencé.")
    if question_id in ids[: c.answered]:
        # A repeated answer (double click, retried request) changes nothing.
        return test_state(c, rules)
    if c.status != "in_progress" or c.answered >= len(ids) or ids[c.answered] != question_id:
        raise refuse(409, "QUESTION_NOT_CURRENT", "Cette question n'est pas la question en cours.")
    question = by_id(question_id)
    if not 0 <= choice < len(question.choices):
        raise refuse(422, "INVALID_PAYLOAD", "answer : réponse hors des choix proposés.", extra={"field": "answer"})
    assert c.id is not None
    tx.db.add(Answer(candidate_id=c.id, question_id=question_id, answer=choice, correct=choice == question.answer))
    c.answered += 1
    if c.answered >= len(ids):
        c.status = "finished"
        c.ended_at = utcnow()
        # A pending resume request or authorisation means nothing once the test is over.
        c.resume_requested = False
        c.resume_authorized = False
    tx.db.add(c)
    _emit(
        tx,
        s,
        "candidate.updated",
        rules,
        action="finished" if c.status == "finished" else "answered",
        actor=Actor.candidate(c),
        candidate=c,
    )
    return test_state(c, rules)


def is_waiting(view: dict[str, Any] | None) -> bool:
    """A candidate's page waiting on a supervisor: presence not yet confirmed, or a resume asked for."""
    if not view:
        return True
    return bool(
        (view.get("status") == "not_started" and not view.get("authorized_to_start")) or view.get("resume_requested")
    )


def candidate_message(db: Session, session_id: int, candidate_id: int, rules: Rules) -> dict[str, Any]:
    c = db.get(Candidate, candidate_id)
    s = db.get(ExamSession, session_id)
    version = s.version if s else 0
    if c is None or c.session_id != session_id:
        return {"type": "candidate", "candidate": None, "version": version, "session_status": "finalized"}
    return {
        "type": "candidate",
        "candidate": views.candidate_view(c, rules.test_minutes, rules.questions_per_test),
        "version": version,
        "session_status": s.status if s else "finalized",
    }


# ---------------------------------------------------------------- connection state


def candidate_connected(tx: Tx, session_id: int, candidate_id: int, rules: Rules) -> None:
    s = _lock_session(tx, session_id)
    c = _candidate_of(tx.db, session_id, candidate_id)
    c.lease_until = utcnow() + dt.timedelta(seconds=rules.lease_seconds)
    tx.db.add(c)
    # A finalised session is frozen: nobody watches it any more.
    if c.connection != "connected" and s.status != "finalized":
        c.connection = "connected"
        _emit(tx, s, "candidate.updated", rules, action="connected", candidate=c)


def supervisor_online(tx: Tx, session_id: int, user_id: int, rules: Rules) -> None:
    s = _lock_session(tx, session_id)
    access = tx.db.execute(
        select(SupervisorAccess).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == user_id
        )
    ).scalar()
    if access is None:
        return
    access.lease_until = utcnow() + dt.timedelta(seconds=rules.lease_seconds)
    tx.db.add(access)
    if not access.online:
        access.online = True
        _emit_supervisors(tx, s, rules, None, "supervisor_online")


def renew_leases(db: Session, candidate_ids: list[int], supervisors: list[tuple[int, int]], seconds: int) -> None:
    """One statement per kind for all of this process's live sockets: no event, no lock."""
    until = utcnow() + dt.timedelta(seconds=seconds)
    if candidate_ids:
        db.execute(update(Candidate).where(col(Candidate.id).in_(candidate_ids)).values(lease_until=until))
    if supervisors:
        pair = tuple_(col(SupervisorAccess.session_id), col(SupervisorAccess.user_id))
        db.execute(update(SupervisorAccess).where(pair.in_(supervisors)).values(lease_until=until))
    db.commit()


def expired_sessions(db: Session) -> list[int]:
    now = utcnow()
    a = db.execute(
        select(col(Candidate.session_id))
        .where(col(Candidate.connection) == "connected", col(Candidate.lease_until) < now)
        .distinct()
    ).scalars()
    b = db.execute(
        select(col(SupervisorAccess.session_id))
        .where(col(SupervisorAccess.online) == True, col(SupervisorAccess.lease_until) < now)  # noqa: E712
        .distinct()
    ).scalars()
    return sorted(set(a) | set(b))


def expire_leases(tx: Tx, session_id: int, rules: Rules) -> None:
    """Whoever's lease ran out is shown as gone: works even when the process holding the
    socket died without a word, since any process may sweep."""
    s = _lock_session(tx, session_id)
    now = utcnow()
    lost = tx.db.execute(
        select(Candidate).where(
            col(Candidate.session_id) == session_id,
            col(Candidate.connection) == "connected",
            col(Candidate.lease_until) < now,
        )
    ).scalars()
    for c in lost:
        c.connection = "lost"
        tx.db.add(c)
        _emit(tx, s, "candidate.updated", rules, action="connection_lost", candidate=c)
    gone = list(
        tx.db.execute(
            select(SupervisorAccess).where(
                col(SupervisorAccess.session_id) == session_id,
                col(SupervisorAccess.online) == True,  # noqa: E712
                col(SupervisorAccess.lease_until) < now,
            )
        ).scalars()
    )
    for access in gone:
        access.online = False
        tx.db.add(access)
    if gone:
        _emit_supervisors(tx, s, rules, None, "supervisor_offline")
