"""The *kit surveillant*: a one-page PDF with everything a supervisor needs on the day.

Following the seed guide, it gathers the session's identity, the two secrets
(the supervisors' session password and the candidates' access code, never to
be confused) and the day's steps. It is written in the language of the centre member who
downloads it (the request's), dates and times in that language's conventions.
"""

from __future__ import annotations

from dataclasses import dataclass

from fpdf.enums import MethodReturnValue, XPos, YPos

from app import documents
from app.i18n import _, ngettext
from app.pdf import ACCENT, BOX_FILL, FAMILY, INK, MUTED, Heading, Paper

__all__ = ["KitInfo", "render_kit"]

_NOTE_FILL = (255, 246, 224)


@dataclass(frozen=True)
class KitInfo(Heading):
    supervisor_password: str
    access_code: str
    candidate_count: int


class _Kit(Paper):
    def __init__(self, info: KitInfo) -> None:
        super().__init__(_("Kit surveillant"), info, "portrait", margin=16, sides=18)
        self.info = info

    def heading(self, text: str) -> None:
        self.ln(2.5)
        self.set_font(FAMILY, "B", 12)
        self.set_text_color(*ACCENT)
        self.cell(0, 6.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def paragraph(self, text: str, size: float = 10, markdown: bool = False) -> None:
        self.set_font(FAMILY, "", size)
        self.set_text_color(*INK)
        self.multi_cell(0, 4.8, text, markdown=markdown, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def numbered(self, label: str, text: str) -> None:
        self.set_font(FAMILY, "B", 10)
        self.set_text_color(*ACCENT)
        self.cell(20, 5, label)
        self.set_text_color(*INK)
        self.set_font(FAMILY, "", 10)
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
        self.labelled(rows, minimum=30, height=6, size=10, value_size=10.5)

    def secret_box(self, title: str, value: str, notes: list[str], fill: tuple[int, int, int]) -> None:
        pad = 3.5
        inner = self.epw - 2 * pad
        self.set_font(FAMILY, "", 9.5)
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
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.5)
        self.rect(x, y, self.epw, height, style="DF")
        self.set_xy(x + pad, y + pad)
        self.set_font(FAMILY, "B", 11)
        self.set_text_color(*ACCENT)
        self.cell(inner, 6, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FAMILY, "B", 20)
        self.set_text_color(*INK)
        self.cell(inner, 11, value, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", 9.5)
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
    pdf.open_first_page(compress=compress, locale=locale)

    pdf.text_line(pdf.name, size=22, height=11, bold=True, color=ACCENT)
    pdf.text_line(_("Session %(session)s") % session, size=16, height=8, bold=True)
    when = f"{documents.day(info.date)} · {documents.hour(info.time) or pdf.user(info.time)}"
    pdf.text_line(when, size=12, height=7, color=MUTED)
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
        BOX_FILL,
    )

    count = max(info.candidate_count, 0)
    enrolled = ngettext(
        "%(count)s candidat inscrit à cette session", "%(count)s candidats inscrits à cette session", count
    ) % {"count": documents.number(count)}
    pdf.text_line(enrolled, size=11, height=7, bold=True)

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
