"""Every refusal, named: its HTTP status, stable code (CONTRACT.md) and French message.

The French message is the msgid: it is put into the request's language when the body is
written (`DomainError.text`), so the code never changes and the words follow the reader.

One code may have several messages, one per situation (a supervisor and a candidate are
not told the same thing); each situation is its own class, so code never writes a
refusal's words inline and a test can name what it expects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app.i18n import N_, Text
from realtime.sockets import SourceUnavailable


class DomainError(Exception):
    """A refusal. Each subclass names one in its class line (status, code, French message);
    `commit=True` keeps what the refusal recorded (a counted failed code, "reprise demandée")."""

    status = 400
    code = "BAD_REQUEST"
    # The msgid (French); an instance's `message` is its French words, `text` its words
    # in the request's language.
    message = N_("Requête invalide.")
    commit = False

    def __init_subclass__(
        cls,
        *,
        status: int | None = None,
        code: str | None = None,
        message: str | None = None,
        commit: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status
        cls.code = code or cls.code
        cls.message = message or cls.message
        cls.commit = cls.commit if commit is None else commit
        cls.__test__ = False  # type: ignore[attr-defined]  # "Test..." names are not pytest classes

    def __init__(
        self,
        message: str | Text | None = None,
        *,
        params: Mapping[str, object] | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        private: dict[str, Any] | None = None,
    ) -> None:
        self.words = message if isinstance(message, Text) else Text(message or type(self).message, params or {})
        self.message = self.words.source()
        self.status = status or type(self).status
        self.extra = extra or {}
        self.headers = headers or {}
        # For the route only (e.g. a listening cookie to set); never serialised.
        self.private = private or {}
        super().__init__(self.message)

    @property
    def text(self) -> str:
        """The message in the request's language."""
        return str(self.words)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.text}, **self.extra}


# ---------------------------------------------------------------- the French messages, as the contract words them

INCORRECT_DATA = N_("Le numéro de session et/ou le mot de passe saisis sont incorrects.")
INVALID_SESSION_OR_CODE = N_("Le numéro de session et/ou le code d'accès saisis sont incorrects.")
NOT_AUTHORIZED_TO_JOIN = N_(
    "Votre surveillant n'a pas confirmé votre présence dans la salle de test. Vous ne pouvez "
    "donc pas encore commencer votre test de certification. Merci de prévenir votre surveillant."
)
NOT_AUTHORIZED_TO_RESUME = N_(
    "Vous avez déjà commencé votre test de certification. Pour le reprendre, votre surveillant "
    "doit vous y autoriser. Merci de prévenir votre surveillant."
)
CANDIDATE_NOT_RECOGNISED = N_(
    "Aucun candidat inscrit à cette session ne correspond à ces nom, prénom et date de naissance. "
    "Vérifiez vos informations ou prévenez votre surveillant."
)
OPENED_ELSEWHERE = N_(
    "Votre test a été ouvert sur un autre poste. Rejoignez à nouveau la session si votre surveillant vous y autorise."
)
MALFORMED_JSON = N_("Le corps de la requête n'est pas un JSON valide.")
NOT_A_JSON_OBJECT = N_("Le corps de la requête doit être un objet JSON.")
PAYLOAD_TOO_LARGE = N_("La requête est trop volumineuse.")
NOT_FOUND = N_("Ressource introuvable.")
METHOD_NOT_ALLOWED = N_("Méthode non autorisée.")
HTTP_REFUSAL = N_("Requête refusée.")
INTERNAL_ERROR = N_("Une erreur inattendue s'est produite. Réessayez.")
SERVICE_UNAVAILABLE = N_("Le service est momentanément indisponible. Réessayez dans quelques secondes.")
NO_ACCESS_CODE_LEFT = N_("Impossible de générer un code d'accès unique.")
NOT_AUTHENTICATED = N_("Vous devez être connecté.")
INVALID_CREDENTIALS = N_("L'adresse e-mail et/ou le mot de passe saisis sont incorrects.")
EMAIL_TAKEN = N_("Un compte existe déjà avec cette adresse e-mail.")
NOT_A_MEMBER = N_("Vous n'êtes pas membre de ce centre de certification.")
SESSION_NOT_FOUND = N_("Session introuvable.")
SESSION_FINALIZED = N_("Cette session est finalisée.")
SUPERVISION_OVER = N_("Cette session est finalisée : la surveillance est terminée.")
CANDIDATE_NOT_IN_SESSION = N_("Ce candidat n'est pas inscrit à cette session.")
CANDIDATE_ALREADY_STARTED = N_("Ce candidat a déjà commencé son test : il ne peut plus être retiré.")
PRESENCE_AFTER_START = N_("Ce candidat a déjà commencé son test : sa présence ne peut plus être retirée.")
NO_SUPERVISOR_ACCESS = N_("Vous n'avez pas accès à la surveillance de cette session.")
TEST_NOT_STARTED = N_("Ce candidat n'a pas encore commencé son test.")
OWN_TEST_NOT_STARTED = N_("Votre test n'a pas encore commencé.")
TEST_ALREADY_FINISHED = N_("Le test de ce candidat est déjà terminé.")
SESSION_NOT_ACCESSIBLE = N_("Cette session n'est plus accessible : elle a été finalisée.")
NOT_JOINED = N_("Veuillez rejoindre la session avec votre numéro de session et votre code d'accès.")
CONSENT_REQUIRED = N_("Vous devez accepter les conditions pour commencer votre test.")
TEST_FINISHED = N_("Votre test de certification est terminé.")
TEST_ENDED_BY_SUPERVISOR = N_("Votre surveillant a mis fin à votre test de certification.")
TEST_ENDED_BY_FINALIZATION = N_("La session a été finalisée : votre test de certification est terminé.")
QUESTION_NOT_CURRENT = N_("Cette question n'est pas la question en cours.")
WRONG_PASSWORD = N_("Le mot de passe actuel est incorrect.")
CSRF_REJECTED = N_("Requête refusée : elle ne provient pas de l'application.")
UNSUPPORTED_MEDIA_TYPE = N_("Type de contenu non pris en charge : envoyez du JSON (Content-Type: application/json).")


# ---------------------------------------------------------------- refusals that take details


class InvalidPayload(DomainError, status=422, code="INVALID_PAYLOAD"):
    """`problem` is a msgid marked N_ where it is written, its named values in `params`."""

    def __init__(self, field: str, problem: str | Text, **params: object) -> None:
        said = problem if isinstance(problem, Text) else Text(problem, params)
        super().__init__(
            N_("%(field)s : %(problem)s"), params={"field": field, "problem": said}, extra={"field": field}
        )


class TooManyAttempts(DomainError, status=429, code="TOO_MANY_ATTEMPTS"):
    def __init__(self, seconds: int, minutes: int) -> None:
        super().__init__(
            Text.ngettext(
                "Trop de tentatives. Veuillez réessayer dans %(minutes)s minute.",
                "Trop de tentatives. Veuillez réessayer dans %(minutes)s minutes.",
                minutes,
                minutes=minutes,
            ),
            headers={"Retry-After": str(seconds)},
            extra={"retry_after_seconds": seconds},
        )


class TooManyRequests(DomainError, status=429, code="TOO_MANY_REQUESTS"):
    """The abuse budget of a client address, or of everyone together (app/budget.py)."""

    def __init__(self, what: str, seconds: int, wait: Text) -> None:
        super().__init__(
            N_("%(what)s Veuillez réessayer dans %(wait)s."),
            params={"what": Text(what), "wait": wait},
            headers={"Retry-After": str(seconds)},
            extra={"retry_after_seconds": seconds},
        )


class UserNotFound(DomainError, status=404, code="USER_NOT_FOUND"):
    def __init__(self, email: str) -> None:
        super().__init__(N_("Aucun compte pour %(email)s."), params={"email": email})


class InvalidCsv(DomainError, status=422, code="INVALID_CSV"):
    message = N_("Le fichier contient des erreurs : aucun candidat n'a été importé.")

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__(extra={"rows": rows})


class UnknownEncoding(InvalidCsv):
    message = N_("Encodage du fichier non reconnu (UTF-8 attendu).")

    def __init__(self) -> None:
        super().__init__([])


class CandidateAlreadyEnrolled(DomainError, status=409, code="CANDIDATE_ALREADY_ENROLLED"):
    def __init__(self, first_name: str, last_name: str, birthdate: dt.date) -> None:
        super().__init__(
            N_("%(first_name)s %(last_name)s, né(e) le %(birthdate)s, est déjà inscrit(e) à cette session."),
            params={"first_name": first_name, "last_name": last_name, "birthdate": birthdate},
        )


# ---------------------------------------------------------------- the request itself


class MalformedJson(DomainError, status=422, code="INVALID_PAYLOAD", message=MALFORMED_JSON): ...


class NotAJsonObject(MalformedJson, message=NOT_A_JSON_OBJECT): ...


class PayloadTooLarge(DomainError, status=413, code="PAYLOAD_TOO_LARGE", message=PAYLOAD_TOO_LARGE): ...


class NotFound(DomainError, status=404, code="NOT_FOUND", message=NOT_FOUND): ...


class MethodNotAllowed(DomainError, status=405, code="METHOD_NOT_ALLOWED", message=METHOD_NOT_ALLOWED): ...


# Any other refusal of the HTTP layer, raised with its own status.
class HttpRefusal(DomainError, code="HTTP_ERROR", message=HTTP_REFUSAL): ...


class InternalError(DomainError, status=500, code="INTERNAL_ERROR", message=INTERNAL_ERROR): ...


class ServiceUnavailable(
    DomainError, SourceUnavailable, status=503, code="SERVICE_UNAVAILABLE", message=SERVICE_UNAVAILABLE
):
    """The database is out of reach (a primary switch, a cut): nothing was applied. Also a
    SourceUnavailable, so a live socket waits for the database instead of closing."""


class NoAccessCodeLeft(ServiceUnavailable, message=NO_ACCESS_CODE_LEFT): ...


# ---------------------------------------------------------------- accounts and centres


class NotAuthenticated(DomainError, status=401, code="NOT_AUTHENTICATED", message=NOT_AUTHENTICATED): ...


class InvalidCredentials(DomainError, status=401, code="INVALID_CREDENTIALS", message=INVALID_CREDENTIALS): ...


class EmailTaken(DomainError, status=409, code="EMAIL_TAKEN", message=EMAIL_TAKEN): ...


class NotAMember(DomainError, status=403, code="NOT_A_MEMBER", message=NOT_A_MEMBER): ...


class SessionNotFound(DomainError, status=404, code="SESSION_NOT_FOUND", message=SESSION_NOT_FOUND): ...


class SessionFinalized(DomainError, status=409, code="SESSION_FINALIZED", message=SESSION_FINALIZED): ...


# Asking for supervisor access to a finalised session: a refusal of access, not a conflict.
class SessionFinalizedForAccess(SessionFinalized, status=403, message=SessionFinalized.message): ...


class SupervisionOver(SessionFinalized, status=403, message=SUPERVISION_OVER): ...


class CandidateNotInSession(DomainError, status=404, code="CANDIDATE_NOT_FOUND", message=CANDIDATE_NOT_IN_SESSION): ...


# Removing a candidate who has started.
class CandidateAlreadyStarted(
    DomainError, status=409, code="CANDIDATE_ALREADY_STARTED", message=CANDIDATE_ALREADY_STARTED
): ...


class PresenceAfterStart(CandidateAlreadyStarted, message=PRESENCE_AFTER_START): ...


# ---------------------------------------------------------------- supervision


# A wrong supervisor password or an unknown session, the same answer; the try counts.
class IncorrectData(DomainError, status=403, code="INCORRECT_DATA", commit=True, message=INCORRECT_DATA): ...


class NoSupervisorAccess(DomainError, status=403, code="NO_SUPERVISOR_ACCESS", message=NO_SUPERVISOR_ACCESS): ...


class TestNotStarted(DomainError, status=409, code="TEST_NOT_STARTED", message=TEST_NOT_STARTED): ...


# The candidate answering before starting, told in their own words.
class OwnTestNotStarted(TestNotStarted, message=OWN_TEST_NOT_STARTED): ...


class TestAlreadyFinished(DomainError, status=409, code="TEST_ALREADY_FINISHED", message=TEST_ALREADY_FINISHED): ...


# ---------------------------------------------------------------- the candidate


# An unknown session or a wrong access code, the same answer; the try counts.
class InvalidSessionOrCode(
    DomainError, status=404, code="INVALID_SESSION_OR_CODE", commit=True, message=INVALID_SESSION_OR_CODE
): ...


class SessionNotAccessible(DomainError, status=412, code="SESSION_NOT_ACCESSIBLE", message=SESSION_NOT_ACCESSIBLE): ...


# Committed: the failed name or birth-date guess it counted must stay counted.
class CandidateNotRecognised(
    DomainError, status=404, code="CANDIDATE_NOT_FOUND", commit=True, message=CANDIDATE_NOT_RECOGNISED
): ...


class NotAuthorizedToJoin(
    DomainError, status=403, code="CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION", message=NOT_AUTHORIZED_TO_JOIN
): ...


# The resume request is recorded for the supervisors even though the join is refused.
class NotAuthorizedToResume(
    DomainError,
    status=403,
    code="CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION",
    commit=True,
    message=NOT_AUTHORIZED_TO_RESUME,
): ...


class NotJoined(NotAuthenticated, message=NOT_JOINED): ...


class OpenedElsewhere(NotAuthenticated, message=OPENED_ELSEWHERE): ...


class ConsentRequired(DomainError, status=422, code="CONSENT_REQUIRED", message=CONSENT_REQUIRED): ...


class TestFinished(DomainError, status=409, code="TEST_FINISHED", message=TEST_FINISHED): ...


class TestEndedBySupervisor(
    DomainError, status=409, code="TEST_ENDED_BY_SUPERVISOR", message=TEST_ENDED_BY_SUPERVISOR
): ...


class TestEndedByFinalization(
    DomainError, status=409, code="TEST_ENDED_BY_FINALIZATION", message=TEST_ENDED_BY_FINALIZATION
): ...


class QuestionNotCurrent(DomainError, status=409, code="QUESTION_NOT_CURRENT", message=QUESTION_NOT_CURRENT): ...


# ---------------------------------------------------------------- room control (app/actions/room.py)

TEST_PAUSED = N_("Votre test est suspendu par votre surveillant : attendez qu'il le reprenne.")
TEST_ENDED_BY_EXPIRY = N_("Votre test a été fermé automatiquement : il était ouvert depuis trop longtemps.")
TEST_ALREADY_PAUSED = N_("Le test de ce candidat est déjà en pause.")
TEST_NOT_PAUSED = N_("Le test de ce candidat n'est pas en pause.")
NO_TEST_TO_PAUSE = N_("Aucun test en cours à mettre en pause.")
NO_TEST_PAUSED = N_("Aucun test n'est en pause.")
PRESENCE_ALREADY_CONFIRMED = N_("La présence de ce candidat est déjà confirmée.")
REASON_REQUIRED = N_("Indiquez le motif de l'ajustement du temps.")
MESSAGE_REQUIRED = N_("Écrivez le message à envoyer.")
UNKNOWN_BULK_ACTION = N_("Action groupée inconnue (confirm_presence, end_test, pause ou resume).")
SELECTION_REQUIRED = N_("Sélectionnez les candidats dont vous confirmez la présence.")
NO_CANDIDATE_SELECTED = N_("Aucun candidat concerné.")
TOO_MANY_MESSAGES = N_("Vous avez envoyé beaucoup de messages en peu de temps : patientez une minute.")


# Confirming, in a selection, the presence of a candidate who has already started.
class StartedBeforePresence(CandidateAlreadyStarted, message=N_("Ce candidat a déjà commencé son test.")): ...


class TestPaused(DomainError, status=409, code="TEST_PAUSED", message=TEST_PAUSED): ...


class TestEndedByExpiry(DomainError, status=409, code="TEST_ENDED_BY_EXPIRY", message=TEST_ENDED_BY_EXPIRY): ...


class SessionNotYetOpen(DomainError, status=412, code="SESSION_NOT_YET_OPEN"):
    def __init__(self, opens: Text) -> None:
        super().__init__(
            N_("Cette session n'est pas encore ouverte : vous pourrez la rejoindre à partir du %(opens)s."),
            params={"opens": opens},
        )


class TestAlreadyPaused(DomainError, status=409, code="TEST_ALREADY_PAUSED", message=TEST_ALREADY_PAUSED): ...


class TestNotPaused(DomainError, status=409, code="TEST_NOT_PAUSED", message=TEST_NOT_PAUSED): ...


class NoTestToPause(DomainError, status=409, code="NO_TEST_TO_PAUSE", message=NO_TEST_TO_PAUSE): ...


class NoTestPaused(DomainError, status=409, code="NO_TEST_PAUSED", message=NO_TEST_PAUSED): ...


class PresenceAlreadyConfirmed(
    DomainError, status=409, code="PRESENCE_ALREADY_CONFIRMED", message=PRESENCE_ALREADY_CONFIRMED
): ...


class MinutesOutOfRange(DomainError, status=422, code="MINUTES_OUT_OF_RANGE"):
    def __init__(self, low: int, high: int) -> None:
        super().__init__(
            N_("Le temps à ajouter ou retirer doit être compris entre %(low)s et +%(high)s minutes, et non nul."),
            params={"low": low, "high": high},
            extra={"field": "minutes"},
        )


class TimeAdjustmentLimit(DomainError, status=409, code="TIME_ADJUSTMENT_LIMIT"):
    def __init__(self, current: int, low: int, high: int) -> None:
        super().__init__(
            N_(
                "Le temps de ce candidat est déjà ajusté de %(current)s min : au total, "
                "l'ajustement doit rester entre %(low)s et +%(high)s minutes."
            ),
            params={"current": format(current, "+d"), "low": low, "high": high},
        )


class ReasonRequired(DomainError, status=422, code="REASON_REQUIRED", message=REASON_REQUIRED):
    def __init__(self) -> None:
        super().__init__(extra={"field": "reason"})


class ReasonTooLong(DomainError, status=422, code="REASON_TOO_LONG"):
    def __init__(self, limit: int) -> None:
        super().__init__(
            N_("Le motif ne peut dépasser %(limit)s caractères."), params={"limit": limit}, extra={"field": "reason"}
        )


class PauseMessageTooLong(DomainError, status=422, code="PAUSE_MESSAGE_TOO_LONG"):
    def __init__(self, limit: int) -> None:
        super().__init__(
            N_("Le message de pause ne peut dépasser %(limit)s caractères."),
            params={"limit": limit},
            extra={"field": "message"},
        )


class MessageRequired(DomainError, status=422, code="MESSAGE_REQUIRED", message=MESSAGE_REQUIRED):
    def __init__(self) -> None:
        super().__init__(extra={"field": "text"})


class MessageTooLong(DomainError, status=422, code="MESSAGE_TOO_LONG"):
    def __init__(self, limit: int) -> None:
        super().__init__(
            N_("Le message ne peut dépasser %(limit)s caractères."), params={"limit": limit}, extra={"field": "text"}
        )


class UnknownBulkAction(DomainError, status=422, code="UNKNOWN_BULK_ACTION", message=UNKNOWN_BULK_ACTION):
    def __init__(self) -> None:
        super().__init__(extra={"field": "action"})


class SelectionRequired(DomainError, status=422, code="SELECTION_REQUIRED", message=SELECTION_REQUIRED):
    def __init__(self) -> None:
        super().__init__(extra={"field": "candidate_ids"})


class NoCandidateSelected(DomainError, status=422, code="NO_CANDIDATE_SELECTED", message=NO_CANDIDATE_SELECTED):
    def __init__(self) -> None:
        super().__init__(extra={"field": "candidate_ids"})


class BulkRefused(DomainError):
    """One candidate's refusal inside a bulk action: its code, its words, and who it was."""

    def __init__(self, refusal: DomainError, name: str, candidate_id: int | None) -> None:
        super().__init__(
            N_("%(name)s : %(refusal)s Aucun candidat n'a été modifié."),
            params={"name": name, "refusal": refusal.words},
            status=refusal.status,
            extra={"candidate_id": candidate_id},
        )
        self.code = refusal.code


class TooManyMessages(DomainError, status=429, code="TOO_MANY_MESSAGES", message=TOO_MANY_MESSAGES):
    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "60"})


class ServiceBusy(
    DomainError,
    status=503,
    code="SERVICE_BUSY",
    message=N_("Le service est très sollicité en ce moment. Veuillez réessayer dans quelques secondes."),
): ...


class SupervisorNotFound(
    DomainError, status=404, code="SUPERVISOR_NOT_FOUND", message=N_("Ce surveillant n'a pas accès à cette session.")
): ...


# ---------------------------------------------------------------- incidents (alerts, reports, records)

ALERT_ALREADY_OPEN = N_("Vous avez déjà signalé un problème : votre surveillant a été prévenu et va venir.")
ALERT_PENDING = N_("Vous avez signalé un problème sur cette question : attendez votre surveillant.")
ALERT_NOT_FOUND = N_("Ce signalement n'existe pas dans cette session.")
NO_REPLACEMENT_QUESTION = N_(
    "Aucune question de remplacement n'est disponible pour ce candidat : refusez le signalement "
    "et rédigez un rapport d'incident."
)
REPORT_NOT_FOUND = N_("Ce rapport d'incident n'existe pas pour ce candidat.")
REPORT_NOT_REMOVABLE = N_(
    "Ce rapport garde la trace d'une décision (fin de test, signalement, temps ajusté) : "
    "il peut être modifié, pas supprimé."
)
SESSION_NOT_FINALIZED = N_("Le procès-verbal est disponible une fois la session finalisée.")


class AlertAlreadyOpen(DomainError, status=409, code="ALERT_ALREADY_OPEN", message=ALERT_ALREADY_OPEN): ...


# Answering the question the candidate has put on hold.
class AlertPending(DomainError, status=409, code="ALERT_PENDING", message=ALERT_PENDING): ...


class AlertNotFound(DomainError, status=404, code="ALERT_NOT_FOUND", message=ALERT_NOT_FOUND): ...


# The second supervisor to decide is told who was first; the alert as it was decided comes along.
class AlertAlreadyHandled(DomainError, status=409, code="ALERT_ALREADY_HANDLED"):
    def __init__(self, who: str | None, alert: dict[str, Any]) -> None:
        super().__init__(
            N_("%(who)s a déjà traité ce signalement.") if who else N_("Un surveillant a déjà traité ce signalement."),
            params={"who": who} if who else None,
            extra={"alert": alert},
        )


class NoReplacementQuestion(
    DomainError, status=409, code="NO_REPLACEMENT_QUESTION", message=NO_REPLACEMENT_QUESTION
): ...


class TooManyAlerts(DomainError, status=429, code="TOO_MANY_ALERTS"):
    def __init__(self, seconds: int, minutes: int) -> None:
        super().__init__(
            Text.ngettext(
                "Vous avez signalé trop de problèmes en peu de temps. Prévenez votre surveillant en levant "
                "la main, ou réessayez dans %(minutes)s minute.",
                "Vous avez signalé trop de problèmes en peu de temps. Prévenez votre surveillant en levant "
                "la main, ou réessayez dans %(minutes)s minutes.",
                minutes,
                minutes=minutes,
            ),
            headers={"Retry-After": str(seconds)},
            extra={"retry_after_seconds": seconds},
        )


class ReportNotFound(DomainError, status=404, code="REPORT_NOT_FOUND", message=REPORT_NOT_FOUND): ...


class NotReportAuthor(DomainError, status=403, code="NOT_REPORT_AUTHOR"):
    def __init__(self, author: str) -> None:
        super().__init__(
            N_("Seul son auteur (%(author)s) peut modifier ou supprimer ce rapport."), params={"author": author}
        )


# A finalisation reason for a candidate whose test is not unfinished.
class ReasonNotNeeded(InvalidPayload):
    def __init__(self, first_name: str, last_name: str) -> None:
        super().__init__(
            "reasons",
            N_("%(first_name)s %(last_name)s n'a pas de test inachevé."),
            first_name=first_name,
            last_name=last_name,
        )


# A finalisation that gives reasons gives one for every test started and not finished,
# unless the supervisor who ended it already said why (the same words as the centre's form).
class ReasonMissing(InvalidPayload):
    def __init__(self, first_name: str, last_name: str) -> None:
        super().__init__(
            "reasons",
            N_("Choisissez un motif pour %(first_name)s %(last_name)s."),
            first_name=first_name,
            last_name=last_name,
        )


# A report an action wrote (end of test, decision on an alert, time adjustment, finalisation)
# is the trace of that action: its author may correct its words, not remove it.
class ReportNotRemovable(DomainError, status=409, code="REPORT_NOT_REMOVABLE", message=REPORT_NOT_REMOVABLE): ...


class SessionNotFinalized(DomainError, status=409, code="SESSION_NOT_FINALIZED", message=SESSION_NOT_FINALIZED): ...


class WrongPassword(DomainError, status=403, code="WRONG_PASSWORD", message=WRONG_PASSWORD): ...


class CsrfRejected(DomainError, status=403, code="CSRF_REJECTED", message=CSRF_REJECTED): ...


class UnsupportedMediaType(DomainError, status=415, code="UNSUPPORTED_MEDIA_TYPE", message=UNSUPPORTED_MEDIA_TYPE): ...
