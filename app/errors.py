"""Refusals of the domain, each with its HTTP status, stable code and French message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"
    message = "Requête invalide."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        commit: bool = False,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        private: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.status = status or type(self).status
        self.code = code or type(self).code
        # A refusal that must still keep what it recorded (e.g. "reprise demandée").
        self.commit = commit
        self.extra = extra or {}
        self.headers = headers or {}
        # For the route only (e.g. a listening cookie to set); never serialised.
        self.private = private or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}, **self.extra}


def refuse(status: int, code: str, message: str, **kwargs: Any) -> DomainError:
    return DomainError(message, status=status, code=code, **kwargs)


class ServiceUnavailable(DomainError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
    message = "Le service est momentanément indisponible. Réessayez dans quelques secondes."


class InvalidPayload(DomainError):
    status = 422
    code = "INVALID_PAYLOAD"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} : {message}", extra={"field": field})


# Stable refusals, named as in CONTRACT.md.
SESSION_NOT_FOUND = (404, "SESSION_NOT_FOUND", "Session introuvable.")
SESSION_FINALIZED = (409, "SESSION_FINALIZED", "Cette session est finalisée.")
NOT_A_MEMBER = (403, "NOT_A_MEMBER", "Vous n'êtes pas membre de ce centre de certification.")
NOT_AUTHENTICATED = (401, "NOT_AUTHENTICATED", "Vous devez être connecté.")
NO_SUPERVISOR_ACCESS = (
    403,
    "NO_SUPERVISOR_ACCESS",
    "Vous n'avez pas accès à la surveillance de cette session.",
)
CANDIDATE_NOT_IN_SESSION = (404, "CANDIDATE_NOT_FOUND", "Ce candidat n'est pas inscrit à cette session.")


def err(spec: tuple[int, str, str], **kwargs: Any) -> DomainError:
    status, code, message = spec
    return DomainError(message, status=status, code=code, **kwargs)
