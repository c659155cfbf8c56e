"""The candidate lifecycle as a table: for each state and each command, the next state or
the named refusal. The actions decide with it and the state-machine test checks every step
against it (tests/unit/test_lifecycle_machine.py), so this table is the rule, not a comment.

The table speaks of a candidate's status only. Checks that come before it (the session is
finalised, the cookie is stale, the code is wrong) and finer points inside a state
(presence confirmed, resume requested or authorised, which question is current) stay in
the action that owns them, under their own named refusals.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import (
    CandidateAlreadyStarted,
    DomainError,
    OwnTestNotStarted,
    PresenceAfterStart,
    TestAlreadyFinished,
    TestEndedByExpiry,
    TestEndedByFinalization,
    TestEndedBySupervisor,
    TestFinished,
    TestNotStarted,
)
from vocabulary import CandidateStatus


class Command(StrEnum):
    """What someone asks of a candidate's test (the event's `Action` says what happened)."""

    REMOVE = "remove"  # centre staff
    CONFIRM_PRESENCE = "confirm_presence"  # supervisor
    WITHDRAW_PRESENCE = "withdraw_presence"
    AUTHORIZE_RESUME = "authorize_resume"
    END_TEST = "end_test"
    FINALIZE = "finalize"  # centre staff, to every candidate at once
    JOIN = "join"  # candidate
    START = "start"
    ANSWER = "answer"  # any question but the last
    ANSWER_LAST = "answer_last"
    PAUSE = "pause"  # supervisor: room control (app/actions/room.py)
    UNPAUSE = "unpause"
    ADJUST_TIME = "adjust_time"
    EXPIRE = "expire"  # the sweep, to a test left open too long
    RAISE_ALERT = "raise_alert"  # the candidate signals a problem on the question on screen


class Gone:
    """The candidate no longer exists (removed before starting)."""


GONE = Gone()
Outcome = CandidateStatus | Gone | type[DomainError]

# Short names so that each row reads on one line: statuses, then the refusals used in several cells.
_NOT, _RUN, _FIN = CandidateStatus.NOT_STARTED, CandidateStatus.IN_PROGRESS, CandidateStatus.FINISHED
_SUP, _FZ = CandidateStatus.ENDED_BY_SUPERVISOR, CandidateStatus.ENDED_BY_FINALIZATION
_EXP = CandidateStatus.ENDED_BY_EXPIRY
_STARTED, _PRESENT, _OVER = CandidateAlreadyStarted, PresenceAfterStart, TestAlreadyFinished
_BY_SUP, _BY_FZ, _BY_EXP = TestEndedBySupervisor, TestEndedByFinalization, TestEndedByExpiry

# One row per command, one column per status, in this order:
#     not_started    in_progress    finished    ended_by_supervisor    ended_by_finalization    ended_by_expiry
# A status mapped to itself is accepted and changes no status (flags may change, or nothing).
# Pausing, resuming and adjusting keep a running test running: the pause is a flag of the test.
_ROWS: dict[Command, tuple[Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]] = {
    Command.REMOVE: (GONE, _STARTED, _STARTED, _STARTED, _STARTED, _STARTED),
    Command.CONFIRM_PRESENCE: (_NOT, _RUN, _FIN, _SUP, _FZ, _EXP),
    Command.WITHDRAW_PRESENCE: (_NOT, _PRESENT, _PRESENT, _PRESENT, _PRESENT, _PRESENT),
    Command.AUTHORIZE_RESUME: (TestNotStarted, _RUN, _OVER, _OVER, _OVER, _OVER),
    Command.END_TEST: (TestNotStarted, _SUP, _FIN, _SUP, _FZ, _EXP),
    Command.FINALIZE: (_NOT, _FZ, _FIN, _SUP, _FZ, _EXP),
    Command.JOIN: (_NOT, _RUN, TestFinished, TestFinished, TestFinished, TestFinished),
    Command.START: (_RUN, _RUN, TestFinished, _BY_SUP, _BY_FZ, _BY_EXP),
    # Once finished, a repeated answer is accepted and changes nothing; any other is not the
    # current question (QuestionNotCurrent, a check on the question, not on the status).
    Command.ANSWER: (OwnTestNotStarted, _RUN, _FIN, _BY_SUP, _BY_FZ, _BY_EXP),
    Command.ANSWER_LAST: (OwnTestNotStarted, _FIN, _FIN, _BY_SUP, _BY_FZ, _BY_EXP),
    Command.PAUSE: (TestNotStarted, _RUN, _OVER, _OVER, _OVER, _OVER),
    Command.UNPAUSE: (TestNotStarted, _RUN, _OVER, _OVER, _OVER, _OVER),
    Command.ADJUST_TIME: (TestNotStarted, _RUN, _OVER, _OVER, _OVER, _OVER),
    Command.EXPIRE: (_NOT, _EXP, _FIN, _SUP, _FZ, _EXP),
    # An alert changes no status: it holds the question on screen of a running test.
    Command.RAISE_ALERT: (OwnTestNotStarted, _RUN, TestFinished, _BY_SUP, _BY_FZ, _BY_EXP),
}
_COLUMNS = (_NOT, _RUN, _FIN, _SUP, _FZ, _EXP)

TABLE: dict[tuple[CandidateStatus, Command], Outcome] = {
    (status, command): outcome for command, row in _ROWS.items() for status, outcome in zip(_COLUMNS, row, strict=True)
}
if len(TABLE) != len(CandidateStatus) * len(Command):
    # A new status or command without its outcomes would otherwise fail only when reached.
    raise RuntimeError("the transition table must give an outcome for every status × command")


def outcome(status: str, command: Command) -> Outcome:
    return TABLE[CandidateStatus(status), command]


def decide(status: str, command: Command) -> CandidateStatus | Gone:
    """The next status, or raises the refusal the table names."""
    result = outcome(status, command)
    if isinstance(result, type):
        raise result()
    return result


def moved_by(command: Command) -> list[CandidateStatus]:
    """The statuses this command changes: e.g. finalising touches only running tests."""
    return [s for s in _COLUMNS if isinstance(TABLE[s, command], CandidateStatus) and TABLE[s, command] != s]
