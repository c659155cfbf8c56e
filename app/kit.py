"""The *kit surveillant*: a one-page PDF with everything a supervisor needs on the day.

Following the seed guide, it gathers the session's identity, the two secrets
(the supervisors' session password and the candidates' access code, never to
be confused) and the day's steps.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from fpdf.fonts import TTFFont

__all__ = ["KitInfo", "render_kit"]

_FAMILY = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# Controls, format characters (bidi overrides, zero-width joiners), surrogates,
# private-use and unassigned code points: none has a glyph, and the bidi ones
# could reorder the text printed after them.
_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

# Centre staff type these fields freely; past this length they would push the
# secrets off the page, and a kit is not where a long address is read.
_MAX_FIELD = 160

_INK = (33, 37, 41)
_MUTED = (90, 98, 106)
_ACCENT = (52, 58, 148)
_BOX_FILL = (238, 240, 252)
_NOTE_FILL = (255, 246, 224)


@dataclass(frozen=True)
class KitInfo:
    session_id: int
    date: datetime.date
    time: str
    centre: str
    address: str
    room: str
    examiner: str
    supervisor_password: str
    access_code: str
    candidate_count: int


@contextmanager
def _font_paths() -> Iterator[dict[str, Path]]:
    """Paths of the bundled fonts, extracted to disk if the package is zipped."""
    folder = resources.files("app").joinpath("fonts")
    with ExitStack() as stack:
        yield {
            style: stack.enter_context(resources.as_file(folder.joinpath(name))) for style, name in _FONT_FILES.items()
        }


def _clean(text: str, renderable: frozenset[int], limit: int = _MAX_FIELD) -> str:
    """Plain, printable, single-line text that the embedded font can draw."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            # Tabs and line breaks from a pasted address: the layout decides
            # where lines break, not the user.
            out.append(" ")
        elif unicodedata.category(char) in _STRIPPED_CATEGORIES:
            continue
        elif ord(char) in renderable:
            out.append(char)
        elif unicodedata.category(char) == "Mn":
            # A combining mark the font lacks (emoji variation selector, rare
            # diacritic) decorates its base; dropping it keeps the base legible.
            continue
        elif not out or out[-1] != _REPLACEMENT:
            # One mark per run: an emoji sequence is several code points but
            # reads as one symbol.
            out.append(_REPLACEMENT)
    cleaned = " ".join("".join(out).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned or "—"


class _Kit(FPDF):
    def __init__(self, info: KitInfo) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.info = info
        self.set_margins(left=18, top=16, right=18)
        self.set_auto_page_break(auto=True, margin=16)
        self.renderable: frozenset[int] = frozenset()

    def load_fonts(self, paths: dict[str, Path]) -> None:
        for style, path in paths.items():
            self.add_font(_FAMILY, style, str(path))
        cmaps = [
            set(font.cmap)
            for font in self.fonts.values()
            if isinstance(font, TTFFont) and font.fontkey.startswith(_FAMILY.lower())
        ]
        # A character both weights can draw, so any field may be set in either.
        self.renderable = frozenset(set.intersection(*cmaps))

    def user(self, text: str, limit: int = _MAX_FIELD) -> str:
        return _clean(text, self.renderable, limit)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FAMILY, "", 8)
        self.set_text_color(*_MUTED)
        self.cell(
            0,
            5,
            f"Kit surveillant · Session {self.info.session_id} · page {self.page_no()}/{{nb}}",
            align="C",
        )

    def heading(self, text: str) -> None:
        self.ln(2.5)
        self.set_font(_FAMILY, "B", 12)
        self.set_text_color(*_ACCENT)
        self.cell(0, 6.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*_INK)

    def paragraph(self, text: str, size: float = 10, markdown: bool = False) -> None:
        self.set_font(_FAMILY, "", size)
        self.set_text_color(*_INK)
        self.multi_cell(0, 4.8, text, markdown=markdown, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def numbered(self, label: str, text: str) -> None:
        self.set_font(_FAMILY, "B", 10)
        self.set_text_color(*_ACCENT)
        self.cell(20, 5, label)
        self.set_text_color(*_INK)
        self.set_font(_FAMILY, "", 10)
        self.multi_cell(0, 5, text, markdown=True, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.6)

    def details_table(self) -> None:
        info = self.info
        rows = [
            ("Site", self.user(info.centre)),
            ("Adresse", self.user(info.address)),
            ("Salle", self.user(info.room)),
            ("Surveillant", self.user(info.examiner)),
        ]
        label_width = 30
        for label, value in rows:
            self.set_font(_FAMILY, "B", 10)
            self.set_text_color(*_MUTED)
            self.cell(label_width, 6, label)
            self.set_font(_FAMILY, "", 10.5)
            self.set_text_color(*_INK)
            # User text is never interpreted as markdown: "**" in a room name
            # must print as typed.
            self.multi_cell(0, 6, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def secret_box(self, title: str, value: str, notes: list[str], fill: tuple[int, int, int]) -> None:
        pad = 3.5
        inner = self.epw - 2 * pad
        self.set_font(_FAMILY, "", 9.5)
        notes_height = 0.0
        for note in notes:
            measured = self.multi_cell(
                inner,
                4.6,
                note,
                markdown=True,
                align="L",
                dry_run=True,
                output=MethodReturnValue.HEIGHT,
            )
            assert isinstance(measured, float | int)
            notes_height += measured
        height = pad + 6 + 11 + notes_height + pad
        # The box is painted before its text, so it must not straddle a page break.
        if self.will_page_break(height):
            self.add_page()
        x, y = self.l_margin, self.get_y()
        self.set_fill_color(*fill)
        self.set_draw_color(*_ACCENT)
        self.set_line_width(0.5)
        self.rect(x, y, self.epw, height, style="DF")
        self.set_xy(x + pad, y + pad)
        self.set_font(_FAMILY, "B", 11)
        self.set_text_color(*_ACCENT)
        self.cell(inner, 6, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(_FAMILY, "B", 20)
        self.set_text_color(*_INK)
        self.cell(inner, 11, value, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(_FAMILY, "", 9.5)
        for note in notes:
            self.multi_cell(inner, 4.6, note, markdown=True, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_xy(x, y + height + 3)


def render_kit(info: KitInfo, *, compress: bool = True) -> bytes:
    """The supervisor kit as PDF bytes.

    ``compress=False`` leaves content streams readable, for tests only.
    """
    pdf = _Kit(info)
    pdf.set_compression(compress)
    with _font_paths() as paths:
        pdf.load_fonts(paths)
    pdf.set_title(f"Kit surveillant — Session {info.session_id}")
    pdf.set_author("Surveillance")
    pdf.set_lang("fr-FR")
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(_FAMILY, "B", 22)
    pdf.set_text_color(*_ACCENT)
    pdf.cell(0, 11, "Kit surveillant", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FAMILY, "B", 16)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 8, f"Session {info.session_id}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FAMILY, "", 12)
    pdf.set_text_color(*_MUTED)
    when = f"{info.date:%d/%m/%Y} · {pdf.user(info.time)}"
    pdf.cell(0, 7, when, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.details_table()
    pdf.ln(3)

    pdf.secret_box(
        "Mot de passe de la session — pour le surveillant uniquement",
        pdf.user(info.supervisor_password, limit=40),
        [
            "À saisir avec le **numéro de session** pour entrer dans l'espace surveillant.",
            "Il est **différent du code d'accès** des candidats : ne le communiquez jamais aux candidats.",
        ],
        _NOTE_FILL,
    )
    pdf.secret_box(
        "Code d'accès — à communiquer aux candidats",
        pdf.user(info.access_code, limit=40),
        [
            "Les candidats le saisissent avec le **numéro de session "
            f"{info.session_id}**, leur nom, leur prénom et leur date de naissance.",
        ],
        _BOX_FILL,
    )

    count = max(info.candidate_count, 0)
    noun = "candidat inscrit" if count <= 1 else "candidats inscrits"
    pdf.set_font(_FAMILY, "B", 11)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 7, f"{count} {noun} à cette session", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("Le jour de la session")
    pdf.numbered(
        "Étape 1",
        "Connectez-vous à l'espace surveillant avec votre compte, puis saisissez le "
        f"**numéro de session ({info.session_id})** et le **mot de passe de la session**.",
    )
    pdf.numbered(
        "Étape 2",
        "Vérifiez la présence de chaque candidat dans la salle et cochez-le dans "
        "l'espace surveillant : seuls les candidats cochés peuvent commencer leur test.",
    )
    pdf.numbered("Étape 3", "Donnez aux candidats les consignes de l'examen.")
    pdf.numbered(
        "Étape 4",
        f"Communiquez aux candidats le **numéro de session ({info.session_id})** et le **code d'accès** de la session.",
    )

    pdf.heading("Pendant le test")
    pdf.paragraph(
        "L'espace surveillant affiche en direct le statut de chaque candidat "
        "(« En cours », « Terminé ») et signale une connexion perdue. Plusieurs "
        "surveillants peuvent suivre la même session en même temps ; vous déconnecter "
        "de l'espace surveillant n'interrompt pas les tests des candidats."
    )

    pdf.heading("Autoriser la reprise d'un test")
    pdf.paragraph(
        "Si un candidat a quitté son test par erreur (navigateur fermé, changement "
        "d'ordinateur…), il ne peut le reprendre qu'avec votre accord : ouvrez le menu "
        "« … » à droite de son nom, choisissez **Autoriser la reprise du test** et "
        "confirmez. Le candidat saisit de nouveau ses informations de connexion et "
        "continue là où il s'était arrêté. L'autorisation ne vaut que pour une reprise.",
        markdown=True,
    )

    pdf.heading("Terminer un test")
    pdf.paragraph(
        "Un candidat qui finit dans le temps imparti passe au statut « Terminé » : "
        "vous n'avez rien à faire. S'il n'a pas fini à la fin du temps imparti "
        "(temps majoré compris), ouvrez le menu « … » à droite de son nom, choisissez "
        "**Terminer le test** et confirmez.",
        markdown=True,
    )
    return bytes(pdf.output())
