"""Display rules for what the server renders into pages: the same words and formats as
static/js/format.js, for the parts of a page that arrive complete in its HTML, in the
request's language (dates and numbers through Babel)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

from app.i18n import N_, format_date, gettext
from vocabulary import ENDED, CandidateStatus, SessionStatus

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")

# A candidate's status as the centre's list shows it: words (msgids) and the colour of the tag.
CENTRE_STATUS = {
    CandidateStatus.NOT_STARTED: (N_("Inscrit"), "neutral"),
    CandidateStatus.IN_PROGRESS: (N_("En cours"), "success"),
    CandidateStatus.FINISHED: (N_("Terminé"), "neutral"),
    CandidateStatus.ENDED_BY_SUPERVISOR: (N_("Terminé par le surveillant"), "neutral"),
    CandidateStatus.ENDED_BY_FINALIZATION: (N_("Terminé à la finalisation"), "neutral"),
    CandidateStatus.ENDED_BY_EXPIRY: (N_("Fermé automatiquement"), "neutral"),
}


def short_date(value: str | dt.date | None) -> str:
    """ "2021-12-28" (or a date) → "28/12/2021" in French, "28 Dec 2021" in English. A
    session's date is the centre's local calendar day: no time zone to convert."""
    if isinstance(value, dt.date):
        return format_date(value)
    found = _ISO_DATE.match(value or "")
    if not found:
        return ""
    try:
        return format_date(dt.date(int(found[1]), int(found[2]), int(found[3])))
    except ValueError:
        return ""


def percent(value: int) -> str:
    return gettext("%(value)s %%") % {"value": value}


def list_name(c: Mapping[str, Any]) -> str:
    """ "DUPONT Paul", as in the guide's candidate list."""
    return f"{str(c['last_name']).upper()} {c['first_name']}"


def centre_status(c: Mapping[str, Any]) -> tuple[str, str]:
    if c["status"] == CandidateStatus.NOT_STARTED and c.get("authorized_to_start"):
        return gettext("Présence confirmée"), "info"
    words, tone = CENTRE_STATUS.get(c["status"], (str(c["status"]), "neutral"))
    return gettext(words), tone


def install(env: Environment) -> None:
    # fr_date: the name the templates used before the dates followed the language.
    env.filters.update(
        short_date=short_date, fr_date=short_date, percent=percent, list_name=list_name, centre_status=centre_status
    )
    env.globals.update(CandidateStatus=CandidateStatus, SessionStatus=SessionStatus, ENDED=ENDED)
