"""The words the server, the pages and the tests share.

`app/` and `realtime/` may both import this package; it imports nothing of theirs. The
values are the strings on the wire and in the database, so changing one is a contract
change: `static/js/vocabulary.js` mirrors them and a test keeps the two equal.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CandidateStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"
    ENDED_BY_SUPERVISOR = "ended_by_supervisor"
    ENDED_BY_FINALIZATION = "ended_by_finalization"
    # Left open more than a day after its start: closed by the sweep (issue 13).
    ENDED_BY_EXPIRY = "ended_by_expiry"

    @property
    def ended(self) -> bool:
        return self in ENDED


ENDED = frozenset(
    {
        CandidateStatus.FINISHED,
        CandidateStatus.ENDED_BY_SUPERVISOR,
        CandidateStatus.ENDED_BY_FINALIZATION,
        CandidateStatus.ENDED_BY_EXPIRY,
    }
)


class SessionStatus(StrEnum):
    CREATED = "created"
    FINALIZED = "finalized"


class Connection(StrEnum):
    """A candidate's browser as the server last knew it."""

    NEVER = "never"
    CONNECTED = "connected"
    LOST = "lost"


class EventName(StrEnum):
    """What changed, for a client applying events: which part of its state to replace."""

    CANDIDATE_UPDATED = "candidate.updated"
    CANDIDATE_REMOVED = "candidate.removed"
    SESSION_UPDATED = "session.updated"
    SUPERVISORS_UPDATED = "supervisors.updated"
    # A supervisor's message to the room or to one candidate; the candidates' sockets pass it on.
    ROOM_MESSAGE = "room.message"


class Action(StrEnum):
    """What happened, in words a client can show without comparing two views."""

    ENROLLED = "enrolled"
    REMOVED = "removed"
    PRESENCE_CONFIRMED = "presence_confirmed"
    PRESENCE_WITHDRAWN = "presence_withdrawn"
    STARTED = "started"
    ANSWERED = "answered"
    FINISHED = "finished"
    RESUME_REQUESTED = "resume_requested"
    RESUME_AUTHORIZED = "resume_authorized"
    RESUMED = "resumed"
    ENDED_BY_SUPERVISOR = "ended_by_supervisor"
    ENDED_BY_FINALIZATION = "ended_by_finalization"
    FINALIZED = "finalized"
    CONNECTED = "connected"
    CONNECTION_LOST = "connection_lost"
    SUPERVISOR_JOINED = "supervisor_joined"
    SUPERVISOR_ONLINE = "supervisor_online"
    SUPERVISOR_OFFLINE = "supervisor_offline"
    # Room control (issue 13).
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    TIME_ADJUSTED = "time_adjusted"
    ENDED_BY_EXPIRY = "ended_by_expiry"
    MESSAGE_SENT = "message_sent"
    # A join took the test while the browser of the previous join was still connected.
    JOIN_SUPERSEDED = "join_superseded"
    # The centre took a supervisor's access back; the event names them in `revoked`.
    SUPERVISOR_REVOKED = "supervisor_revoked"
    # The centre gave the session a new supervisor password.
    PASSWORD_ROTATED = "password_rotated"
    ALERT_RAISED = "alert_raised"
    ALERT_VALIDATED = "alert_validated"
    ALERT_REFUSED = "alert_refused"
    REPORT_ADDED = "report_added"
    REPORT_EDITED = "report_edited"
    REPORT_REMOVED = "report_removed"


class BulkAction(StrEnum):
    """What a supervisor does to a selection of candidates at once (`POST …/bulk`)."""

    CONFIRM_PRESENCE = "confirm_presence"
    END_TEST = "end_test"
    PAUSE = "pause"
    RESUME = "resume"


class AlertStatus(StrEnum):
    """A candidate's « Signaler un problème », from sent to decided."""

    PENDING = "pending"
    VALIDATED = "validated"
    REFUSED = "refused"
    # The test ended (by a supervisor or the finalisation) before anyone decided.
    CLOSED = "closed"


class AlertCategory(StrEnum):
    """What the candidate says is wrong with the question on screen."""

    IMAGE = "image"
    DISPLAY = "display"
    LINK = "link"
    EXTRA_TIME = "extra_time"
    ACCESSIBILITY = "accessibility"
    OTHER = "other"


class ReportCategory(StrEnum):
    """The incident report's kinds, as the procès-verbal groups them."""

    ATTENDANCE = "attendance"
    IDENTITY = "identity"
    ACCESSIBILITY = "accessibility"
    TECHNICAL = "technical"
    QUESTION = "question"
    FRAUD = "fraud"
    OTHER = "other"


class ReportOrigin(StrEnum):
    """Why a report exists: written by hand, or recorded by an action that needs a trace."""

    SUPERVISOR = "supervisor"
    ALERT = "alert"
    END_TEST = "end_test"
    FINALIZATION = "finalization"
    # A supervisor added or removed minutes: the reason belongs in the session's record.
    TIME_ADJUSTMENT = "time_adjustment"


# Fields of the candidate view for the staff only: the candidate's own pages and socket
# never receive them (how many incident reports the supervisors wrote about them).
STAFF_ONLY_FIELDS = frozenset({"reports_count"})


def own_view(view: dict[str, object]) -> dict[str, object]:
    """A candidate view as the candidate themselves may see it."""
    return {k: v for k, v in view.items() if k not in STAFF_ONLY_FIELDS}


class MessageType(StrEnum):
    """The `type` of every websocket message, both directions."""

    SNAPSHOT = "snapshot"
    EVENT = "event"
    HEARTBEAT = "heartbeat"
    RESYNC = "resync"
    CANDIDATE = "candidate"
    # A supervisor's message, on the candidate socket.
    MESSAGE = "message"
    ERROR = "error"


def message_for(event: dict[str, object], candidate_id: int) -> bool:
    """A supervisor's message reaches the whole room (`to` null) or the one candidate named."""
    message = event.get("message")
    if not isinstance(message, dict):
        return False
    to = message.get("to")
    return to is None or (isinstance(to, dict) and to.get("id") == candidate_id)


def message_frame(event: dict[str, object], version: int) -> dict[str, object]:
    """A supervisor's message as the candidate's socket carries it, live or replayed."""
    return {
        "type": MessageType.MESSAGE,
        "message": event.get("message"),
        "actor": event.get("actor"),
        "at": event.get("at"),
        "version": version,
    }


class CloseCode(IntEnum):
    """Why the server closed a websocket; the pages decide from it whether to reconnect."""

    POLICY = 1008  # foreign Origin, or a message flood: reconnecting would be refused again
    TOO_BIG = 1009
    INTERNAL = 1011
    TRY_AGAIN = 1013  # too slow a reader: reconnect and resynchronise
    NOT_LOGGED_IN = 4401
    NO_ACCESS = 4403
    # A newer socket of the same person took this one's place (candidate, or supervisor and
    # session, per process): the page stops, or two tabs would take turns closing each other.
    REPLACED = 4408
    ELSEWHERE = 4409  # the candidate's test was opened on another computer (a newer join)
    OVER = 4410  # the candidate's test is over, or the session finalised (after the last state)
    REVOKED = 4411  # the centre revoked this supervisor's access to the session
