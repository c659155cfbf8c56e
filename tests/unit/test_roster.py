"""The candidates CSV: decoding and parsing, every line judged before anything is written."""

from __future__ import annotations

import datetime as dt

import pytest

from app import roster

HEADER = "nom;prenom;date_naissance;temps_majore\n"


def parse(text: str) -> tuple[list[tuple[int, tuple[str, str, dt.date, int]]], list[tuple[int, str]]]:
    rows, problems = roster.parse(text)
    people = [(line, (e.last_name, e.first_name, e.birthdate, e.extra_time_percentage)) for line, e in rows]
    return people, [(p.line, p.field) for p in problems]


# ---------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("LÉGER;Hélène".encode(), "LÉGER;Hélène"),
        ("\ufeffLÉGER;Hélène".encode(), "LÉGER;Hélène"),
        ("LÉGER;Hélène;Œ;€".encode("cp1252"), "LÉGER;Hélène;Œ;€"),
        (b"", ""),
    ],
    ids=["utf-8", "utf-8-with-bom", "windows-1252", "empty"],
)
def test_decoding(raw: bytes, expected: str) -> None:
    assert roster.decode(raw) == expected


@pytest.mark.parametrize("raw", [b"\x81\x8d\x8f\x90\x9d", b"nom\x81;x"], ids=["undefined-in-cp1252", "one-bad-byte"])
def test_bytes_neither_utf8_nor_cp1252_are_refused(raw: bytes) -> None:
    assert roster.decode(raw) is None


# ---------------------------------------------------------------- good files


def test_french_and_iso_dates_and_extra_time() -> None:
    people, problems = parse(
        HEADER + "DELARUE;Sophie;04/07/2001;\nDURAND;Simon;1988-03-09;30\nPETIT;Léa;1/2/2003;25 %\n"
    )
    assert problems == []
    assert people == [
        (2, ("DELARUE", "Sophie", dt.date(2001, 7, 4), 0)),
        (3, ("DURAND", "Simon", dt.date(1988, 3, 9), 30)),
        (4, ("PETIT", "Léa", dt.date(2003, 2, 1), 25)),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "nom;prenom;date_naissance;temps_majore",
        "Nom;Prénom;Date_naissance;Temps_majore",
        "NOM;PRENOM;DATE_NAISSANCE",
        " nom ; prenom ; date_naissance ",
    ],
    ids=["exact", "accents-and-capitals", "three-columns", "spaces"],
)
def test_header_variants(header: str) -> None:
    people, problems = parse(header + "\nDELARUE;Sophie;04/07/2001\n")
    assert problems == [] and len(people) == 1


def test_comma_separated_files_and_quoted_fields() -> None:
    people, problems = parse(
        'nom,prenom,date_naissance,temps_majore\n"DE LA RUE, dite";Sophie,04/07/2001,\n'.replace(";", ",")
    )
    assert problems == []
    assert people[0][1][:2] == ("DE LA RUE, dite", "Sophie")


def test_blank_lines_and_extra_spaces_are_tidied() -> None:
    people, problems = parse("\n\n" + HEADER + "\n  DE   LA RUE ;  Sophie  ; 04/07/2001 ;\n;;;\n")
    assert problems == []
    assert people == [(5, ("DE LA RUE", "Sophie", dt.date(2001, 7, 4), 0))]  # lines as the spreadsheet numbers them


def test_a_header_alone_is_an_empty_roster() -> None:
    assert parse(HEADER) == ([], [])


# ---------------------------------------------------------------- bad lines


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (";Sophie;04/07/2001;", "nom"),
        ("DELARUE;;04/07/2001;", "prenom"),
        ("DELARUE;Sophie;;", "date_naissance"),
        ("DELARUE;Sophie;31/02/2001;", "date_naissance"),
        ("DELARUE;Sophie;2001-02-30;", "date_naissance"),
        ("DELARUE;Sophie;04-07-2001;", "date_naissance"),
        ("DELARUE;Sophie;04/07/1850;", "date_naissance"),
        ("DELARUE;Sophie;=TODAY();", "date_naissance"),
        ("DELARUE;Sophie;04/07/2001;201", "temps_majore"),
        ("DELARUE;Sophie;04/07/2001;-10", "temps_majore"),
        ("DELARUE;Sophie;04/07/2001;dix", "temps_majore"),
        ("DELARUE;Sophie;04/07/2001;1.5", "temps_majore"),
        ("DELARUE;Sophie;04/07/2001;²", "temps_majore"),
        ("DELARUE;Sophie;04/07/2001;0;extra", "ligne"),
        ("=cmd|' /C calc'!A0;Sophie;04/07/2001;", "nom"),
        ("DELARUE;+33 6 12;04/07/2001;", "prenom"),
        ("-DELARUE;Sophie;04/07/2001;", "nom"),
        ("@SUM(A1);Sophie;04/07/2001;", "nom"),
        ("\t=1+1;Sophie;04/07/2001;", "nom"),
        ("A" * 101 + ";Sophie;04/07/2001;", "nom"),
        ("DEL\x01ARUE;Sophie;04/07/2001;", "nom"),
    ],
    ids=lambda v: v if len(v) < 40 else v[:20] + "…",
)
def test_each_bad_cell_is_named(line: str, field: str) -> None:
    _, problems = parse(HEADER + line + "\n")
    assert problems == [(2, field)]


def test_every_problem_is_reported_at_once() -> None:
    _, problems = parse(HEADER + "A;B;01/01/2000;\n;B;01/01/2000;\nA;;32/01/2000;x\n")
    assert problems == [(3, "nom"), (4, "prenom"), (4, "date_naissance"), (4, "temps_majore")]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "fichier"),
        ("\n\n", "fichier"),
        ("name;first;birth\nA;B;01/01/2000\n", "en-tête"),
        ("A;B;01/01/2000\n", "en-tête"),
    ],
    ids=["empty", "blank-lines", "english-header", "no-header"],
)
def test_files_without_a_header_are_refused(text: str, field: str) -> None:
    people, problems = parse(text)
    assert people == [] and [f for _, f in problems] == [field]


def test_more_than_500_candidates_are_refused() -> None:
    lines = "".join(f"NOM{i};Prénom;01/01/2000;\n" for i in range(501))
    _, problems = parse(HEADER + lines)
    assert problems == [(0, "fichier")]
    _, problems = parse(HEADER + lines.split("\n", 1)[1])
    assert problems == []


@pytest.mark.parametrize(
    "text",
    [HEADER + "A" * 200_000 + ";B;01/01/2000;\n", HEADER + 'A;"B;01/01/2000;\n' + "x" * 200_000],
    ids=["field-over-128-kib", "quote-never-closed"],
)
def test_unreadable_csv_is_a_problem_not_a_crash(text: str) -> None:
    people, problems = parse(text)
    assert people == [] and [f for _, f in problems] == ["fichier"]
