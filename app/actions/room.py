"""Room control, for the session's supervisors: pause and resume (one test or the room),
time adjustment, bulk actions, messages; and the two time rules of a session, the join
window and the expiry of a test left open.

Same rules as the other actions: each public function runs in one write transaction that
locks the exam session first, checks everything against the latest state (the transition
table for the status), and emits one event (one version) per candidate changed. A refusal
anywhere rolls the whole transaction back, so a bulk action with one invalid candidate
changes nobody.

    in_progress --pause--> in_progress, paused --resume--> in_progress (pause added to its time)
    in_progress --adjust ±minutes--> in_progress (theoretical end moved)
    in_progress, started > test_expiry_hours ago --sweep--> ended_by_expiry
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from app import clock, views
from app.actions import transitions
from app.actions.centres import kit_of
from app.actions.endings import end_running
from app.actions.eventlog import Actor, emit_candidate, emit_room_message
from app.actions.guards import candidate_of, lock_session, require_supervisor, supervising, user_of
from app.actions.reports import Reason, add_report_row, record
from app.actions.rules import Rules
from app.actions.transitions import Command
from app.db import Tx
from app.errors import (
    BulkRefused,
    DomainError,
    InvalidPayload,
    MessageRequired,
    MessageTooLong,
    MinutesOutOfRange,
    NoCandidateSelected,
    NoTestPaused,
    NoTestToPause,
    PauseMessageTooLong,
    PresenceAlreadyConfirmed,
    ReasonRequired,
    ReasonTooLong,
    SelectionRequired,
    SessionNotYetOpen,
    StartedBeforePresence,
    TestAlreadyFinished,
    TestAlreadyPaused,
    TestNotPaused,
    TimeAdjustmentLimit,
    TooManyMessages,
    UnknownBulkAction,
)
from app.i18n import N_
from app.kit import KitInfo
from app.models import ROOM_MESSAGE_ONLY, Candidate, ExamSession, SessionEvent, utcnow
from vocabulary import (
    ENDED,
    Action,
    BulkAction,
    CandidateStatus,
    EventName,
    ReportCategory,
    ReportOrigin,
    message_for,
    message_frame,
)

ADJUST_MIN, ADJUST_MAX = -30, 120
REASON_MAX = 300
PAUSE_MESSAGE_MAX = 300
MESSAGE_MAX = 280
BULK_MAX = 500
# A candidate's page that (re)connects gets the messages it may have missed while its socket
# was down: the last few, sent recently. Older ones would be stale news ("Il reste 10
# minutes"), and each page shows when a message was sent.
MESSAGES_REPLAYED = 5
MESSAGES_REPLAY_MINUTES = 60
# The log row of a message names no candidate (the procès-verbal reads a candidate's rows as
# its timeline), so messages to other candidates are skipped here: read this many at most.
MESSAGES_SCANNED = 200
# A pause without a supervisor's message stores none (""): each candidate's page writes its
# own default words in the candidate's language, which the server does not know here.
DEFAULT_PAUSE_MESSAGE = ""
EXPIRY_ACTOR = Actor(name="Fermeture automatique")


# ---------------------------------------------------------------- guards and plain text


def _supervisor(tx: Tx, session_id: int, user_id: int) -> tuple[ExamSession, Actor]:
    # Lock first: a check read before the lock would miss a finalisation committed meanwhile.
    lock_session(tx, session_id)
    exam_session = require_supervisor(tx.db, session_id, user_id)
    return exam_session, Actor.of(user_of(tx.db, user_id))


def _supervisor_of(tx: Tx, session_id: int, candidate_id: int, user_id: int) -> tuple[ExamSession, Candidate, Actor]:
    # `guards.supervised` with the room's own refusals: an unknown session is named as such.
    found = supervising(tx, session_id, candidate_id, user_id)
    if found is not None:
        return found
    exam_session, actor = _supervisor(tx, session_id, user_id)
    return exam_session, candidate_of(tx.db, session_id, candidate_id), actor


def _plain(value: str) -> str:
    """One line of plain text: runs of spaces, tabs and line breaks become one space."""
    return " ".join(value.split())


def _refuse_controls(value: str, field: str) -> None:
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise InvalidPayload(field, N_("caractères non autorisés."))


def _one_line(raw: str, field: str, limit: int, too_long: Callable[[int], DomainError]) -> str:
    """What a supervisor typed, as one line of plain text of at most `limit` characters."""
    text = _plain(raw)
    if len(text) > limit:
        raise too_long(limit)
    _refuse_controls(text, field)
    return text


def pause_message(raw: str | None) -> str:
    return _one_line(raw or "", "message", PAUSE_MESSAGE_MAX, PauseMessageTooLong) or DEFAULT_PAUSE_MESSAGE


def require_join_window(exam_session: ExamSession, rules: Rules) -> None:
    """Candidates join from `join_opens_minutes_before` the session's scheduled time."""
    if rules.join_opens_minutes_before is None:
        return
    opens = clock.join_opens_at(exam_session, rules.session_timezone, rules.join_opens_minutes_before)
    if utcnow() < opens:
        raise SessionNotYetOpen(clock.local_clock(opens, rules.session_timezone))


# ---------------------------------------------------------------- one candidate's change
# Each changes one candidate and emits its event; the caller holds the session's lock.


def _pause(tx: Tx, rules: Rules, exam_session: ExamSession, c: Candidate, actor: Actor, message: str) -> None:
    transitions.decide(c.status, Command.PAUSE)
    if c.paused_since is not None:
        raise TestAlreadyPaused()
    c.paused_since = utcnow()
    c.pause_message = message
    tx.db.add(c)
    emit_candidate(tx, rules, exam_session, c, Action.PAUSED, actor)


def _unpause(tx: Tx, rules: Rules, exam_session: ExamSession, c: Candidate, actor: Actor) -> None:
    transitions.decide(c.status, Command.UNPAUSE)
    if c.paused_since is None:
        raise TestNotPaused()
    seconds = clock.close_pause(c, utcnow())
    tx.db.add(c)
    emit_candidate(tx, rules, exam_session, c, Action.UNPAUSED, actor, {"pause": {"seconds": seconds}})


def _end(tx: Tx, rules: Rules, exam_session: ExamSession, c: Candidate, actor: Actor) -> None:
    ended = transitions.decide(c.status, Command.END_TEST)
    # Ending one test again changes nothing; in a selection, it is a refusal: the count
    # the supervisor confirmed would otherwise not be the count that ended.
    if ended == c.status:
        raise TestAlreadyFinished()
    assert isinstance(ended, CandidateStatus)
    end_running(tx, c, ended, actor, utcnow())
    emit_candidate(tx, rules, exam_session, c, Action.ENDED_BY_SUPERVISOR, actor)


def _confirm_presence(tx: Tx, rules: Rules, exam_session: ExamSession, c: Candidate, actor: Actor) -> None:
    transitions.decide(c.status, Command.CONFIRM_PRESENCE)
    if c.status != CandidateStatus.NOT_STARTED:
        raise StartedBeforePresence()
    if c.authorized_to_start:
        raise PresenceAlreadyConfirmed()
    c.authorized_to_start = True
    tx.db.add(c)
    emit_candidate(tx, rules, exam_session, c, Action.PRESENCE_CONFIRMED, actor)


# ---------------------------------------------------------------- pause, resume, adjust


def pause(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, message: str | None, rules: Rules
) -> dict[str, Any]:
    text = pause_message(message)
    exam_session, c, actor = _supervisor_of(tx, session_id, candidate_id, user_id)
    _pause(tx, rules, exam_session, c, actor, text)
    return rules.view(c)


def unpause(tx: Tx, session_id: int, candidate_id: int, user_id: int, rules: Rules) -> dict[str, Any]:
    exam_session, c, actor = _supervisor_of(tx, session_id, candidate_id, user_id)
    _unpause(tx, rules, exam_session, c, actor)
    return rules.view(c)


def _in_progress(db: Session, session_id: int) -> list[Candidate]:
    rows = db.execute(
        select(Candidate)
        .where(col(Candidate.session_id) == session_id, col(Candidate.status) == CandidateStatus.IN_PROGRESS)
        .order_by(col(Candidate.id))
    ).scalars()
    return list(rows)


def pause_room(tx: Tx, session_id: int, user_id: int, message: str | None, rules: Rules) -> list[dict[str, Any]]:
    """Pauses the tests in progress now; a candidate who starts later is not paused."""
    text = pause_message(message)
    exam_session, actor = _supervisor(tx, session_id, user_id)
    running = [c for c in _in_progress(tx.db, session_id) if c.paused_since is None]
    if not running:
        raise NoTestToPause()
    for c in running:
        _pause(tx, rules, exam_session, c, actor, text)
    return [rules.view(c) for c in running]


def unpause_room(tx: Tx, session_id: int, user_id: int, rules: Rules) -> list[dict[str, Any]]:
    exam_session, actor = _supervisor(tx, session_id, user_id)
    paused = [c for c in _in_progress(tx.db, session_id) if c.paused_since is not None]
    if not paused:
        raise NoTestPaused()
    for c in paused:
        _unpause(tx, rules, exam_session, c, actor)
    return [rules.view(c) for c in paused]


def adjust_time(
    tx: Tx, session_id: int, candidate_id: int, user_id: int, minutes: int, reason: str, rules: Rules
) -> dict[str, Any]:
    if minutes == 0 or not ADJUST_MIN <= minutes <= ADJUST_MAX:
        raise MinutesOutOfRange(ADJUST_MIN, ADJUST_MAX)
    why = _one_line(reason, "reason", REASON_MAX, ReasonTooLong)
    if not why:
        raise ReasonRequired()
    exam_session, actor = _supervisor(tx, session_id, user_id)
    c = candidate_of(tx.db, session_id, candidate_id)
    transitions.decide(c.status, Command.ADJUST_TIME)
    total = c.time_adjustment_minutes + minutes
    if not ADJUST_MIN <= total <= ADJUST_MAX:
        raise TimeAdjustmentLimit(c.time_adjustment_minutes, ADJUST_MIN, ADJUST_MAX)
    c.time_adjustment_minutes = total
    tx.db.add(c)
    # Recorded as an incident report too, on the same event: the procès-verbal and the
    # reports CSV must show why a candidate had more (or less) time.
    signed = f"+{minutes}" if minutes > 0 else str(minutes)
    report = add_report_row(
        tx, c, ReportCategory.OTHER, f"Temps ajusté de {signed} min : {why}", actor, origin=ReportOrigin.TIME_ADJUSTMENT
    )
    details = {
        "adjustment": {"minutes": minutes, "reason": why, "total": total},
        "report": views.report_view(report),
    }
    emit_candidate(tx, rules, exam_session, c, Action.TIME_ADJUSTED, actor, details)
    return rules.view(c)


# ---------------------------------------------------------------- bulk


# Each takes the pause message, which only pausing uses.
Change = Callable[[Tx, Rules, ExamSession, Candidate, Actor, str], None]


def _without_message(change: Callable[[Tx, Rules, ExamSession, Candidate, Actor], None]) -> Change:
    return lambda tx, rules, exam_session, candidate, actor, _message: change(tx, rules, exam_session, candidate, actor)


BULK_ACTIONS: dict[BulkAction, Change] = {
    BulkAction.CONFIRM_PRESENCE: _without_message(_confirm_presence),
    BulkAction.END_TEST: _without_message(_end),
    BulkAction.PAUSE: _pause,
    BulkAction.RESUME: _without_message(_unpause),
}


def bulk(
    tx: Tx,
    session_id: int,
    user_id: int,
    action: str,
    candidate_ids: list[int] | None,
    rules: Rules,
    *,
    message: str | None = None,
    reason: Reason | None = None,
) -> list[dict[str, Any]]:
    """One action on many candidates; `candidate_ids=None` means every test in progress
    (the end of the session). All or nothing: the first refusal names its candidate and
    rolls back every change made before it. `reason`, for ending tests only, is recorded
    for each as « Terminer le test » records it for one (an incident report the
    procès-verbal shows)."""
    if action not in BULK_ACTIONS:
        raise UnknownBulkAction()
    change = BULK_ACTIONS[BulkAction(action)]
    if reason is not None and action != BulkAction.END_TEST:
        raise InvalidPayload("category", N_("un motif ne s'indique que pour terminer des tests."))
    text = pause_message(message) if action == BulkAction.PAUSE else ""
    if candidate_ids is None and action == BulkAction.CONFIRM_PRESENCE:
        raise SelectionRequired()
    exam_session, actor = _supervisor(tx, session_id, user_id)
    if candidate_ids is None:
        chosen = _in_progress(tx.db, session_id)
    else:
        chosen = [candidate_of(tx.db, session_id, cid) for cid in dict.fromkeys(candidate_ids)]
    if not chosen:
        raise NoCandidateSelected()
    for c in chosen:
        try:
            change(tx, rules, exam_session, c, actor, text)
        except DomainError as refusal:
            raise BulkRefused(refusal, f"{c.last_name} {c.first_name}", c.id) from None
        if reason is not None:
            record(tx, rules, exam_session, c, reason, actor, ReportOrigin.END_TEST)
    return [rules.view(c) for c in chosen]


# ---------------------------------------------------------------- messages


def send_message(
    tx: Tx, session_id: int, user_id: int, raw: str, candidate_id: int | None, rules: Rules
) -> dict[str, Any]:
    text = _one_line(raw, "text", MESSAGE_MAX, MessageTooLong)
    if not text:
        raise MessageRequired()
    exam_session, actor = _supervisor(tx, session_id, user_id)
    # Counted under the session's lock: two processes cannot both let one more through.
    since = utcnow() - dt.timedelta(minutes=1)
    recent = tx.db.execute(
        select(func.count())
        .select_from(SessionEvent)
        .where(
            col(SessionEvent.session_id) == session_id,
            col(SessionEvent.type) == EventName.ROOM_MESSAGE,
            col(SessionEvent.actor_user_id) == user_id,
            col(SessionEvent.at) > since,
        )
    ).scalar_one()
    if recent >= rules.messages_per_minute:
        raise TooManyMessages()
    to: dict[str, Any] | None = None
    if candidate_id is not None:
        c = candidate_of(tx.db, session_id, candidate_id)
        if c.status in ENDED:
            raise TestAlreadyFinished()
        to = {"id": c.id, "last_name": c.last_name, "first_name": c.first_name}
    message = {"text": text, "to": to}
    emit_room_message(tx, exam_session, message, actor)
    return message


def messages_for(db: Session, session_id: int, candidate_id: int) -> list[dict[str, Any]]:
    """The recent messages to the room or to this candidate, oldest first, each as the
    candidate's socket pushes it live (with its version: the page shows each one once)."""
    since = utcnow() - dt.timedelta(minutes=MESSAGES_REPLAY_MINUTES)
    rows = db.execute(
        select(col(SessionEvent.version), col(SessionEvent.payload))
        .where(
            col(SessionEvent.session_id) == session_id,
            # As the partial index's own predicate, so that the planner takes it.
            text(ROOM_MESSAGE_ONLY),
            col(SessionEvent.at) > since,
        )
        .order_by(col(SessionEvent.version).desc())
        .limit(MESSAGES_SCANNED)
    ).all()
    found: list[dict[str, Any]] = []
    for version, payload in rows:
        event = json.loads(payload)
        if not message_for(event, candidate_id):
            continue
        found.append(message_frame(event, version))
        if len(found) == MESSAGES_REPLAYED:
            break
    found.reverse()
    return found


# ---------------------------------------------------------------- the kit, for supervisors


def supervisor_kit_info(db: Session, session_id: int, user_id: int) -> KitInfo:
    """The centre's kit, for a supervisor of this open session."""
    return kit_of(db, require_supervisor(db, session_id, user_id))


# ---------------------------------------------------------------- expiry


def _expiry_cutoff(rules: Rules) -> dt.datetime:
    return utcnow() - dt.timedelta(hours=rules.test_expiry_hours)


def sessions_with_expired_tests(db: Session, rules: Rules) -> list[int]:
    rows = db.execute(
        select(col(Candidate.session_id))
        .where(col(Candidate.status) == CandidateStatus.IN_PROGRESS, col(Candidate.started_at) < _expiry_cutoff(rules))
        .distinct()
    ).scalars()
    return sorted(rows)


def expire_tests(tx: Tx, session_id: int, rules: Rules) -> int:
    """Tests left open too long end by themselves; any process may sweep, the lock and the
    re-read under it make a second sweeper find nothing left to do."""
    exam_session = lock_session(tx, session_id)
    cutoff = _expiry_cutoff(rules)
    now = utcnow()
    ended = 0
    for c in _in_progress(tx.db, session_id):
        if c.started_at is None or c.started_at >= cutoff:
            continue
        expired = transitions.decide(c.status, Command.EXPIRE)
        assert isinstance(expired, CandidateStatus)
        end_running(tx, c, expired, EXPIRY_ACTOR, now)
        emit_candidate(tx, rules, exam_session, c, Action.ENDED_BY_EXPIRY, EXPIRY_ACTOR)
        ended += 1
    return ended
