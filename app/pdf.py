"""What the session's two printed papers share, the supervisor kit and the procès-verbal:
the identity of the session they open with, the bundled fonts, the colours, the cleaning
of typed text, and the page set-up (margins, metadata, footer).
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from app.i18n import _

FAMILY = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

Color = tuple[int, int, int]

INK: Color = (33, 37, 41)
MUTED: Color = (90, 98, 106)
ACCENT: Color = (52, 58, 148)
BOX_FILL: Color = (238, 240, 252)

# Controls, format characters (bidi overrides, zero-width joiners), surrogates,
# private-use and unassigned code points: none has a glyph, and the bidi ones
# could reorder the text printed after them.
_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

# Centre staff type these fields freely; past this length they would push the rest
# off the page, and a printed paper is not where a long address is read.
MAX_FIELD = 160


@dataclass(frozen=True)
class Heading:
    """The session as both papers name it at the top."""

    session_id: int
    date: datetime.date
    time: str
    centre: str
    address: str
    room: str
    examiner: str


@contextmanager
def font_paths() -> Iterator[dict[str, Path]]:
    """Paths of the bundled fonts, extracted to disk if the package is zipped."""
    folder = resources.files("app").joinpath("fonts")
    with ExitStack() as stack:
        yield {
            style: stack.enter_context(resources.as_file(folder.joinpath(name))) for style, name in _FONT_FILES.items()
        }


def clean(text: str, renderable: frozenset[int], limit: int = MAX_FIELD) -> str:
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


class Paper(FPDF):
    """An A4 paper of one session, numbered « <name> · Session N · page i/n ». Made and drawn
    inside `documents.language`: `name` and every word are in that language."""

    def __init__(
        self, name: str, heading: Heading, orientation: Literal["portrait", "landscape"], *, margin: float, sides: float
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.name = name
        self.session = heading
        self.set_margins(left=sides, top=margin, right=sides)
        self.set_auto_page_break(auto=True, margin=margin)
        self.renderable: frozenset[int] = frozenset()

    def open_first_page(self, *, compress: bool, locale: str) -> None:
        """Fonts, metadata and the first page. `compress=False` leaves content streams
        readable, for tests only."""
        self.set_compression(compress)
        with font_paths() as paths:
            for style, path in paths.items():
                self.add_font(FAMILY, style, str(path))
        cmaps = [
            set(font.cmap)
            for font in self.fonts.values()
            if isinstance(font, TTFFont) and font.fontkey.startswith(FAMILY.lower())
        ]
        # A character both weights can draw, so any field may be set in either.
        self.renderable = frozenset(set.intersection(*cmaps))
        self.set_title(self.title_line)
        self.set_author("Surveillance")
        self.set_lang("fr-FR" if locale == "fr" else locale)
        self.alias_nb_pages()
        self.add_page()

    @property
    def title_line(self) -> str:
        return _("%(paper)s — Session %(session)s") % {"paper": self.name, "session": self.session.session_id}

    def user(self, text: str, limit: int = MAX_FIELD) -> str:
        """Text someone typed, as the fonts can print it."""
        return clean(text, self.renderable, limit)

    def footer(self) -> None:
        self.set_y(-(self.b_margin - 4))
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*MUTED)
        footer = _("%(paper)s · Session %(session)s · page %(page)s/%(pages)s") % {
            "paper": self.name,
            "session": self.session.session_id,
            "page": self.page_no(),
            "pages": "{nb}",
        }
        self.cell(0, 5, footer, align="C")

    def text_line(self, text: str, *, size: float, height: float, bold: bool = False, color: Color = INK) -> None:
        """One line of text across the page, the next one below it."""
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*color)
        self.cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def labelled(
        self, rows: list[tuple[str, str]], *, minimum: float, height: float, size: float, value_size: float
    ) -> None:
        """Rows of a label and its value (« Salle  Salle 3 »): the labels in one column as wide
        as the longest in this language, at least `minimum`; the values as given, never read as
        markdown ("**" in a room name prints as typed)."""
        self.set_font(FAMILY, "B", size)
        width = max([minimum] + [self.get_string_width(label) + 4 for label, _value in rows])
        for label, value in rows:
            self.set_font(FAMILY, "B", size)
            self.set_text_color(*MUTED)
            self.cell(width, height, label)
            self.set_font(FAMILY, "", value_size)
            self.set_text_color(*INK)
            self.multi_cell(0, height, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
