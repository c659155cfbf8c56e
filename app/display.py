"""Display rules for what the server renders into pages: the same words and formats as
static/js/format.js, for the parts of a page that arrive complete in its HTML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

from vocabulary import ENDED, CandidateStatus, SessionStatus

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")

# A candidate's status as the centre's list shows it: words and the colour of the tag.
CENTRE_STATUS = {
    CandidateStatus.NOT_STARTED: ("Inscrit", "neutral"),
    CandidateStatus.IN_PROGRESS: ("En cours", "success"),
    CandidateStatus.FINISHED: ("Terminé", "neutral"),
    CandidateStatus.ENDED_BY_SUPERVISOR: ("Terminé par le surveillant", "neutral"),
    CandidateStatus.ENDED_BY_FINALIZATION: ("Terminé à la finalisation", "neutral"),
    CandidateStatus.ENDED_BY_EXPIRY: ("Fermé automatiquement", "neutral"),
}


def fr_date(iso: str | None) -> str:
    """ "2021-12-28" → "28/12/2021"."""
    found = _ISO_DATE.match(iso or "")
    return f"{found[3]}/{found[2]}/{found[1]}" if found else ""


def list_name(c: Mapping[str, Any]) -> str:
    """ "DUPONT Paul", as in the guide's candidate list."""
    return f"{str(c['last_name']).upper()} {c['first_name']}"


def centre_status(c: Mapping[str, Any]) -> tuple[str, str]:
    if c["status"] == CandidateStatus.NOT_STARTED and c.get("authorized_to_start"):
        return "Présence confirmée", "info"
    return CENTRE_STATUS.get(c["status"], (str(c["status"]), "neutral"))


def install(env: Environment) -> None:
    env.filters.update(fr_date=fr_date, list_name=list_name, centre_status=centre_status)
    env.globals.update(CandidateStatus=CandidateStatus, SessionStatus=SessionStatus, ENDED=ENDED)
