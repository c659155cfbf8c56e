"""No French left inline in the pages' scripts: every word a person reads goes through
t("…") / tn("…", "…", n) (static/js/i18n.js), so the extraction (babel-js.cfg) finds it and
js.po translates it.

The scripts are read with Babel's own JavaScript lexer, the one the extraction uses, so what
this test calls a string is what `pybabel extract` sees. French is recognised by its letters
(accents, « », elisions), its small words, capitalised words and runs of plain words; code
(selectors, classes, keys, URLs) has none of these, and the few exceptions are named below."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

from babel.messages import jslexer

from app import i18n

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))

# Words of code that look like prose: browser and system names read from a User-Agent, and
# keyboard keys.
ALLOWED = {
    "Edge", "Opera", "Firefox", "Chrome", "Chromium", "Safari", "Android", "Windows", "Linux",
    "Mac OS X", "Tab", "Enter", "Escape", "Home", "End", "Accept", "Notification", "Surveillance",
}  # fmt: skip
FRENCH_LETTERS = re.compile(r"[àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ«»…’]")
ELISION = re.compile(r"(?<![\w-])(?:[cdjlmnst]|qu)'[a-zà-ÿ]", re.IGNORECASE)
SMALL_WORDS = {
    "le", "la", "les", "de", "des", "du", "un", "une", "est", "et", "ou", "vous", "votre", "vos", "pour", "sur",
    "par", "avec", "dans", "ce", "cette", "ces", "qui", "que", "pas", "plus", "aucun", "aucune", "son", "sa",
    "ses", "leur", "leurs", "au", "aux", "mon", "ma", "mes", "il", "ils", "elle", "sont",
}  # fmt: skip
PLAIN_WORD = re.compile(r"^\(?[A-Za-zÀ-ÿ']+[)]?[.:;!?]?$")
CAPITALISED = re.compile(r"^[A-Z][a-z]+[.!?]?$")
MSGID_CALLS = {"t": 1, "tn": 2}


def french(text: str) -> bool:
    text = text.strip()
    if not text or text in ALLOWED:
        return False
    if FRENCH_LETTERS.search(text) or ELISION.search(text):
        return True
    words = text.split()
    if any(w.strip("().,:;!?").lower() in SMALL_WORDS for w in words):
        return True
    if len(words) > 1 and all(PLAIN_WORD.match(w) for w in words):
        return True
    return len(words) == 1 and bool(CAPITALISED.match(text))


def tokens(source: str, lineno: int = 1) -> list[jslexer.Token]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(jslexer.tokenize(source, jsx=False, dotted=False, template_string=True, lineno=lineno))


def template_parts(literal: str) -> tuple[list[str], list[str]]:
    """A template literal's text and its ${…} expressions (strings inside them included)."""
    body = literal[1:-1]
    texts, expressions = [""], []
    i = 0
    while i < len(body):
        if body.startswith("${", i):
            depth, j, quote = 1, i + 2, ""
            while j < len(body) and depth:
                ch = body[j]
                if quote:
                    if ch == "\\":
                        j += 1
                    elif ch == quote:
                        quote = ""
                elif ch in "\"'`":
                    quote = ch
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                j += 1
            expressions.append(body[i + 2 : j - 1])
            texts.append("")
            i = j
        else:
            texts[-1] += body[i]
            i += 1
    return texts, expressions


def findings(source: str, name: str, lineno: int = 1) -> Iterator[str]:
    """Each French text outside t()/tn(), and each t()/tn() whose msgid is not a literal."""
    toks = [t for t in tokens(source, lineno) if t.type not in ("linecomment", "multilinecomment")]
    msgids: set[int] = set()
    for i, tok in enumerate(toks):
        count = MSGID_CALLS.get(tok.value) if tok.type == "name" else None
        if not count or i + 1 >= len(toks) or toks[i + 1].value != "(":
            continue
        if i and toks[i - 1].value in ("function", "."):
            continue
        position = i + 2
        for _ in range(count):
            arg = toks[position] if position < len(toks) else None
            if arg is None or arg.type != "string":
                yield f"{name}:{tok.lineno}: {tok.value}() needs a plain string literal as msgid"
                break
            msgids.add(position)
            position += 2  # the literal, then its comma
    for i, tok in enumerate(toks):
        if i in msgids:
            continue
        previous = [t.value for t in toks[max(0, i - 2) : i]]
        if previous[-2:] == ["class", ":"] or previous[-2:] == ["className", "="]:
            continue  # a list of CSS classes
        if tok.type == "string":
            if french(tok.value[1:-1]):
                yield f"{name}:{tok.lineno}: {tok.value}"
        elif tok.type == "template_string":
            texts, expressions = template_parts(tok.value)
            for text in texts:
                if french(text):
                    yield f"{name}:{tok.lineno}: `{text}` in {tok.value}"
            for expression in expressions:
                yield from findings(expression, name, tok.lineno)


def test_detector_knows_french_from_code() -> None:
    for prose in [
        "Message envoyé.", "Fermer", "Navigateur inconnu", "en ligne", "hors ligne", "(vous)",
        "Signalement", "merci de patienter.", "Aucun candidat", "d'incident",
    ]:  # fmt: skip
        assert french(prose), prose
    for code in [
        "input, button", "button button--ghost button--small", "[data-alert-dialog]", "main [data-step]:not([hidden]) [tabindex='-1']",
        "/connexion?next=/surveillance", "application/json", "same-origin", "in_progress", "fr", "2-digit", "ArrowDown",
        "surveillance.alertes.son", "Content-Type", "GET", "text/csv", " · ", " — ", "%(n)s", "iPhone", "Mac OS X",
    ]:  # fmt: skip
        assert not french(code), code


def test_the_lexer_sees_strings_inside_templates_and_skips_msgids() -> None:
    source = 'const a = `${x ? "en pause" : ""} fin`; t("Déjà traduit"); tn("%(n)s test", "%(n)s tests", n);'
    found = list(findings(source, "x.js"))
    assert any("en pause" in f for f in found) and not any("traduit" in f or "tests" in f for f in found), found
    assert "x.js:1: t() needs a plain string literal as msgid" in findings("t(`Bonjour ${name}`);", "x.js")
    assert list(findings('h("p", { class: "muted small flush" });', "x.js")) == []


def test_no_french_left_outside_t() -> None:
    left = [f for script in SCRIPTS for f in findings(script.read_text(encoding="utf-8"), script.name)]
    assert not left, "French text outside t()/tn() in static/js:\n" + "\n".join(left)


# ---------------------------------------------------------------- extraction and js.po

JS_PO = ROOT / "app" / "locale" / "en" / "LC_MESSAGES" / "js.po"
PLACEHOLDERS = re.compile(r"%\((\w+)\)s")


def called_msgids(source: str) -> set[str]:
    """Every msgid the scripts pass to t()/tn(), as the lexer reads the calls."""
    toks = [t for t in tokens(source) if t.type not in ("linecomment", "multilinecomment")]
    found: set[str] = set()
    for i, tok in enumerate(toks):
        count = MSGID_CALLS.get(tok.value) if tok.type == "name" else None
        if count and i + 1 < len(toks) and toks[i + 1].value == "(" and (not i or toks[i - 1].value != "function"):
            found.update(jslexer.unquote_string(toks[i + 2 + 2 * k].value) for k in range(count))
        elif tok.type == "template_string":
            for expression in template_parts(tok.value)[1]:
                found |= called_msgids(expression)
    return found


def extracted() -> dict[str, tuple[str, ...]]:
    """What `pybabel extract -F babel-js.cfg` finds (the keywords t and tn are the config's):
    msgid → its forms."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel-js.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map, DEFAULT_KEYWORDS):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
    return found


def test_extraction_finds_every_call() -> None:
    # A call Babel's extractor cannot see (nested in another call's arguments, inside a
    # template literal's ${} with templates of its own) would stay French in every language.
    called = set().union(*(called_msgids(s.read_text(encoding="utf-8")) for s in SCRIPTS))
    found = set().union(*(set(forms) for forms in extracted().values()))
    assert called - found == set(), "t()/tn() calls that pybabel extract does not find"
    assert len(called) > 250


def test_js_po_translates_every_extracted_msgid_with_the_same_placeholders() -> None:
    from babel.messages.pofile import read_po

    with JS_PO.open("rb") as source:
        catalog = read_po(source, locale="en", domain="js")
    entries = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    wanted = extracted()
    assert sorted(set(wanted) - set(entries)) == [], "msgids without an entry in js.po (run pybabel update)"
    assert sorted(set(entries) - set(wanted)) == [], "js.po entries no script uses any more"
    for msgid, forms in wanted.items():
        message = entries[msgid]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings) and not message.fuzzy, f"not translated: {msgid!r}"
        assert len(strings) == len(forms), msgid
        for form, string in zip(forms, strings, strict=True):
            assert sorted(PLACEHOLDERS.findall(form)) == sorted(PLACEHOLDERS.findall(string)), (form, string)
            assert form.count("%%") == string.count("%%"), (form, string)


def test_a_msgid_the_server_also_says_reads_the_same_in_the_browser() -> None:
    """« En cours » in a server-rendered row and in one the script redraws must not read two
    ways: where js.po and a server catalog share a msgid, they share its English."""
    from babel.messages.pofile import read_po

    def entries(po: Path) -> dict[str, object]:
        with po.open("rb") as source:
            return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(source, locale="en") if m.id}

    browser = entries(JS_PO)
    for domain in i18n.SERVER_DOMAINS:
        po = JS_PO.parent / f"{domain}.po"
        if po.exists():
            server = entries(po)
            disagree = {k: (browser[k], server[k]) for k in browser.keys() & server.keys() if browser[k] != server[k]}
            assert not disagree, (domain, disagree)
