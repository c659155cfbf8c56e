"""The candidates CSV (`nom;prenom;date_naissance;temps_majore`): parsed in full before
anything is written, so one bad line imports nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from app.actions.centres import Enrolment
from app.http import parse_date
from app.i18n import N_, gettext

HEADER = ["nom", "prenom", "date_naissance", "temps_majore"]
# A spreadsheet would run a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str  # a msgid: the reader's language is chosen when the answer is written

    def json(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "message": gettext(self.message)}


def decode(raw: bytes) -> str | None:
    """UTF-8 (with or without BOM), else Windows-1252 as spreadsheets on French Windows save it."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _name(value: str, field: str, line: int, problems: list[RowProblem]) -> str:
    value = " ".join(value.split())
    if not value:
        problems.append(RowProblem(line, field, N_("champ obligatoire")))
    elif len(value) > 100:
        problems.append(RowProblem(line, field, N_("100 caractères au maximum")))
    elif value.startswith(_FORMULA_START):
        problems.append(RowProblem(line, field, N_("ne doit pas commencer par =, +, - ou @")))
    elif any(ord(ch) < 32 for ch in value):
        problems.append(RowProblem(line, field, N_("caractères non autorisés")))
    return value


def parse(text: str) -> tuple[list[tuple[int, Enrolment]], list[RowProblem]]:
    sample = text[:2048]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, Enrolment]] = []
    problems: list[RowProblem] = []
    header_seen = False
    try:
        records = list(enumerate(reader, start=1))
    except csv.Error:
        # A field over the csv module's limit (128 KiB) or a malformed quote: refuse, not crash.
        return [], [RowProblem(reader.line_num, "fichier", N_("fichier CSV illisible (champ trop long ou mal formé)"))]
    for number, cells in records:
        if not any(c.strip() for c in cells):
            continue
        if not header_seen:
            header_seen = True
            names = [c.strip().lower().replace("é", "e") for c in cells]
            if names[:3] != HEADER[:3]:
                problems.append(RowProblem(number, "en-tête", N_("attendu : nom;prenom;date_naissance;temps_majore")))
                return [], problems
            continue
        cells = [*cells, "", "", "", ""][:4] if len(cells) <= 4 else cells
        if len(cells) > 4:
            problems.append(RowProblem(number, "ligne", N_("trop de colonnes")))
            continue
        last = _name(cells[0], "nom", number, problems)
        first = _name(cells[1], "prenom", number, problems)
        birth = parse_date(cells[2])
        if birth is None or birth.year < 1900:
            problems.append(RowProblem(number, "date_naissance", N_("date invalide (JJ/MM/AAAA)")))
        extra_raw = cells[3].strip().rstrip("%").strip()
        extra = 0
        if extra_raw:
            if not extra_raw.isdecimal() or int(extra_raw) > 200:
                problems.append(RowProblem(number, "temps_majore", N_("pourcentage entre 0 et 200")))
            else:
                extra = int(extra_raw)
        if birth is not None and last and first:
            rows.append((number, Enrolment(last, first, birth, extra)))
    if not header_seen:
        problems.append(RowProblem(1, "fichier", N_("le fichier est vide")))
    if len(rows) > 500:
        problems.append(RowProblem(0, "fichier", N_("500 candidats au maximum par import")))
    return rows, problems
