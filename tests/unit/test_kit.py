import dataclasses
import datetime
import io
from typing import Any

import pytest

from app.kit import KitInfo, render_kit
from app.pdf import clean as _clean

GUIDE_SESSION = KitInfo(
    session_id=668,
    date=datetime.date(2021, 12, 28),
    time="11:00",
    centre="Centre de Testix",
    address="12 rue de l'École, 75005 Paris",
    room="Salle 3",
    examiner="Surveillant Test",
    supervisor_password="C-7XK4P",
    access_code="XGDZ45",
    candidate_count=4,
)

HOSTILE = [
    "<script>alert('x')</script>",
    "\u202eevil\u202c override \u200f\u200e",
    "zero\u200bwidth\u200d\ufeffjoiners",
    "emoji 😀🎉🧑\u200d💻 🏳️\u200d🌈",
    "nul \x00 bell \x07 escape \x1b[31m",
    "lone surrogate \ud800 here",
    "private use \ue000 and unassigned \U000e0fff",
    "CJK 考试 Arabic امتحان Hebrew בחינה",
    "multi\nline\taddress\r\n",
    "**markdown** __not__ --parsed--",
    "{nb} alias and %PDF-1.4 and ) Tj ( parens \\",
    "x" * 5000,
    "",
    "   ",
]


def _reader(pdf: bytes) -> Any:
    # Text extraction needs pypdf (a dev dependency); without it only the
    # tests that read the PDF back are skipped.
    pypdf = pytest.importorskip("pypdf")
    return pypdf.PdfReader(io.BytesIO(pdf))


def _text(pdf: bytes) -> str:
    reader = _reader(pdf)
    return "\n".join(page.extract_text() for page in reader.pages)


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_kit_is_a_one_page_pdf() -> None:
    pdf = render_kit(GUIDE_SESSION)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    reader = _reader(pdf)
    assert len(reader.pages) == 1
    assert reader.metadata is not None
    assert reader.metadata.title == "Kit surveillant — Session 668"


def test_kit_shows_the_session_its_codes_and_the_guide_steps() -> None:
    text = _squash(_text(render_kit(GUIDE_SESSION)))
    for expected in [
        "Kit surveillant",
        "Session 668",
        "28/12/2021 · 11:00",
        "Site Centre de Testix",
        "12 rue de l'École, 75005 Paris",
        "Salle Salle 3",
        "Surveillant Surveillant Test",
        "Mot de passe de la session",
        "C-7XK4P",
        "Code d'accès",
        "XGDZ45",
        "différent du code d'accès",
        "4 candidats inscrits",
        "Étape 1",
        "Étape 2",
        "Étape 3",
        "Étape 4",
        "Autoriser la reprise du test",
        "Terminer le test",
    ]:
        assert expected in text, expected


def test_password_box_comes_before_the_access_code_box() -> None:
    text = _text(render_kit(GUIDE_SESSION))
    assert text.index("C-7XK4P") < text.index("XGDZ45")


@pytest.mark.parametrize(("count", "phrase"), [(0, "0 candidat inscrit"), (1, "1 candidat inscrit")])
def test_candidate_count_is_singular_up_to_one(count: int, phrase: str) -> None:
    info = dataclasses.replace(GUIDE_SESSION, candidate_count=count)
    assert phrase + " à cette session" in _squash(_text(render_kit(info)))


def test_uncompressed_output_is_the_same_document() -> None:
    compressed = render_kit(GUIDE_SESSION)
    plain = render_kit(GUIDE_SESSION, compress=False)
    assert len(plain) > len(compressed)
    # Text operators are readable once the page stream is not deflated.
    assert b" Tj " in plain
    assert b" Tj " not in compressed
    assert _squash(_text(plain)) == _squash(_text(compressed))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_user_text_renders_without_crashing(hostile: str) -> None:
    info = dataclasses.replace(
        GUIDE_SESSION, centre=hostile, address=hostile, room=hostile, examiner=hostile, time=hostile
    )
    pdf = render_kit(info)
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "C-7XK4P" in text
    assert "XGDZ45" in text
    for invisible in ["\u202e", "\u200b", "\u200d", "\ufeff", "\x00", "\x1b"]:
        assert invisible not in text


def test_hostile_text_is_printed_literally() -> None:
    info = dataclasses.replace(GUIDE_SESSION, room="<script>alert('x')</script>", examiner="**Jean** Dupont")
    text = _text(render_kit(info))
    assert "<script>alert('x')</script>" in text
    assert "**Jean** Dupont" in text


def test_every_field_hostile_at_once_still_fits_and_renders() -> None:
    info = dataclasses.replace(
        GUIDE_SESSION,
        centre=HOSTILE[3] * 20,
        address="x" * 5000,
        room=HOSTILE[1] * 30,
        examiner=HOSTILE[7] * 20,
        supervisor_password="C-\u202e7XK4P\x00",
        access_code="XGDZ45\u200b",
        candidate_count=-3,
    )
    pdf = render_kit(info)
    text = _squash(_text(pdf))
    assert "C-7XK4P" in text
    assert "XGDZ45" in text
    assert "0 candidat inscrit" in text


def test_clean_strips_invisible_characters_and_replaces_missing_glyphs() -> None:
    renderable = frozenset(map(ord, "abc <>/é"))
    assert _clean("a\u202eb\u200bc", renderable) == "abc"
    assert _clean("a\n\tb  \r\nc", renderable) == "a b c"
    assert _clean("a😀b", renderable) == "a\ufffdb"
    assert _clean("a🧑\u200d💻 🏳️b", renderable) == "a\ufffd \ufffdb"
    # NFC first, so a decomposed "é" counts as the one precomposed glyph.
    assert _clean("e\u0301", renderable) == "é"
    assert _clean("\u200b \x00", renderable) == "—"
    long = _clean("a" * 500, renderable, limit=20)
    assert len(long) == 20
    assert long.endswith("…")
