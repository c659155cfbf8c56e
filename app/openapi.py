"""The JSON API described as OpenAPI 3.0, served at /openapi.json for integrators and for
the fuzzing tests (schemathesis). Kept by hand next to CONTRACT.md: the routes are few.

The websocket messages have their own description, a JSON Schema shipped as
`app/schema/messages.json` and served at /api/schema/messages.json; the tests validate
every event they cause against it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from app.i18n import LOCALES
from vocabulary import AlertCategory, BulkAction, ReportCategory

MESSAGES_SCHEMA = Path(__file__).resolve().parent / "schema" / "messages.json"

_ID = {"type": "integer", "minimum": 1}
_DATE = {"type": "string", "example": "2021-12-28"}


def _obj(required: list[str], **props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ERROR = {
    "description": "Erreur",
    "content": {
        "application/json": {
            "schema": _obj(
                ["error"], error=_obj(["code", "message"], code={"type": "string"}, message={"type": "string"})
            )
        }
    },
}


def _op(summary: str, ok: int, body: dict[str, Any] | None = None, params: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): {"description": "Succès"}, "default": _ERROR},
    }
    if body is not None:
        op["requestBody"] = _json(body)
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": _ID} for p in params]
    return op


_CANDIDATE_IN = _obj(
    ["last_name", "first_name", "birthdate"],
    last_name={"type": "string"},
    first_name={"type": "string"},
    birthdate=_DATE,
    extra_time_percentage={"type": "integer", "minimum": 0, "maximum": 200},
)

_REPORT_IN = _obj(
    ["category"],
    category={"type": "string", "enum": list(ReportCategory)},
    comment={"type": "string", "maxLength": 1000},
)

PATHS: dict[str, dict[str, Any]] = {
    "/api/auth/signup": {
        "post": _op(
            "Créer un compte",
            201,
            _obj(
                ["email", "password", "first_name", "last_name"],
                email={"type": "string"},
                password={"type": "string"},
                first_name={"type": "string"},
                last_name={"type": "string"},
                next={"type": "string"},
            ),
        )
    },
    "/api/auth/login": {
        "post": _op(
            "Se connecter",
            200,
            _obj(["email", "password"], email={"type": "string"}, password={"type": "string"}, next={"type": "string"}),
        )
    },
    "/api/auth/logout": {"post": _op("Se déconnecter", 204)},
    "/api/auth/sessions": {
        "get": _op("Mes sessions de connexion", 200),
        "delete": _op("Déconnecter mes autres sessions", 200),
    },
    "/api/auth/sessions/{id}": {"delete": _op("Déconnecter une session", 204, params=("id",))},
    "/api/auth/password": {
        "post": _op(
            "Changer de mot de passe",
            200,
            _obj(
                ["current_password", "new_password"],
                current_password={"type": "string"},
                new_password={"type": "string"},
            ),
        )
    },
    "/api/me": {"get": _op("Mon compte et mes centres", 200)},
    "/api/centres/{cid}/sessions": {
        "get": _op("Sessions du centre", 200, params=("cid",)),
        "post": _op(
            "Créer une session",
            201,
            _obj(
                ["address", "room", "examiner", "date", "time"],
                address={"type": "string"},
                room={"type": "string"},
                examiner={"type": "string"},
                date=_DATE,
                time={"type": "string", "example": "11:00"},
            ),
            params=("cid",),
        ),
    },
    "/api/sessions/{sid}": {"get": _op("Session et candidats", 200, params=("sid",))},
    "/api/sessions/{sid}/candidates": {"post": _op("Inscrire un candidat", 201, _CANDIDATE_IN, params=("sid",))},
    "/api/sessions/{sid}/candidates/{id}": {"delete": _op("Retirer un candidat", 204, params=("sid", "id"))},
    "/api/sessions/{sid}/supervisor-kit.pdf": {"get": _op("Kit surveillant (PDF)", 200, params=("sid",))},
    "/api/sessions/{sid}/finalize": {"post": _op("Finaliser la session", 200, params=("sid",))},
    "/api/sessions/{sid}/supervisor-password": {
        "post": _op("Nouveau mot de passe de session", 200, params=("sid",))
    },
    "/api/sessions/{sid}/supervisors": {"get": _op("Surveillants de la session", 200, params=("sid",))},
    "/api/sessions/{sid}/supervisors/{uid}": {
        "delete": _op("Retirer l'accès d'un surveillant", 204, params=("sid", "uid"))
    },
    "/api/supervision/access": {
        "post": _op(
            "Accéder à l'espace surveillant",
            204,
            _obj(["session_id", "supervisor_password"], session_id=_ID, supervisor_password={"type": "string"}),
        )
    },
    "/api/supervision/sessions/{sid}": {"get": _op("Instantané de la session", 200, params=("sid",))},
    "/api/supervision/sessions/{sid}/candidates/{id}/presence": {
        "post": _op(
            "Confirmer la présence", 200, _obj(["authorized"], authorized={"type": "boolean"}), params=("sid", "id")
        )
    },
    "/api/supervision/sessions/{sid}/candidates/{id}/authorize-resume": {
        "post": _op("Autoriser la reprise", 200, params=("sid", "id"))
    },
    "/api/supervision/sessions/{sid}/candidates/{id}/end-test": {
        "post": _op("Terminer le test", 200, params=("sid", "id"))
    },
    # Room control (issue 13).
    "/api/supervision/sessions/{sid}/candidates/{id}/pause": {
        "post": _op(
            "Mettre le test en pause", 200, _obj([], message={"type": "string", "nullable": True}), params=("sid", "id")
        )
    },
    "/api/supervision/sessions/{sid}/candidates/{id}/resume": {
        "post": _op("Reprendre le test après une pause", 200, params=("sid", "id"))
    },
    "/api/supervision/sessions/{sid}/candidates/{id}/adjust-time": {
        "post": _op(
            "Ajuster le temps",
            200,
            _obj(
                ["minutes", "reason"],
                minutes={"type": "integer", "minimum": -30, "maximum": 120},
                reason={"type": "string"},
            ),
            params=("sid", "id"),
        )
    },
    "/api/supervision/sessions/{sid}/pause": {
        "post": _op(
            "Mettre la salle en pause", 200, _obj([], message={"type": "string", "nullable": True}), params=("sid",)
        )
    },
    "/api/supervision/sessions/{sid}/resume": {"post": _op("Reprendre les tests en pause", 200, params=("sid",))},
    "/api/supervision/sessions/{sid}/bulk": {
        "post": _op(
            "Action groupée",
            200,
            _obj(
                ["action"],
                action={"type": "string", "enum": list(BulkAction)},
                candidate_ids={"type": "array", "items": _ID},
                all_in_progress={"type": "boolean"},
                message={"type": "string", "nullable": True},
                # end_test only: the reason « Terminer le test » takes.
                category={"type": "string", "enum": list(ReportCategory)},
                comment={"type": "string", "maxLength": 1000},
            ),
            params=("sid",),
        )
    },
    "/api/supervision/sessions/{sid}/messages": {
        "post": _op(
            "Message à la salle ou à un candidat",
            201,
            _obj(["text"], text={"type": "string"}, candidate_id=_ID),
            params=("sid",),
        )
    },
    "/api/supervision/sessions/{sid}/supervisor-kit.pdf": {
        "get": _op("Kit surveillant (PDF), pour les surveillants", 200, params=("sid",))
    },
    "/api/candidate/join": {
        "post": _op(
            "Rejoindre la session",
            200,
            _obj(
                ["session_id", "access_code", "first_name", "last_name", "birthdate"],
                session_id=_ID,
                access_code={"type": "string"},
                first_name={"type": "string"},
                last_name={"type": "string"},
                birthdate=_DATE,
            ),
        )
    },
    "/api/candidate/start": {"post": _op("Commencer le test", 201, _obj(["consent"], consent={"type": "boolean"}))},
    "/api/candidate/test": {"get": _op("Question en cours", 200)},
    "/api/schema/messages.json": {"get": _op("Schéma JSON des messages des websockets", 200)},
    "/api/i18n/{locale}.json": {
        "get": {
            **_op("Les textes des pages dans une langue (msgid français → traduction)", 200),
            "parameters": [
                {"name": "locale", "in": "path", "required": True, "schema": {"type": "string", "enum": list(LOCALES)}}
            ],
        }
    },
    "/api/candidate/alerts": {
        "post": _op(
            "Signaler un problème sur la question en cours",
            201,
            _obj(
                ["question_id", "category"],
                question_id={"type": "string"},
                category={"type": "string", "enum": list(AlertCategory)},
                comment={"type": "string", "maxLength": 500},
            ),
        )
    },
    "/api/supervision/sessions/{sid}/alerts/{aid}/validate": {
        "post": _op("Valider un signalement (nouvelle question)", 200, params=("sid", "aid"))
    },
    "/api/supervision/sessions/{sid}/alerts/{aid}/refuse": {
        "post": _op("Refuser un signalement (même question)", 200, params=("sid", "aid"))
    },
    "/api/supervision/sessions/{sid}/candidates/{id}/reports": {
        "post": _op("Rédiger un rapport d'incident", 201, _REPORT_IN, params=("sid", "id"))
    },
    "/api/supervision/sessions/{sid}/candidates/{id}/reports/{rid}": {
        "patch": _op(
            "Modifier son rapport d'incident",
            200,
            {
                "type": "object",
                "properties": {
                    "category": {"type": "string", "enum": list(ReportCategory)},
                    "comment": {"type": "string", "maxLength": 1000},
                },
            },
            params=("sid", "id", "rid"),
        ),
        "delete": _op("Supprimer son rapport d'incident", 204, params=("sid", "id", "rid")),
    },
    "/api/sessions/{sid}/proces-verbal.pdf": {
        "get": _op("Procès-verbal de la session finalisée (PDF)", 200, params=("sid",))
    },
    "/api/sessions/{sid}/reports.csv": {"get": _op("Rapports d'incident (CSV)", 200, params=("sid",))},
    "/api/candidate/answers": {
        "post": _op(
            "Répondre",
            200,
            _obj(["question_id", "answer"], question_id={"type": "string"}, answer={"type": "integer", "minimum": 0}),
        )
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Surveillance",
            "version": "1",
            "description": "API JSON de Surveillance (voir CONTRACT.md).",
        },
        "paths": PATHS,
    }


@functools.cache
def messages_schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(MESSAGES_SCHEMA.read_text(encoding="utf-8"))
    return document
