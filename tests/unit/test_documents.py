"""The printed documents in French and in English: the kit, the procès-verbal, the command
line's language, and the catalog that holds their words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from babel.messages.pofile import read_po

from app import i18n
from app.cli import terminal_language
from app.kit import render_kit
from app.records import CandidateLine, Mark, Record, ReportLine, Slice, SupervisorLine, render_pdf
from tests.unit.test_kit import GUIDE_SESSION

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS_PO = ROOT / "app" / "locale" / "en" / "LC_MESSAGES" / "documents.po"
OUR_FILES = ("app/kit.py", "app/records.py", "app/pdf.py", "app/cli.py", "app/documents.py")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|%%")


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # English times carry a narrow no-break space before AM/PM: read it as a space.
    return " ".join(" ".join((page.extract_text() or "") for page in reader.pages).replace("\u202f", " ").split())


def _title(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title
    return str(reader.metadata.title)


# ---------------------------------------------------------------------------- the kit


KIT_FRENCH = [
    "Kit surveillant",
    "28/12/2021 · 11:00",
    "Adresse 12 rue de l'École",
    "Mot de passe de la session — pour le surveillant uniquement",
    "Code d'accès — à communiquer aux candidats",
    "4 candidats inscrits à cette session",
    "Le jour de la session",
    "Étape 4",
    "Autoriser la reprise d'un test",
]
KIT_ENGLISH = [
    "Supervisor kit",
    "28 Dec 2021 · 11:00 AM",
    "Centre Centre de Testix",
    "Address 12 rue de l'École",
    "Session password — for the supervisor only",
    "Access code — to give to the candidates",
    "4 candidates enrolled in this session",
    "On the day of the session",
    "Step 4",
    "Allowing a test to resume",
]


def test_the_kit_in_french_and_in_english() -> None:
    french = _text(render_kit(GUIDE_SESSION, locale="fr"))
    english = _text(render_kit(GUIDE_SESSION, locale="en"))
    for words in KIT_FRENCH:
        assert words in french, words
        assert words not in english, words
    for words in KIT_ENGLISH:
        assert words in english, words
    # The secrets and what centre staff typed are printed as they are, in any language.
    for kept in ("C-7XK4P", "XGDZ45", "Centre de Testix", "Salle 3"):
        assert kept in english


def test_the_kit_follows_the_language_of_the_moment_and_says_which_it_is() -> None:
    token = i18n.current.set("en")
    try:
        title = _title(render_kit(GUIDE_SESSION))
    finally:
        i18n.current.reset(token)
    assert title == "Supervisor kit — Session 668"
    assert "Supervisor kit · Session 668 · page 1/1" in _text(render_kit(GUIDE_SESSION, locale="en"))
    assert len(pypdf.PdfReader(io.BytesIO(render_kit(GUIDE_SESSION, locale="en"))).pages) == 1
    assert b"/Lang (en)" in render_kit(GUIDE_SESSION, locale="en", compress=False)
    assert b"/Lang (fr-FR)" in render_kit(GUIDE_SESSION, compress=False)
    # The language chosen for one document does not stay behind.
    assert i18n.current.get() == "fr"


@pytest.mark.parametrize(
    ("count", "french", "english"),
    [
        (0, "0 candidat inscrit", "0 candidates enrolled"),
        (1, "1 candidat inscrit", "1 candidate enrolled"),
        (2, "2 candidats inscrits", "2 candidates enrolled"),
        (1500, "1 500 candidats inscrits", "1,500 candidates enrolled"),
    ],
)
def test_the_kit_counts_candidates_by_each_language_s_rules(count: int, french: str, english: str) -> None:
    info = dataclasses.replace(GUIDE_SESSION, candidate_count=count)
    assert french in _text(render_kit(info, locale="fr"))
    assert english in _text(render_kit(info, locale="en"))


def test_a_time_that_is_not_a_time_is_printed_as_typed() -> None:
    info = dataclasses.replace(GUIDE_SESSION, time="11h00 ou 14h00")
    assert "28 Dec 2021 · 11h00 ou 14h00" in _text(render_kit(info, locale="en"))
    info = dataclasses.replace(GUIDE_SESSION, time="14h30")
    assert "28 Dec 2021 · 2:30 PM" in _text(render_kit(info, locale="en"))


# ---------------------------------------------------------------------- the procès-verbal


def _at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 11, 30, hour, minute, tzinfo=dt.UTC)


RECORD = Record(
    session_id=668,
    date=dt.date(2026, 11, 30),
    time="11:00",
    centre="Centre de Testix",
    address="12 rue de l'École",
    room="Salle 3",
    examiner="Surveillant Test",
    status="finalized",
    timezone="Europe/Paris",
    finalized_at=_at(11, 37),
    finalized_by="Alice Martin",
    comment="",
    supervisors=[SupervisorLine("Marie Curie", _at(9, 52), _at(11, 30))],
    candidates=[
        CandidateLine(
            name="DUPONT Paul",
            birthdate=dt.date(1997, 5, 21),
            status="ended_by_finalization",
            started_at=_at(10, 2),
            ended_at=_at(11, 37),
            answered=12,
            total=20,
            extra_time=30,
            alerts=[(1, "validated")],
            reports=1,
            missing_reason=True,
            slices=[Slice(_at(10, 2), _at(10, 40), "connected"), Slice(_at(10, 40), _at(11, 37), "lost")],
            marks=[Mark(_at(10, 2), "start"), Mark(_at(10, 20), "alert"), Mark(_at(11, 37), "end")],
        ),
        CandidateLine("PETIT Léa", dt.date(2001, 7, 4), "not_started", None, None, 0, 20, 0, [], 0),
    ],
    reports=[
        ReportLine(
            "DUPONT Paul",
            dt.date(1997, 5, 21),
            "technical",
            "finalization",
            "Alice Martin",
            _at(11, 37),
            _at(11, 40),
            "Poste lent",
        )
    ],
)


def test_the_proces_verbal_in_french_and_in_english() -> None:
    french = _text(render_pdf(RECORD, locale="fr"))
    english = _text(render_pdf(RECORD, locale="en"))
    for words in [
        "Procès-verbal — Session 668",
        "30/11/2026 · 11:00 · Centre de Testix",
        "Finalisée le 30 novembre 2026 à 12:37 par Alice Martin",
        "Heures en heure de Paris.",
        "Surveillants",
        "Marie Curie 10:52:00 12:30:00",
        "Né(e) le",
        "DUPONT Paul 21/05/1997 Terminé à la finalisation * 11:02:00 12:37:00 12/20 +30 %",
        "PETIT Léa 04/07/2001 Non commencé",
        "Chronologie des tests",
        "Connexion perdue",
        "Rapports d'incident",
        "modifié à 12:40:00",
        "Aucun commentaire.",
        "Procès-verbal · Session 668 · page 1/1",
    ]:
        assert words in french, words
    for words in [
        "Session record — Session 668",
        "30 Nov 2026 · 11:00 AM · Centre de Testix",
        "Finalised on November 30, 2026 at 12:37 PM by Alice Martin",
        "Times are Paris time.",
        "Supervisors",
        "Marie Curie 10:52:00 AM 12:30:00 PM",
        "Born",
        "DUPONT Paul 21 May 1997 Ended at finalisation * 11:02:00 AM 12:37:00 PM 12/20 +30%",
        "PETIT Léa 4 Jul 2001 Not started",
        "Test timelines",
        "Connection lost",
        "Incident reports",
        "edited at 12:40:00 PM",
        "No comment.",
        "Session record · Session 668 · page 1/1",
    ]:
        assert words in english, words
    for french_only in ("Procès-verbal", "Chronologie", "Finalisée", "Non commencé", "Aucun commentaire"):
        assert french_only not in english, french_only


def test_the_proces_verbal_tells_times_in_the_session_s_time_zone() -> None:
    record = dataclasses.replace(RECORD, timezone="America/New_York")
    english = _text(render_pdf(record, locale="en"))
    assert "Times are New York time." in english
    assert "Finalised on November 30, 2026 at 6:37 AM by Alice Martin" in english
    assert "Marie Curie 4:52:00 AM 6:30:00 AM" in english
    french = _text(render_pdf(record, locale="fr"))
    assert "Heures en heure de New York." in french and "le 30 novembre 2026 à 06:37" in french


def test_a_proces_verbal_with_nobody_in_it_says_so_in_each_language() -> None:
    empty = dataclasses.replace(RECORD, finalized_at=None, supervisors=[], candidates=[], reports=[], comment="")
    english = _text(render_pdf(empty, locale="en"))
    for words in (
        "Finalised no",
        "No supervisor",
        "No candidate",
        "No candidate started their test.",
        "No incident report.",
    ):
        assert words in english, words
    french = _text(render_pdf(empty, locale="fr"))
    for words in (
        "Finalisée non",
        "Aucun surveillant",
        "Aucun candidat n'a commencé son test.",
        "Aucun rapport d'incident.",
    ):
        assert words in french, words


# ---------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "fr"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_GB"}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "C.UTF-8"}, "fr"),
        ({"LANG": "POSIX"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "fr"),
        ({"LANG": ""}, "fr"),
        ({"LANG": "fr_FR.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "C"}, "fr"),
        ({"LANG": "fr_FR", "LC_MESSAGES": "fr_FR", "LC_ALL": "en_IE.UTF-8@euro"}, "en"),
        ({"LC_ALL": "", "LANG": "en_US.UTF-8"}, "en"),
    ],
)
def test_the_command_line_speaks_the_terminal_s_language(environ: dict[str, str], expected: str) -> None:
    assert terminal_language(environ) == expected


# ---------------------------------------------------------------------------- the catalog


def test_every_string_of_the_documents_is_extracted_and_translated(tmp_path: Path) -> None:
    """pybabel, run as the project runs it (babel.cfg), finds each string of the documents'
    files; each has an English translation in documents.po with the same placeholders."""
    pot = tmp_path / "all.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-o", str(pot), "--no-wrap", "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as source:
        extracted = read_po(source)
    with DOCUMENTS_PO.open("rb") as source:
        catalog = read_po(source, locale="en")
    ours = [m for m in extracted if m.id and any(path in OUR_FILES for path, _line in m.locations)]
    assert len(ours) > 90, "pybabel found too few of the documents' strings: is babel.cfg still reading app/?"
    for message in ours:
        entry = catalog.get(message.id)
        assert entry is not None, f"no English for {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), f"empty English for {message.id!r}"
        wanted = sorted(PLACEHOLDER.findall(str(ids[-1])))
        for english in strings:
            assert sorted(PLACEHOLDER.findall(str(english))) == wanted, (message.id, english)
    # And nothing in documents.po that the code no longer says.
    stale = {m.id for m in catalog if m.id} - {m.id for m in ours}
    assert not stale, stale


def test_no_string_in_the_documents_escapes_gettext() -> None:
    """A French sentence written straight into a cell would print French in an English PDF:
    the English documents hold no word of the French ones' own vocabulary."""
    english = _text(render_pdf(RECORD, locale="en")) + " " + _text(render_kit(GUIDE_SESSION, locale="en"))
    for french in (" le ", " de ", " des ", " à ", " et ", " du ", "Aucun", " non "):
        # User text and the categories' labels (translated in messages.po) are left out.
        cleaned = english
        for kept in (
            "12 rue de l'École",
            "Centre de Testix",
            "Incident technique (Motif à la finalisation)",
            "Poste lent",
            "Q1 validé",
        ):
            cleaned = cleaned.replace(kept, "")
        assert french not in f" {cleaned} ", french


def test_a_msgid_shared_by_pages_and_documents_reads_the_same_in_both() -> None:
    """The server's catalogs are merged into one (app/i18n.py): a msgid in two of them, such as
    « En cours » on the dashboard and in the procès-verbal, gets one English only, the last
    merged. Both catalogs must agree, or a page would silently take the documents' words."""
    folder = DOCUMENTS_PO.parent
    catalogs = {}
    for domain in i18n.SERVER_DOMAINS:
        po = folder / f"{domain}.po"
        if po.exists():
            with po.open("rb") as source:
                # A msgctxt makes another entry: (context, msgid) is what gettext looks up.
                catalogs[domain] = {(m.context, m.id): m.string for m in read_po(source, locale="en") if m.id}
    assert "documents" in catalogs
    for domain, entries in catalogs.items():
        for other, others in catalogs.items():
            if domain < other:
                disagree = {
                    k: (entries[k], others[k]) for k in entries.keys() & others.keys() if entries[k] != others[k]
                }
                assert not disagree, (domain, other, disagree)
