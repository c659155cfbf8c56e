"""The records of a session once it is over: the procès-verbal (PDF, same library and
fonts as the supervisor kit) and the incident reports as CSV.

Everything is read in one database read into a `Record`, then drawn without the
database: the PDF may take a few hundred milliseconds and runs in a worker thread.
The timeline of each candidate is rebuilt from the event log, whose events carry the
candidate's whole view: the state between two events is the view of the first.

The record keeps codes (statuses, categories, origins), not words: the procès-verbal is drawn
in the language of whoever downloads it, its times in the session's time zone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from typing import Any

from fpdf.enums import XPos, YPos
from sqlalchemy import select
from sqlmodel import Session, col

from app import documents, views
from app.actions.centres import heading_of
from app.actions.reports import require_reader
from app.actions.rules import Rules
from app.documents import N_
from app.errors import SessionNotFinalized
from app.i18n import _
from app.labels import ALERT_STATUSES, REPORT_CATEGORIES, REPORT_ORIGINS
from app.models import Alert, ExamSession, IncidentReport, SessionEvent, SupervisorAccess, User
from app.pdf import ACCENT, BOX_FILL, FAMILY, INK, MUTED, Heading, Paper
from vocabulary import Action, CandidateStatus, Connection, EventName, ReportOrigin, SessionStatus

STATUS_LABELS: dict[str, str] = {
    CandidateStatus.NOT_STARTED: N_("Non commencé"),
    CandidateStatus.IN_PROGRESS: N_("En cours"),
    CandidateStatus.FINISHED: N_("Terminé"),
    CandidateStatus.ENDED_BY_SUPERVISOR: N_("Terminé par un surveillant"),
    CandidateStatus.ENDED_BY_FINALIZATION: N_("Terminé à la finalisation"),
    CandidateStatus.ENDED_BY_EXPIRY: N_("Fermé automatiquement"),
}
# Timeline colours: connected, connection lost, waiting for a supervisor (resume asked).
_KINDS = {
    "connected": ((46, 160, 96), N_("Connecté")),
    "lost": ((196, 50, 40), N_("Connexion perdue")),
    "waiting": ((240, 165, 58), N_("Attente du surveillant (reprise demandée)")),
}
_MARKS = {
    "start": ((33, 37, 41), N_("Début")),
    "alert": ((196, 50, 40), N_("Signalement")),
    "resume": ((61, 104, 255), N_("Reprise")),
    "end": ((33, 37, 41), N_("Fin")),
}


@dataclass(frozen=True)
class Slice:
    start: dt.datetime
    end: dt.datetime
    kind: str


@dataclass(frozen=True)
class Mark:
    at: dt.datetime
    kind: str


@dataclass(frozen=True)
class CandidateLine:
    name: str
    birthdate: dt.date
    status: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    answered: int
    total: int
    extra_time: int
    # (question number, alert status code), in the order they were raised.
    alerts: list[tuple[int, str]]
    reports: int
    # Started, not finished, and no reason given (the API lets older clients finalise without).
    missing_reason: bool = False
    slices: list[Slice] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass(frozen=True)
class SupervisorLine:
    name: str
    first: dt.datetime | None
    last: dt.datetime | None


@dataclass(frozen=True)
class ReportLine:
    candidate: str
    birthdate: dt.date
    category: str  # codes, named in the reader's language when drawn
    origin: str
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    comment: str


@dataclass(frozen=True)
class Record(Heading):
    status: str
    timezone: str
    finalized_at: dt.datetime | None
    finalized_by: str | None
    comment: str
    supervisors: list[SupervisorLine]
    candidates: list[CandidateLine]
    reports: list[ReportLine]


# ---------------------------------------------------------------- reading


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _at(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00"))


def _kind(view: dict[str, Any]) -> str | None:
    if view.get("resume_requested"):
        return "waiting"
    if view.get("connection") == Connection.LOST:
        return "lost"
    if view.get("connection") == Connection.CONNECTED:
        return "connected"
    return None


def _timeline(
    events: list[dict[str, Any]], start: dt.datetime | None, end: dt.datetime | None
) -> tuple[list[Slice], list[Mark]]:
    """The periods between `start` and `end` and the moments worth a mark."""
    marks: list[Mark] = []
    if start is None:
        return [], marks
    stop = end or (_at(events[-1]) if events else start)
    slices: list[Slice] = []
    current: str | None = None
    since = start
    for e in events:
        at = _at(e)
        action = e.get("action")
        if action == Action.ALERT_RAISED:
            marks.append(Mark(at, "alert"))
        elif action == Action.RESUMED:
            marks.append(Mark(at, "resume"))
        view = e.get("candidate") or {}
        kind = _kind(view)
        if at <= start:
            current = kind
            continue
        if at > stop:
            break
        if kind != current:
            if current is not None and at > since:
                slices.append(Slice(since, at, current))
            current, since = kind, at
    if current is not None and stop > since:
        slices.append(Slice(since, stop, current))
    marks.append(Mark(start, "start"))
    if end is not None:
        marks.append(Mark(end, "end"))
    return slices, marks


def _supervisors(db: Session, exam_session: ExamSession, lease_seconds: int) -> list[SupervisorLine]:
    rows = db.execute(
        select(SupervisorAccess, User)
        .join(User, col(User.id) == col(SupervisorAccess.user_id))
        .where(col(SupervisorAccess.session_id) == exam_session.id)
        .order_by(col(SupervisorAccess.granted_at))
    ).all()
    joined = {
        uid: _aware(at)
        for uid, at in db.execute(
            select(col(SessionEvent.actor_user_id), col(SessionEvent.at))
            .where(
                col(SessionEvent.session_id) == exam_session.id,
                col(SessionEvent.type) == EventName.SUPERVISORS_UPDATED,
            )
            .order_by(col(SessionEvent.version).desc())
        ).all()
        if uid is not None
    }
    lines = []
    for access, user in rows:
        granted = _aware(access.granted_at)
        # The lease is renewed while the page is open: its end, less its length, is when
        # the supervisor was last seen.
        seen = _aware(access.lease_until)
        last_seen = seen - dt.timedelta(seconds=lease_seconds) if seen else None
        last = max(t for t in (granted, last_seen) if t is not None) if granted or last_seen else None
        lines.append(SupervisorLine(f"{user.first_name} {user.last_name}", joined.get(user.id) or granted, last))
    return lines


def load(db: Session, session_id: int, user_id: int, rules: Rules, *, verbal: bool) -> Record:
    """`verbal`: for the procès-verbal, of a finalised session only, timelines read from the
    whole log; otherwise (the CSV) the reports and what names them, the log left unread."""
    exam_session = require_reader(db, session_id, user_id)
    if verbal and exam_session.status != SessionStatus.FINALIZED:
        raise SessionNotFinalized()
    candidates = views.candidates_in(db, session_id)
    by_candidate: dict[int, list[dict[str, Any]]] = {}
    finalized_by = None
    log = select(col(SessionEvent.candidate_id), col(SessionEvent.payload)).where(
        col(SessionEvent.session_id) == session_id
    )
    for cid, payload in db.execute(log.order_by(col(SessionEvent.version))).all() if verbal else []:
        event = json.loads(payload)
        if cid is not None:
            by_candidate.setdefault(cid, []).append(event)
        elif event.get("action") == Action.FINALIZED and event.get("actor"):
            finalized_by = event["actor"]["name"]
    alerts: dict[int, list[tuple[int, str]]] = {}
    for a in db.execute(select(Alert).where(col(Alert.session_id) == session_id).order_by(col(Alert.id))).scalars():
        alerts.setdefault(a.candidate_id, []).append((a.question_index + 1, a.status))
    finalized_at = _aware(exam_session.finalized_at)
    explained = set(
        db.execute(
            select(col(IncidentReport.candidate_id)).where(
                col(IncidentReport.session_id) == session_id,
                col(IncidentReport.origin).in_([ReportOrigin.END_TEST, ReportOrigin.FINALIZATION]),
            )
        ).scalars()
    )
    unfinished = (
        CandidateStatus.ENDED_BY_SUPERVISOR,
        CandidateStatus.ENDED_BY_FINALIZATION,
        CandidateStatus.ENDED_BY_EXPIRY,
    )
    lines = []
    names: dict[int, tuple[str, dt.date]] = {}
    for c in candidates:
        assert c.id is not None
        name = f"{c.last_name.upper()} {c.first_name}"
        names[c.id] = (name, c.birthdate)
        start, end = _aware(c.started_at), _aware(c.ended_at)
        slices, marks = _timeline(by_candidate.get(c.id, []), start, end or (finalized_at if start else None))
        lines.append(
            CandidateLine(
                name=name,
                birthdate=c.birthdate,
                status=c.status,
                started_at=start,
                ended_at=end,
                answered=c.answered,
                total=views.question_count(c, rules.questions_per_test),
                extra_time=c.extra_time_percentage,
                alerts=alerts.get(c.id, []),
                reports=c.reports_count,
                missing_reason=c.status in unfinished and c.id not in explained,
                slices=slices,
                marks=marks,
            )
        )
    reports = [
        ReportLine(
            candidate=names.get(r.candidate_id, ("?", dt.date.min))[0],
            birthdate=names.get(r.candidate_id, ("?", dt.date.min))[1],
            category=r.category,
            origin=r.origin,
            author=r.author_name,
            created_at=_aware(r.created_at) or dt.datetime.now(dt.UTC),
            updated_at=_aware(r.updated_at),
            comment=r.comment,
        )
        for r in db.execute(
            select(IncidentReport)
            .where(col(IncidentReport.session_id) == session_id)
            .order_by(col(IncidentReport.created_at), col(IncidentReport.id))
        ).scalars()
    ]
    return Record(
        **vars(heading_of(db, exam_session)),
        status=exam_session.status,
        timezone=rules.session_timezone,
        finalized_at=finalized_at,
        finalized_by=finalized_by,
        comment=exam_session.finalization_comment or "",
        supervisors=_supervisors(db, exam_session, rules.lease_seconds),
        candidates=lines,
        reports=reports,
    )


# ---------------------------------------------------------------- CSV


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    """A cell a spreadsheet will show, never run: formulas are quoted away."""
    return "'" + value if value.startswith(_FORMULA) else value


def _local(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    """A moment as the spreadsheet column has always had it, in the session's time zone."""
    return moment.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S") if moment else ""


def reports_csv(record: Record) -> bytes:
    """The column names are fixed keys for spreadsheets and scripts; the categories and origins
    are words in the language of whoever downloads the file."""
    tz = documents.zone(record.timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "session",
            "candidat",
            "date_naissance",
            "categorie",
            "origine",
            "commentaire",
            "auteur",
            "cree_le",
            "modifie_le",
        ]
    )
    for r in record.reports:
        writer.writerow(
            [
                str(record.session_id),
                _safe(r.candidate),
                r.birthdate.strftime("%d/%m/%Y"),
                _safe(documents.label(REPORT_CATEGORIES, r.category)),
                _safe(documents.label(REPORT_ORIGINS, r.origin)),
                _safe(r.comment),
                _safe(r.author),
                _local(r.created_at, tz),
                _local(r.updated_at, tz),
            ]
        )
    # The BOM tells spreadsheets the file is UTF-8: accents survive a double click.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ---------------------------------------------------------------- PDF


class _Verbal(Paper):
    def __init__(self, record: Record) -> None:
        super().__init__(_("Procès-verbal"), record, "landscape", margin=14, sides=14)
        self.record = record
        self.tz = documents.zone(record.timezone)

    def heading(self, text: str) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(3)
        self.set_font(FAMILY, "B", 13)
        self.set_text_color(*ACCENT)
        self.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def grid(self, widths: list[float], header: list[str], rows: list[list[str]]) -> None:
        def head() -> None:
            self.set_font(FAMILY, "B", 8.5)
            self.set_fill_color(*BOX_FILL)
            self.set_text_color(*INK)
            for w, h in zip(widths, header, strict=True):
                self.cell(w, 6, h, border="B", fill=True)
            self.ln(6)

        head()
        self.set_font(FAMILY, "", 8.5)
        for row in rows:
            if self.will_page_break(5.5):
                self.add_page()
                head()
                self.set_font(FAMILY, "", 8.5)
            for w, value in zip(widths, row, strict=True):
                self.cell(w, 5.5, value, border="B")
            self.ln(5.5)

    def timelines(self) -> None:
        started = [c for c in self.record.candidates if c.started_at is not None]
        if not started:
            self.set_font(FAMILY, "", 10)
            self.cell(0, 6, _("Aucun candidat n'a commencé son test."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        begin = min(c.started_at for c in started if c.started_at is not None)
        end = max(max([s.end for s in c.slices] + [m.at for m in c.marks] + [begin]) for c in started)
        span = max((end - begin).total_seconds(), 60.0)
        name_w = 55.0
        x0 = self.l_margin + name_w
        width = self.epw - name_w - 2

        def x_of(moment: dt.datetime) -> float:
            return x0 + width * max(0.0, min(1.0, (moment - begin).total_seconds() / span))

        def axis() -> None:
            y = self.get_y()
            self.set_draw_color(*MUTED)
            self.set_line_width(0.2)
            self.line(x0, y + 5, x0 + width, y + 5)
            self.set_font(FAMILY, "", 7)
            self.set_text_color(*MUTED)
            ticks = 8
            for i in range(ticks + 1):
                moment = begin + dt.timedelta(seconds=span * i / ticks)
                x = x0 + width * i / ticks
                self.line(x, y + 4, x, y + 6)
                label = documents.clock(moment, self.tz, seconds=span < 3600)
                self.set_xy(x - 8, y)
                self.cell(16, 4, label, align="C")
            self.set_xy(self.l_margin, y + 7)
            self.set_text_color(*INK)

        axis()
        row_h = 8.0
        for c in started:
            if self.will_page_break(row_h + 1):
                self.add_page()
                axis()
            y = self.get_y()
            self.set_font(FAMILY, "", 8.5)
            self.set_xy(self.l_margin, y)
            self.cell(name_w, row_h, self.user(c.name, 40))
            # A light track for the whole test, then its periods, then its marks.
            self.set_fill_color(236, 238, 242)
            self.rect(x0, y + 3, width, 3, style="F")
            for s in c.slices:
                color = _KINDS[s.kind][0]
                self.set_fill_color(*color)
                self.rect(x_of(s.start), y + 3, max(0.4, x_of(s.end) - x_of(s.start)), 3, style="F")
            for m in c.marks:
                color = _MARKS[m.kind][0]
                x = x_of(m.at)
                self.set_fill_color(*color)
                self.set_draw_color(*color)
                if m.kind == "alert":
                    self.polygon([(x, y + 2.8), (x - 1.6, y + 0.3), (x + 1.6, y + 0.3)], style="F")
                elif m.kind == "resume":
                    self.circle(x, y + 4.5, 1.3, style="F")
                else:
                    self.set_line_width(0.6)
                    self.line(x, y + 1.8, x, y + 7.2)
            self.set_xy(self.l_margin, y + row_h)
        self.legend()

    def legend(self) -> None:
        self.ln(2)
        self.set_font(FAMILY, "", 7.5)
        y = self.get_y()
        x = self.l_margin
        for color, msgid in list(_KINDS.values()):
            label = _(msgid)
            self.set_fill_color(*color)
            self.rect(x, y + 1.2, 6, 2.6, style="F")
            self.set_xy(x + 7, y)
            self.cell(self.get_string_width(label) + 6, 5, label)
            x = self.get_x()
        # Each cell as wide as its words in this language, plus the gap before the next sign.
        self.set_fill_color(*_MARKS["alert"][0])
        self.polygon([(x + 1.6, y + 3.8), (x, y + 1.2), (x + 3.2, y + 1.2)], style="F")
        self.set_xy(x + 4.5, y)
        label = _(_MARKS["alert"][1])
        self.cell(self.get_string_width(label) + 6, 5, label)
        x = self.get_x()
        self.set_fill_color(*_MARKS["resume"][0])
        self.circle(x + 1.3, y + 2.5, 1.3, style="F")
        self.set_xy(x + 4, y)
        label = _(_MARKS["resume"][1])
        self.cell(self.get_string_width(label) + 6, 5, label)
        x = self.get_x()
        self.set_draw_color(*INK)
        self.set_line_width(0.6)
        self.line(x + 1, y + 0.6, x + 1, y + 4.4)
        self.set_xy(x + 3, y)
        self.cell(30, 5, _("Début / fin du test"))
        self.ln(6)


def _alerts(alerts: list[tuple[int, str]]) -> str:
    return ", ".join(
        _("Q%(number)s %(status)s") % {"number": number, "status": documents.label(ALERT_STATUSES, status)}
        for number, status in alerts
    )


def render_pdf(record: Record, *, compress: bool = True, locale: str | None = None) -> bytes:
    """The procès-verbal as PDF bytes, in `locale` (by default the request's language)."""
    with documents.language(locale) as chosen:
        return _draw(record, compress=compress, locale=chosen)


def _draw(record: Record, *, compress: bool, locale: str) -> bytes:
    pdf = _Verbal(record)
    tz = pdf.tz
    pdf.open_first_page(compress=compress, locale=locale)

    pdf.text_line(pdf.title_line, size=20, height=10, bold=True, color=ACCENT)
    scheduled = documents.hour(record.time) or pdf.user(record.time)
    pdf.text_line(f"{documents.day(record.date)} · {scheduled} · {pdf.user(record.centre)}", size=11, height=6)
    finalized = _("non")
    if record.finalized_at:
        finalized = _("le %(day)s à %(time)s par %(name)s") % {
            "day": documents.long_day(record.finalized_at.astimezone(tz).date()),
            "time": documents.clock(record.finalized_at, tz, seconds=False),
            "name": record.finalized_by or "—",
        }
    facts = [
        (_("Adresse"), record.address),
        (_("Salle"), record.room),
        (_("Surveillant désigné"), record.examiner),
        (_("Finalisée"), finalized),
    ]
    pdf.labelled([(label, pdf.user(value)) for label, value in facts], minimum=42, height=5.5, size=9.5, value_size=9.5)
    pdf.text_line(_("Heures en heure de %(city)s.") % {"city": documents.city(tz)}, size=8, height=5, color=MUTED)
    pdf.set_text_color(*INK)

    pdf.heading(_("Surveillants"))
    pdf.grid(
        [90, 60, 60],
        [_("Surveillant"), _("Première connexion"), _("Dernière activité")],
        [[pdf.user(s.name, 60), documents.clock(s.first, tz), documents.clock(s.last, tz)] for s in record.supervisors]
        or [[_("Aucun surveillant"), "", ""]],
    )

    pdf.heading(_("Candidats"))
    pdf.grid(
        [52, 24, 45, 22, 22, 20, 20, 44, 20],
        [
            _("Candidat"),
            _("Né(e) le"),
            _("Statut"),
            _("Début"),
            _("Fin"),
            _("Réponses"),
            _("Majoration"),
            _("Signalements"),
            _("Rapports"),
        ],
        [
            [
                pdf.user(c.name, 34),
                documents.day(c.birthdate),
                documents.label(STATUS_LABELS, c.status) + (" *" if c.missing_reason else ""),
                documents.clock(c.started_at, tz),
                documents.clock(c.ended_at, tz),
                f"{documents.number(c.answered)}/{documents.number(c.total)}",
                _("+%(percent)s %%") % {"percent": documents.number(c.extra_time)} if c.extra_time else "—",
                pdf.user(_alerts(c.alerts), 34) if c.alerts else "—",
                documents.number(c.reports),
            ]
            for c in record.candidates
        ]
        or [[_("Aucun candidat"), "", "", "", "", "", "", "", ""]],
    )
    if any(c.missing_reason for c in record.candidates):
        pdf.text_line(_("* Test commencé et non terminé, sans motif renseigné."), size=8, height=5, color=MUTED)
        pdf.set_text_color(*INK)

    pdf.heading(_("Chronologie des tests"))
    pdf.timelines()

    pdf.heading(_("Rapports d'incident"))
    if not record.reports:
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(0, 6, _("Aucun rapport d'incident."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for r in record.reports:
        if pdf.will_page_break(14):
            pdf.add_page()
        pdf.set_font(FAMILY, "B", 9.5)
        edited = _(", modifié à %(time)s") % {"time": documents.clock(r.updated_at, tz)} if r.updated_at else ""
        category = documents.label(REPORT_CATEGORIES, r.category)
        title = f"{pdf.user(r.candidate, 60)} — {category} ({documents.label(REPORT_ORIGINS, r.origin)})"
        pdf.cell(0, 5.5, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(
            0,
            4.5,
            f"{pdf.user(r.author, 80)}, {documents.clock(r.created_at, tz)}{edited}",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(*INK)
        if r.comment:
            pdf.set_font(FAMILY, "", 9.5)
            pdf.multi_cell(0, 4.8, pdf.user(r.comment, 1000), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)

    pdf.heading(_("Commentaire sur la session"))
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(
        0,
        5,
        pdf.user(record.comment, 2000) if record.comment else _("Aucun commentaire."),
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())
