"""The *kit surveillant*: a one-page PDF with everything a supervisor needs on the day.

Following the seed guide, it gathers the session's identity, the two secrets
(the supervisors' session password and the candidates' access code, never to
be confused) and the day's steps. It is written in the language of the centre member who
downloads it (the request's), dates and times in that language's conventions.
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

from app import documents
from app.i18n import _, ngettext

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
            _("%(paper)s · Session %(session)s · page %(page)s/%(pages)s")
            % {"paper": _("Kit surveillant"), "session": self.info.session_id, "page": self.page_no(), "pages": "{nb}"},
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
            (_("Site"), self.user(info.centre)),
            (_("Adresse"), self.user(info.address)),
            (_("Salle"), self.user(info.room)),
            (_("Surveillant"), self.user(info.examiner)),
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


def render_kit(info: KitInfo, *, compress: bool = True, locale: str | None = None) -> bytes:
    """The supervisor kit as PDF bytes, in `locale` (by default the request's language).

    ``compress=False`` leaves content streams readable, for tests only.
    """
    with documents.language(locale) as chosen:
        return _draw(info, compress=compress, locale=chosen)


def _draw(info: KitInfo, *, compress: bool, locale: str) -> bytes:
    session = {"session": info.session_id}
    pdf = _Kit(info)
    pdf.set_compression(compress)
    with _font_paths() as paths:
        pdf.load_fonts(paths)
    pdf.set_title(_("%(paper)s — Session %(session)s") % {"paper": _("Kit surveillant"), **session})
    pdf.set_author("Surveillance")
    pdf.set_lang("fr-FR" if locale == "fr" else locale)
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(_FAMILY, "B", 22)
    pdf.set_text_color(*_ACCENT)
    pdf.cell(0, 11, _("Kit surveillant"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FAMILY, "B", 16)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 8, _("Session %(session)s") % session, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FAMILY, "", 12)
    pdf.set_text_color(*_MUTED)
    when = f"{documents.day(info.date)} · {documents.hour(info.time) or pdf.user(info.time)}"
    pdf.cell(0, 7, when, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.details_table()
    pdf.ln(3)

    pdf.secret_box(
        _("Mot de passe de la session — pour le surveillant uniquement"),
        pdf.user(info.supervisor_password, limit=40),
        [
            _("À saisir avec le **numéro de session** pour entrer dans l'espace surveillant."),
            _("Il est **différent du code d'accès** des candidats : ne le communiquez jamais aux candidats."),
        ],
        _NOTE_FILL,
    )
    pdf.secret_box(
        _("Code d'accès — à communiquer aux candidats"),
        pdf.user(info.access_code, limit=40),
        [
            _(
                "Les candidats le saisissent avec le **numéro de session "
                "%(session)s**, leur nom, leur prénom et leur date de naissance."
            )
            % session,
        ],
        _BOX_FILL,
    )

    count = max(info.candidate_count, 0)
    enrolled = ngettext(
        "%(count)s candidat inscrit à cette session", "%(count)s candidats inscrits à cette session", count
    ) % {"count": documents.number(count)}
    pdf.set_font(_FAMILY, "B", 11)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 7, enrolled, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading(_("Le jour de la session"))
    steps = [
        _(
            "Connectez-vous à l'espace surveillant avec votre compte, puis saisissez le "
            "**numéro de session (%(session)s)** et le **mot de passe de la session**."
        )
        % session,
        _(
            "Vérifiez la présence de chaque candidat dans la salle et cochez-le dans "
            "l'espace surveillant : seuls les candidats cochés peuvent commencer leur test."
        ),
        _("Donnez aux candidats les consignes de l'examen."),
        _("Communiquez aux candidats le **numéro de session (%(session)s)** et le **code d'accès** de la session.")
        % session,
    ]
    for number, step in enumerate(steps, start=1):
        pdf.numbered(_("Étape %(number)s") % {"number": number}, step)

    pdf.heading(_("Pendant le test"))
    pdf.paragraph(
        _(
            "L'espace surveillant affiche en direct le statut de chaque candidat "
            "(« En cours », « Terminé ») et signale une connexion perdue. Plusieurs "
            "surveillants peuvent suivre la même session en même temps ; vous déconnecter "
            "de l'espace surveillant n'interrompt pas les tests des candidats."
        )
    )

    pdf.heading(_("Autoriser la reprise d'un test"))
    pdf.paragraph(
        _(
            "Si un candidat a quitté son test par erreur (navigateur fermé, changement "
            "d'ordinateur…), il ne peut le reprendre qu'avec votre accord : ouvrez le menu "
            "« … » à droite de son nom, choisissez **Autoriser la reprise du test** et "
            "confirmez. Le candidat saisit de nouveau ses informations de connexion et "
            "continue là où il s'était arrêté. L'autorisation ne vaut que pour une reprise."
        ),
        markdown=True,
    )

    pdf.heading(_("Terminer un test"))
    pdf.paragraph(
        _(
            "Un candidat qui finit dans le temps imparti passe au statut « Terminé » : "
            "vous n'avez rien à faire. S'il n'a pas fini à la fin du temps imparti "
            "(temps majoré compris), ouvrez le menu « … » à droite de son nom, choisissez "
            "**Terminer le test** et confirmez."
        ),
        markdown=True,
    )
    return bytes(pdf.output())
