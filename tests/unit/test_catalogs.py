"""Every word the project extracts has its English, with the same named placeholders.

Generic over the catalogs: each extraction config names the domains it feeds (babel.cfg the
server's, babel-js.cfg the browser's), a fresh `pybabel extract` with it is compared with
those domains' .po files together, and every .po under app/locale is checked entry by entry.
Both configs must exist: a missing one would leave its domain unchecked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parents[2]
PYBABEL = Path(sys.executable).with_name("pybabel")
CONFIGS = {"babel.cfg": i18n.SERVER_DOMAINS, "babel-js.cfg": (i18n.JS_DOMAIN,)}
TRANSLATED = tuple(locale for locale in i18n.LOCALES if locale != i18n.DEFAULT)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted(config: str, tmp_path: Path) -> Catalog:
    pot = tmp_path / f"{config}.pot"
    subprocess.run(
        [str(PYBABEL), "extract", "-F", config, "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as source:
        return read_po(source)


def catalogs() -> Iterator[Path]:
    yield from sorted((ROOT / "app" / "locale").glob("*/LC_MESSAGES/*.po"))


def read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=path.parts[-3])


def forms(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def key(message: Message) -> str:
    """The msgid (the singular of a plural pair), after its context when it has one."""
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return f"{message.context}|{msgid}" if message.context else msgid


def untranslated(fresh: Catalog, known: dict[str, Message]) -> list[str]:
    """The msgids of a fresh extraction that `known` (msgid → entry) does not translate."""
    missing = []
    for message in fresh:
        if not message.id:
            continue
        found = known.get(key(message))
        if found is None or found.fuzzy or not all(form.strip() for form in forms(found)):
            missing.append(key(message))
        elif not isinstance(message.id, str) and found.id != message.id:
            missing.append(f"{key(message)} (plural form changed)")
    return missing


def placeholder_faults(catalog: Catalog) -> list[tuple[str, str]]:
    """Entries whose translation names other placeholders than the msgid, or breaks %-formatting."""
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        wanted = {name for text in ids for name in PLACEHOLDER.findall(text)}
        for form in forms(message):
            if form and set(PLACEHOLDER.findall(form)) != wanted:
                wrong.append((key(message), form))
            elif form and "python-format" in message.flags:
                try:
                    form % {name: "x" for name in wanted}
                except (KeyError, ValueError, TypeError) as exc:
                    wrong.append((key(message), f"{form} ({exc!r})"))
    return wrong


@pytest.mark.parametrize("locale", TRANSLATED)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_every_extracted_msgid_is_translated(config: str, locale: str, tmp_path: Path) -> None:
    assert (ROOT / config).exists(), f"{config} is missing: its domains would go unchecked"
    known: dict[str, Message] = {}
    for domain in CONFIGS[config]:
        po = ROOT / "app" / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"
        if po.exists():
            known.update({key(m): m for m in read(po) if m.id})
    missing = untranslated(extracted(config, tmp_path), known)
    assert not missing, f"{len(missing)} msgid(s) of {config} without {locale}: {missing}"


@pytest.mark.parametrize("po", list(catalogs()), ids=lambda p: "/".join(p.parts[-3:]))
def test_placeholders_are_the_same_in_both_languages(po: Path) -> None:
    assert not placeholder_faults(read(po))


def test_the_checks_see_a_missing_translation_and_a_lost_placeholder() -> None:
    fresh = Catalog()
    for msgid in ("Session %(number)s", "Aucun", "Fermer", ("%(n)s jour", "%(n)s jours")):
        fresh.add(msgid)
    po = Catalog(locale="en")
    po.add("Session %(number)s", "Session", flags=("python-format",))
    po.add("Aucun", "")
    po.add("Fermer", "Close", flags=("fuzzy",))
    po.add(("%(n)s jour", "%(n)s jours"), ("%(n)s day", "%(count)s days"), flags=("python-format",))
    po.add("Taux %(value)s", "Rate %(value)s %", flags=("python-format",))
    known = {key(m): m for m in po if m.id}
    assert untranslated(fresh, known) == ["Aucun", "Fermer"]
    assert [k for k, _ in placeholder_faults(po)] == ["Session %(number)s", "%(n)s jour", "Taux %(value)s"]
