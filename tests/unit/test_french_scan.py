"""No French left outside the catalogs: template text and attributes go through _() or
{% trans %}, and every refusal message of app/errors.py is extracted."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app import errors

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").glob("*.html"))
# Not words to translate: the product's name, addresses, formats and examples of codes.
NOT_WORDS = {"Surveillance", "Surveillance · Surveillance"}

_SKIPPED = re.compile(
    r"\{#.*?#\}|\{%-?\s*trans\b.*?endtrans\s*-?%\}|<script\b.*?</script>|<svg\b.*?</svg>|<code>.*?</code>"
    # The attributes a page gives its <main>: markup, not words.
    r"|\{%\s*block main_attrs\s*%\}.*?\{%\s*endblock\s*%\}",
    re.S,
)
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_TAG = re.compile(r"<[^>]*>")
# Attributes read out or shown as they are, and data-* ones that carry words for a script to
# put on the page (data-note-…, data-on, a data-valuetext pattern): the candidate row's words
# waiting in such attributes went unnoticed when only a fixed list of names was read.
_SHOWN_ATTRIBUTE = re.compile(
    r'\b(aria-label|aria-valuetext|aria-description|aria-roledescription|title|placeholder|alt|value|data-[\w-]+)="([^"]*)"'
)
_LETTER = re.compile(r"[A-Za-zÀ-ÿ]")
# A string literal in an expression or a tag, outside a call of _ / gettext / ngettext / pgettext.
_TRANSLATED_CALL = re.compile(r'\b(?:_|gettext|ngettext|pgettext)\(\s*(?:"(?:[^"\\]|\\.)*"\s*,?\s*)+')
_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_PROSE = re.compile(r"[À-ÿ]|[A-Za-z]+ [A-Za-z]+")
_WORDS = re.compile(r"[À-ÿ]|[A-Za-z]\s|\s[A-Za-z]")


def french_left(source: str) -> list[str]:
    """What a template shows without a translation: text, shown attributes, prose literals."""
    found: list[str] = []
    source = _SKIPPED.sub(" ", source)
    for expression in _EXPRESSION.findall(source):
        rest = _TRANSLATED_CALL.sub("", expression)
        for double, single in _LITERAL.findall(rest):
            literal = double or single
            if _PROSE.search(literal) and not literal.startswith(("js/", "css/", "/")):
                found.append(literal)
    plain = _EXPRESSION.sub(" ", source)
    for tag in _TAG.findall(plain):
        for name, value in _SHOWN_ATTRIBUTE.findall(tag):
            # A data-* or value attribute often holds a code ("all", "in_progress"): there,
            # words are an accent or letters beside a space ("{answered} sur {total}").
            code_like = (name.startswith("data-") and name not in ("data-one", "data-many")) or name == "value"
            if (_WORDS if code_like else _LETTER).search(value):
                found.append(value.strip())
    for text in _TAG.split(plain):
        text = " ".join(text.split())
        if _LETTER.search(text) and text not in NOT_WORDS:
            found.append(text)
    return found


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_french_text_inline_in_templates(template: Path) -> None:
    assert french_left(template.read_text(encoding="utf-8")) == []


def test_the_template_scan_sees_french() -> None:
    page = """
    {% block title %}Connexion{% endblock %}
    <p>{{ _("Bonjour") }} <strong>tout le monde</strong></p>
    <input placeholder="Rechercher un candidat" aria-label="{{ _("Chercher") }}">
    <span>{{ "inscrit" if n <= 1 else "inscrits" }}</span>
    <p>{% trans %}Déjà <em>traduit</em>{% endtrans %}</p>
    {% set space = "Espace centre" %}
    <progress aria-valuetext="{{ a }} sur {{ b }}" data-valuetext="{answered} sur {total}" data-filter="in_progress"></progress>
    <p data-note-ended="{{ _("Test terminé") }}" data-part="end-note" hidden><span data-slot="name"></span> : afficher</p>
    """
    assert french_left(page) == [
        "Espace centre",
        "Rechercher un candidat",
        "sur",
        "{answered} sur {total}",
        "Connexion",
        "tout le monde",
        ": afficher",
    ]


def _extracted_msgids(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True
    )
    with pot.open("rb") as source:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}


def _refusals() -> list[type[errors.DomainError]]:
    return [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.DomainError)]


def test_every_refusal_message_is_extracted(tmp_path: Path) -> None:
    msgids = _extracted_msgids(tmp_path)
    constants = [v for k, v in vars(errors).items() if k.isupper() and isinstance(v, str)]
    missing = [m for m in constants + [c.message for c in _refusals()] if m not in msgids]
    assert not missing, missing


def test_no_refusal_words_are_built_outside_the_catalog() -> None:
    """In app/errors.py, prose is a literal given to N_ / Text.gettext / Text.ngettext, never
    an f-string or a bare literal that extraction would not find."""
    tree = ast.parse((ROOT / "app" / "errors.py").read_text(encoding="utf-8"))
    marked: set[int] = set()
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("N_", "gettext", "ngettext"):
                marked.update(id(a) for a in node.args)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    loose = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            loose.append(ast.unparse(node))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in marked | docstrings
            and re.search(r"[a-zà-ÿ]+ [a-zà-ÿ]+", node.value)
        ):
            loose.append(node.value)
    assert not loose, loose
