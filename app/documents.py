"""The language and formats of what we print: the kit, the procès-verbal, the command line.

A document is drawn in one language, the one of whoever asked for it (their request, their
terminal); its dates, times and numbers follow that language's conventions, read in the time
zone where the session takes place.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time, get_timezone_location
from babel.numbers import format_decimal

from app import i18n
from app.i18n import N_ as N_  # the marker, where the documents name it

_HOUR = re.compile(r"^\s*(\d{1,2})[:h](\d{2})\s*$")


@contextmanager
def language(locale: str | None) -> Iterator[str]:
    """Draws what follows in `locale` (or, if None or unknown, the language already current)."""
    chosen = i18n.supported(locale) or i18n.current.get()
    token = i18n.current.set(chosen)
    try:
        yield chosen
    finally:
        i18n.current.reset(token)


def zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # a system without tzdata: print UTC rather than fail
        return dt.UTC


def city(tz: dt.tzinfo) -> str:
    """The place a time zone is named after, in the current language ("Paris", "New York")."""
    if tz is dt.UTC:
        return "UTC"
    return str(get_timezone_location(tz, locale=i18n.babel_locale(), return_city=True))


def day(value: dt.date) -> str:
    """The short date the pages show too (28/12/2021, 28 Dec 2021): app.i18n.format_date."""
    return i18n.format_date(value)


def long_day(value: dt.date) -> str:
    """The month in words, for sentences: 28 décembre 2021, December 28, 2021."""
    return str(format_date(value, "long", locale=i18n.babel_locale()))


def clock(moment: dt.datetime | None, tz: dt.tzinfo, *, seconds: bool = True) -> str:
    """The time of day of `moment` in `tz` (07:05:07, 7:05:07 AM); "—" when there is none."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return str(format_time(local, "medium" if seconds else "short", tzinfo=tz, locale=i18n.babel_locale()))


def hour(text: str) -> str | None:
    """A scheduled time typed as "11:00" in the language's own way (11:00, 11:00 AM); None if
    the text is not such a time, and is then printed as typed."""
    found = _HOUR.match(text)
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        return None
    return str(format_time(dt.time(int(found[1]), int(found[2])), "short", locale=i18n.babel_locale()))


def number(value: int) -> str:
    return str(format_decimal(value, locale=i18n.babel_locale()))


def label(words: Mapping[str, str], code: str) -> str:
    """The word for `code` in one of the tables of French msgids, translated; the code itself
    when the table does not know it (a value written by a newer version)."""
    known = words.get(code)
    return i18n.gettext(str(known)) if known is not None else code
