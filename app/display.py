"""Display rules for what the server renders into pages: the same words and formats as
static/js/format.js, for the parts of a page that arrive complete in its HTML, in the
request's language (dates and numbers through Babel)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from app.codes import fold
from app.i18n import N_, format_date, gettext
from vocabulary import ENDED, CandidateStatus, Connection, SessionStatus

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


def _moment(iso: str | None) -> dt.datetime | None:
    if not iso:
        return None
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def clock(iso: str | None, timezone: str) -> str:
    """ "2026-11-30T09:05:00Z" → "10:05" in the sessions' time zone, as format.js's clock()."""
    moment = _moment(iso)
    return "" if moment is None else f"{moment.astimezone(ZoneInfo(timezone)):%H:%M}"


def attention(c: Mapping[str, Any]) -> int:
    """How urgently a row needs a supervisor, 0 first; 4 is "nothing to do" (supervision.js)."""
    running = c["status"] == CandidateStatus.IN_PROGRESS
    if c.get("alert"):
        return 0
    if c["resume_requested"] and running:
        return 1
    if c["connection"] == Connection.LOST and running:
        return 2
    if running and c.get("overtime"):
        return 3
    return 4


def dashboard_order(candidates: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The dashboard's order: the most urgent rows first, then by name (supervision.js sorted())."""
    return sorted(candidates, key=lambda c: (attention(c), fold(c["last_name"]), fold(c["first_name"]), c["id"]))


def filter_counts(candidates: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The counts on the dashboard's filter buttons (filters.js)."""
    rows = list(candidates)
    return {
        "all": len(rows),
        "todo": sum(1 for c in rows if attention(c) < 4),
        "not_started": sum(1 for c in rows if c["status"] == CandidateStatus.NOT_STARTED),
        "in_progress": sum(1 for c in rows if c["status"] == CandidateStatus.IN_PROGRESS),
        "ended": sum(1 for c in rows if c["status"] in ENDED),
    }


def paused_for(since: str | None, now: dt.datetime | None = None) -> str:
    """How long a pause has lasted, in room.js's words: "moins d'1 min", "12 min", "1 h 05"."""
    moment = _moment(since)
    if moment is None:
        return gettext("moins d'1 min")
    minutes = int(((now or dt.datetime.now(dt.UTC)) - moment).total_seconds() // 60)
    if minutes < 1:
        return gettext("moins d'1 min")
    if minutes < 60:
        return gettext("%(minutes)s min") % {"minutes": minutes}
    return gettext("%(hours)s h %(minutes)s") % {"hours": minutes // 60, "minutes": f"{minutes % 60:02d}"}


def signed_minutes(minutes: int) -> str:
    """+5 min, −5 min (a real minus sign, as room.js writes it)."""
    return gettext("%(sign)s%(minutes)s min") % {"sign": "+" if minutes > 0 else "−", "minutes": abs(minutes)}


def install(env: Environment, timezone: str) -> None:
    # fr_date: the name the templates used before the dates followed the language.
    env.filters.update(
        short_date=short_date,
        fr_date=short_date,
        percent=percent,
        list_name=list_name,
        centre_status=centre_status,
        clock=lambda iso: clock(iso, timezone),
        paused_for=paused_for,
        signed_minutes=signed_minutes,
        dashboard_order=dashboard_order,
        filter_counts=filter_counts,
    )
    env.globals.update(
        CandidateStatus=CandidateStatus,
        SessionStatus=SessionStatus,
        Connection=Connection,
        ENDED=ENDED,
        timezone=timezone,
    )
