"""Languages: which one a request gets, and the translations of the server's own words.

French is the source language: msgids are the French texts, so a missing English entry shows
French rather than a code. The request's language lives in a context variable, set once per
request by the `Locale` middleware, so templates, error bodies and documents built during the
request all read the same choice without passing it through every call.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale as BabelLocale
from babel.dates import format_date as format_babel_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from app.headers import request_headers, weighted

LOCALES = ("fr", "en")
DEFAULT = "fr"
COOKIE = "lang"
DOMAIN = "messages"
SERVER_DOMAINS = ("messages", "documents")
JS_DOMAIN = "js"
CATALOGS = Path(__file__).parent / "locale"

current: ContextVar[str] = ContextVar("locale", default=DEFAULT)


def supported(value: str | None) -> str | None:
    """`value` if it names one of our languages ("en", "en-GB", "EN_us"), else None."""
    if not value:
        return None
    base = value.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else None


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an Accept-Language header, by its q-values."""
    ranked: list[tuple[float, int, str]] = []
    for index, (tag, quality) in enumerate(weighted(header or "")):
        locale = supported(tag)
        if locale and quality > 0:
            ranked.append((-quality, index, locale))
    return min(ranked)[2] if ranked else None


def negotiate(*choices: str | None, accept_language: str | None = None) -> str:
    """The first supported explicit choice (cookie, profile…), else the browser's, else French."""
    for choice in choices:
        locale = supported(choice)
        if locale:
            return locale
    return from_accept_language(accept_language) or DEFAULT


class _French(NullTranslations):
    """The source language needs no catalog, only its plural rule: 0 and 1 take the singular
    ("0 candidat inscrit"), where gettext's default would say "0 candidats"."""

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n <= 1 else plural

    def npgettext(self, context: str, singular: str, plural: str, num: int) -> str:
        return singular if num <= 1 else plural


@cache
def translations(locale: str) -> NullTranslations:
    """The server's catalogs of `locale` merged into one, compiled from their .po at first use
    (no .mo to ship or forget). Pages and errors are in `messages`, the PDFs and the command
    line in `documents`; the browser's words are in `js`, served apart (see JS_DOMAIN)."""
    if locale == DEFAULT:
        return _French()
    merged: NullTranslations = NullTranslations()
    for domain in SERVER_DOMAINS:
        po = CATALOGS / locale / "LC_MESSAGES" / f"{domain}.po"
        if not po.exists():
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale, domain=domain)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        loaded = Translations(compiled, domain=DOMAIN)
        merged = loaded if not isinstance(merged, Translations) else merged.merge(loaded)
    return merged


@cache
def browser_catalog(locale: str) -> dict[str, str | list[str]]:
    """The browser's words in `locale` (js.po), as static/js/i18n.js reads them: msgid →
    msgstr, and for a plural the singular msgid → its forms. French is the msgids: empty.
    An entry not yet translated is left out, so the page shows its French."""
    po = CATALOGS / locale / "LC_MESSAGES" / f"{JS_DOMAIN}.po"
    if locale == DEFAULT or not po.exists():
        return {}
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=JS_DOMAIN)
    entries: dict[str, str | list[str]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, (list, tuple)):
            forms = [str(form) for form in message.string or ()]
            if all(forms):
                entries[str(message.id[0])] = forms
        elif message.string:
            entries[str(message.id)] = str(message.string)
    return entries


def gettext(message: str) -> str:
    return translations(current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(current.get()).pgettext(context, message))


_ = gettext


def babel_locale(locale: str | None = None) -> BabelLocale:
    return BabelLocale.parse(locale or current.get())


def choices() -> Iterable[tuple[str, str]]:
    """Each language with its own name, for the language switch ("Français", "English")."""
    for locale in LOCALES:
        yield locale, (BabelLocale.parse(locale).get_display_name(locale) or locale).capitalize()


class Locale:
    """Sets the request's language before anything else reads it: the `lang` cookie (the visible
    switch), else the browser's Accept-Language, else French. A logged-in account's saved
    choice is applied later, where the login is known, by calling `current.set` again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = request_headers(scope)
        cookies = headers.get("cookie", "")
        # A candidate's cookie header rarely holds a language choice: no parse for nothing.
        cookie = cookie_parser(cookies).get(COOKIE) if COOKIE in cookies else None
        token = current.set(_negotiated(cookie, headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)


@lru_cache(maxsize=256)
def _negotiated(cookie: str | None, accept_language: str | None) -> str:
    # A few browsers' headers and two cookie values in practice: parsed once each.
    return negotiate(cookie, accept_language=accept_language)


def install(env: Environment) -> None:
    """Templates write `{{ _("Texte") }}` / `{% trans %}` and read the request's language."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext)  # type: ignore[attr-defined]
    env.globals.update(locale=current.get, locales=choices, browser_catalog=lambda: browser_catalog(current.get()))


def N_(message: str) -> str:
    """Marks a French text for extraction where it is written (a class line, a table); it is
    translated later, where it is shown, in the language current then."""
    return message


# A short date as each language writes it, on pages and documents alike: the French one is
# the guide's (28/12/2021); the English one names the month, which no reader takes for the day.
_DATE_PATTERNS = {"fr": "dd/MM/yyyy", "en": "d MMM yyyy"}


def format_date(value: dt.date, locale: str | None = None) -> str:
    code = locale or current.get()
    return str(format_babel_date(value, _DATE_PATTERNS.get(code, "medium"), locale=code))


@dataclass(frozen=True)
class Text:
    """Words to say later: a msgid (a plural pair, when `plural` is given) and its named
    values, put into words in whatever language is current when the text is read. Values
    may be Texts themselves, and dates are written the reader's way."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None
    count: int = 0

    def __str__(self) -> str:
        words = ngettext(self.msgid, self.plural, self.count) if self.plural else gettext(self.msgid)
        return words % self._values() if self.params else words

    @classmethod
    def gettext(cls, msgid: str, **params: object) -> Text:
        # Named like the function so that extraction finds the msgid at the call.
        return cls(msgid, params)

    @classmethod
    def ngettext(cls, singular: str, plural: str, count: int, **params: object) -> Text:
        return cls(singular, params, plural, count)

    def source(self) -> str:
        """The French words, whatever the request's language (logs, the exception's str)."""
        token = current.set(DEFAULT)
        try:
            return str(self)
        finally:
            current.reset(token)

    def _values(self) -> dict[str, object]:
        values: dict[str, object] = {}
        for name, value in self.params.items():
            if isinstance(value, Text):
                values[name] = str(value)
            elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                values[name] = format_date(value)
            else:
                values[name] = value
        return values
