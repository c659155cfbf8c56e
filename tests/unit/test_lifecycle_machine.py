"""The candidate lifecycle as a Hypothesis state machine.

Random sequences of every action of supervisors, candidates, centre staff and the lease
sweeper are run against the lifecycle functions directly, each in its own write
transaction on a fresh SQLite file (the same BEGIN IMMEDIATE engine the app uses).
Every step is checked against the transition table (app/actions/transitions.py): the
candidate it targets ends in the table's status, or the step was refused, as the table
says it must be; no other candidate's status moves. After every step the database must be
in a legal state, and replaying the event log from version 0 must rebuild exactly the
candidates, the supervisors and the session status of the supervisor's snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlmodel import Session, col

from app import views
from app.actions import (
    accounts,
    alerts,
    candidate_test,
    centres,
    closing,
    eventlog,
    presence,
    reports,
    room,
    supervision,
    transitions,
)
from app.actions.centres import Enrolment, SessionPlan
from app.actions.rules import Rules
from app.actions.transitions import GONE, Command
from app.db import Tx, make_engine
from app.errors import DomainError
from app.models import Alert, Candidate, ExamSession, IncidentReport, SessionEvent
from app.security import CandidateClaim, RateLimiter
from app.settings import load_settings
from tests import contract
from vocabulary import ENDED, BulkAction, CandidateStatus, Connection, EventName, ReportOrigin, SessionStatus

T = TypeVar("T")
# The table's command for each bulk action.
BULK_COMMANDS = {
    BulkAction.CONFIRM_PRESENCE: Command.CONFIRM_PRESENCE,
    BulkAction.END_TEST: Command.END_TEST,
    BulkAction.PAUSE: Command.PAUSE,
    BulkAction.RESUME: Command.UNPAUSE,
}
STATUSES = set(CandidateStatus)
CONNECTIONS = set(Connection)
# Every refusal the lifecycle may give for these actions (CONTRACT.md).
REFUSALS = {
    "ALERT_ALREADY_HANDLED",
    "ALERT_ALREADY_OPEN",
    "ALERT_NOT_FOUND",
    "ALERT_PENDING",
    "NO_REPLACEMENT_QUESTION",
    "NOT_REPORT_AUTHOR",
    "REPORT_NOT_FOUND",
    "REPORT_NOT_REMOVABLE",
    "TOO_MANY_ALERTS",
    "CANDIDATE_ALREADY_STARTED",
    "CANDIDATE_ALREADY_ENROLLED",
    "CANDIDATE_NOT_FOUND",
    "CANDIDATE_NOT_AUTHORIZED_TO_JOIN_SESSION",
    "CANDIDATE_NOT_AUTHORIZED_TO_RESUME_SESSION",
    "CONSENT_REQUIRED",
    "INVALID_PAYLOAD",
    "INVALID_SESSION_OR_CODE",
    "NOT_AUTHENTICATED",
    "QUESTION_NOT_CURRENT",
    "SESSION_FINALIZED",
    "SESSION_NOT_ACCESSIBLE",
    "TEST_ALREADY_FINISHED",
    "TEST_ENDED_BY_FINALIZATION",
    "TEST_ENDED_BY_SUPERVISOR",
    "TEST_FINISHED",
    "TEST_NOT_STARTED",
    # Room control (app/actions/room.py).
    "MINUTES_OUT_OF_RANGE",
    "MESSAGE_REQUIRED",
    "NO_CANDIDATE_SELECTED",
    "NO_TEST_PAUSED",
    "NO_TEST_TO_PAUSE",
    "PRESENCE_ALREADY_CONFIRMED",
    "REASON_REQUIRED",
    "SELECTION_REQUIRED",
    "TEST_ENDED_BY_EXPIRY",
    "TEST_ALREADY_PAUSED",
    "TEST_NOT_PAUSED",
    "TEST_PAUSED",
    "TIME_ADJUSTMENT_LIMIT",
    "TOO_MANY_MESSAGES",
}
RULES = Rules(
    test_minutes=105,
    questions_per_test=3,
    limiter=RateLimiter(10_000, 300),
    lease_seconds=0,
    join_opens_minutes_before=None,  # the machine's session is in the past: open anyway
    session_timezone="Europe/Paris",
    test_expiry_hours=24,
    messages_per_minute=6,
    alerts_per_window=5,
    guess_limiter=RateLimiter(10_000, 300),
    account_limiter=RateLimiter(10_000, 300),
)
BIRTH = dt.date(2000, 1, 1)
SESSION_DAY = dt.date(2021, 12, 28)
NAMES = ["DELARUE", "DUPONT", "DURAND", "ÉLOI", "MARTIN", "PETIT"]
PEOPLE = st.integers(0, 3)  # an index into the candidates, taken modulo their number
MOSTLY_YES = st.sampled_from([True, True, True, False])


@dataclass(frozen=True)
class PreparedRoom:
    """The room every run starts from, built once and copied: a session, its staff member,
    two supervisors with access, four enrolled candidates."""

    path: Path
    sid: int
    staff: int
    sups: tuple[int, int]
    code: str


class LifecycleMachine(RuleBasedStateMachine):
    template: Path  # a migrated SQLite file, set by the test below
    prepared: PreparedRoom | None = None
    # What each browser holds after a join: a newer join makes the older ones stale.
    browsers = Bundle("browsers")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        path = self.folder / "machine.db"
        self.path = path
        shutil.copy(self.prepared.path if self.prepared else self.template, path)
        self.engine = make_engine(load_settings({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "m" * 32}))
        self.ended: dict[int, str] = {}
        self.frozen: dict[int, dict[str, Any]] | None = None  # candidate views when finalised
        self.enrolled = 0
        self.steps = 0
        self.checked_version = 0

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------ plumbing

    def write(self, fn: Callable[[Tx], T]) -> T | DomainError:
        """One transaction, as `Database.write` runs it: refusals roll back unless they
        ask to keep what they recorded."""
        before = self.version() if hasattr(self, "sid") else 0
        with Session(self.engine, expire_on_commit=False) as db:
            db.connection(execution_options={"immediate": True})
            try:
                result = fn(Tx(db))
            except DomainError as refusal:
                assert refusal.code in REFUSALS, (refusal.code, refusal.message)
                assert refusal.status in (401, 403, 404, 409, 412, 422, 429)
                if refusal.commit:
                    db.commit()
                else:
                    db.rollback()
                    # A refusal changes nothing: no version, so no event and no row (bulk included).
                    if hasattr(self, "sid"):
                        assert self.version() == before, (refusal.code, "a refusal changed the session")
                return refusal
            db.commit()
            return result

    def act(self, fn: Callable[[Tx], T], command: Command | None, target: int | None = None) -> T | DomainError:
        """One write, checked against the transition table: `command` applied to `target`
        (to every candidate when None); with no command, no status may change."""
        before = self.statuses()
        result = self.write(fn)
        after = self.statuses()
        for cid, status in before.items():
            if command is None or (target is not None and cid != target):
                assert after.get(cid) == status, (cid, status, after.get(cid), command, target)
                continue
            outcome = transitions.outcome(status, command)
            if isinstance(outcome, type):
                assert isinstance(result, DomainError), f"the table refuses {command} from {status}"
                expected: str | None = status
            elif isinstance(result, DomainError):
                expected = status  # refused by a check the table does not cover (code, cookie, consent…)
            else:
                expected = None if outcome is GONE else str(outcome)
            assert after.get(cid) == expected, (cid, status, command, after.get(cid), result)
        return result

    def statuses(self) -> dict[int, str]:
        return {c.id or 0: c.status for c in self.candidates()}

    def read(self, fn: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as db:
            return fn(db)

    def version(self) -> int:
        return self.read(lambda db: eventlog.current_version(db, self.sid))

    def candidates(self) -> list[Candidate]:
        return self.read(
            lambda db: list(db.execute(select(Candidate).where(col(Candidate.session_id) == self.sid)).scalars())
        )

    def pick(self, index: int) -> Candidate | None:
        people = sorted(self.candidates(), key=lambda c: c.id or 0)
        return people[index % len(people)] if people else None

    # ------------------------------------------------------------ the room

    @initialize()
    def open_the_room(self) -> None:
        if self.prepared is not None:
            room = self.prepared
            self.sid, self.staff, self.sups, self.code = room.sid, room.staff, list(room.sups), room.code
            self.enrolled = 4
            return

        def build(tx: Tx) -> tuple[int, list[int], str, str]:
            staff = accounts.create_user(tx, "staff@testix.fr", "x", "Alice", "Martin")
            sups = [accounts.create_user(tx, f"sup{i}@testix.fr", "x", f"Sup{i}", "Curie") for i in range(2)]
            centre = centres.create_centre(tx, "Centre de Testix", "staff@testix.fr")
            assert centre.id is not None and staff.id is not None
            plan = SessionPlan(address="1 rue", room="Salle 3", examiner="E", date=SESSION_DAY, time="11:00")
            s = centres.create_session(tx, centre.id, staff.id, plan)
            assert s.id is not None
            return s.id, [staff.id] + [u.id for u in sups if u.id is not None], s.access_code, s.supervisor_password

        built = self.write(build)
        assert not isinstance(built, DomainError)
        self.sid, users, self.code, password = built
        self.staff, self.sups = users[0], users[1:]
        for sup in self.sups:
            assert self.write(lambda tx, u=sup: supervision.grant_supervision(tx, self.sid, password, u, RULES)) is None
        for _ in range(4):
            self.enrol()

    @rule()
    def enrol(self) -> None:
        if self.enrolled >= len(NAMES):
            return
        name = NAMES[self.enrolled]
        self.enrolled += 1
        e = Enrolment(last_name=name, first_name="Camille", birthdate=BIRTH)
        self.act(lambda tx: centres.enrol(tx, self.sid, self.staff, e, RULES), None)

    @rule(who=PEOPLE)
    def remove(self, who: int) -> None:
        c = self.pick(who)
        if c is not None:
            assert c.id is not None
            self.act(
                lambda tx: reports.remove_candidate(tx, self.sid, c.id or 0, self.staff, RULES), Command.REMOVE, c.id
            )

    # ------------------------------------------------------------ supervisors

    @rule(who=PEOPLE, sup=st.integers(0, 1), authorized=MOSTLY_YES)
    def presence(self, who: int, sup: int, authorized: bool) -> None:
        c = self.pick(who)
        if c is not None:
            command = Command.CONFIRM_PRESENCE if authorized else Command.WITHDRAW_PRESENCE
            self.act(
                lambda tx: supervision.set_presence(tx, self.sid, c.id or 0, self.sups[sup], authorized, RULES),
                command,
                c.id,
            )

    @rule(who=PEOPLE, sup=st.integers(0, 1))
    def authorize_resume(self, who: int, sup: int) -> None:
        c = self.pick(who)
        if c is not None:
            self.act(
                lambda tx: supervision.authorize_resume(tx, self.sid, c.id or 0, self.sups[sup], RULES),
                Command.AUTHORIZE_RESUME,
                c.id,
            )

    @rule(who=PEOPLE, sup=st.integers(0, 1), reason=st.sampled_from([None, "fraud", "other"]))
    def end_test(self, who: int, sup: int, reason: str | None) -> None:
        c = self.pick(who)
        if c is not None:
            why = reports.Reason(reason, "motif") if reason else None
            self.act(
                lambda tx: closing.end_test(tx, self.sid, c.id or 0, self.sups[sup], why, RULES), Command.END_TEST, c.id
            )

    # ------------------------------------------------------------ room control

    @rule(who=PEOPLE, sup=st.integers(0, 1))
    def pause(self, who: int, sup: int) -> None:
        c = self.pick(who)
        if c is not None:
            fn = lambda tx: room.pause(tx, self.sid, c.id or 0, self.sups[sup], "Pause", RULES)  # noqa: E731
            self.act(fn, Command.PAUSE, c.id)

    @rule(who=PEOPLE, sup=st.integers(0, 1))
    def unpause(self, who: int, sup: int) -> None:
        c = self.pick(who)
        if c is not None:
            self.act(lambda tx: room.unpause(tx, self.sid, c.id or 0, self.sups[sup], RULES), Command.UNPAUSE, c.id)

    @rule(
        who=PEOPLE, minutes=st.sampled_from([-31, -30, -5, 0, 10, 60, 120, 121]), reason=st.sampled_from(["Panne", ""])
    )
    def adjust_time(self, who: int, minutes: int, reason: str) -> None:
        c = self.pick(who)
        if c is not None:
            fn = lambda tx: room.adjust_time(tx, self.sid, c.id or 0, self.sups[0], minutes, reason, RULES)  # noqa: E731
            self.act(fn, Command.ADJUST_TIME, c.id)

    @rule(sup=st.integers(0, 1), resume=st.booleans())
    def pause_or_resume_the_room(self, sup: int, resume: bool) -> None:
        # The room's pause is a flag of each running test: no status moves.
        if resume:
            self.act(lambda tx: room.unpause_room(tx, self.sid, self.sups[sup], RULES), None)
        else:
            self.act(lambda tx: room.pause_room(tx, self.sid, self.sups[sup], None, RULES), None)

    @rule(
        action=st.sampled_from(sorted(BULK_COMMANDS)),
        who=st.lists(PEOPLE, max_size=4),
        everyone=st.booleans(),
        stranger=st.booleans(),
    )
    def bulk(self, action: str, who: list[int], everyone: bool, stranger: bool) -> None:
        """Each candidate changed is its own event and follows the table; any refusal (an
        unknown candidate among them included) leaves everyone as they were."""
        people = [c for c in (self.pick(i) for i in who) if c is not None]
        ids = None if everyone else [c.id or 0 for c in people] + ([987_654] if stranger else [])
        before, version = self.statuses(), self.version()
        result = self.write(lambda tx: room.bulk(tx, self.sid, self.sups[0], action, ids, RULES))
        after = self.statuses()
        if isinstance(result, DomainError):
            assert after == before
            return
        assert self.version() == version + len(result)
        chosen = {c["id"] for c in result}
        for cid, status in before.items():
            outcome = transitions.outcome(status, BULK_COMMANDS[action]) if cid in chosen else status
            assert after[cid] == outcome, (action, cid, status, after[cid])

    @rule(to=st.one_of(st.none(), PEOPLE), text=st.sampled_from(["Il reste 10 minutes", " "]))
    def message(self, to: int | None, text: str) -> None:
        c = self.pick(to) if to is not None else None
        cid = c.id if c is not None else None
        self.act(lambda tx: room.send_message(tx, self.sid, self.sups[1], text, cid, RULES), None)

    @rule(who=PEOPLE)
    def expire(self, who: int) -> None:
        """A running test left open a day (its start moved back 25 h) ends by the sweep."""
        c = self.pick(who)
        if c is None or c.status != CandidateStatus.IN_PROGRESS or c.started_at is None:
            return

        def age(tx: Tx) -> None:
            found = tx.db.get(Candidate, c.id)
            assert found is not None and found.started_at is not None
            found.started_at -= dt.timedelta(hours=RULES.test_expiry_hours + 1)
            tx.db.add(found)

        def sweep(tx: Tx) -> int:
            age(tx)
            return room.expire_tests(tx, self.sid, RULES)

        assert self.act(sweep, Command.EXPIRE, c.id) == 1
        assert self.read(lambda db: room.sessions_with_expired_tests(db, RULES)) == []

    # ------------------------------------------------------------ incidents (no status changes)

    @rule(sup=st.integers(0, 1), validate=MOSTLY_YES, which=st.sampled_from(["pending"] * 3 + ["any"]))
    def decide_alert(self, sup: int, validate: bool, which: str) -> None:
        def find(db: Session) -> int | None:
            query = select(col(Alert.id)).where(col(Alert.session_id) == self.sid)
            if which == "pending":
                query = query.where(col(Alert.status) == "pending")
            return db.execute(query.order_by(col(Alert.id).desc()).limit(1)).scalar()

        aid = self.read(find)
        if aid is not None:
            self.act(lambda tx: alerts.decide(tx, self.sid, aid, self.sups[sup], validate, RULES), None)

    @rule(who=PEOPLE, sup=st.integers(0, 1), category=st.sampled_from(["attendance", "technical", "fraud"]))
    def add_report(self, who: int, sup: int, category: str) -> None:
        c = self.pick(who)
        if c is not None:
            reason = reports.Reason(category, "vu")
            self.act(lambda tx: reports.add_report(tx, self.sid, c.id or 0, self.sups[sup], reason, RULES), None)

    @rule(sup=st.integers(0, 1), remove=st.booleans())
    def change_report(self, sup: int, remove: bool) -> None:
        report = self.read(
            lambda db: db.execute(
                select(IncidentReport)
                .where(col(IncidentReport.session_id) == self.sid)
                .order_by(col(IncidentReport.id))
            ).scalar()
        )
        if report is None:
            return
        rid, cid, user = report.id or 0, report.candidate_id, self.sups[sup]
        if remove:
            self.act(lambda tx: reports.remove_report(tx, self.sid, cid, rid, user, RULES), None)
        else:
            self.act(lambda tx: reports.edit_report(tx, self.sid, cid, rid, user, "other", "revu", RULES), None)

    @rule(sup=st.integers(0, 1))
    def supervisor_online(self, sup: int) -> None:
        self.act(lambda tx: presence.supervisor_online(tx, self.sid, self.sups[sup], RULES), None)

    @precondition(lambda self: self.frozen is None and self.steps >= 20)
    @rule(trust_ended=st.booleans())
    def finalize(self, trust_ended: bool) -> None:
        # Late in a run only: the steps before it are spent on a session that is still open.
        # A test ended with a reason needs none again (`trust_ended`); every other unfinished one does.
        ended = self.read(lambda db: reports.end_reasons(db, self.sid)) if trust_ended else {}
        unfinished = [c.id or 0 for c in self.candidates() if c.status in closing.UNFINISHED]
        reasons = {cid: reports.Reason("technical", "panne") for cid in unfinished if cid not in ended}
        result = self.act(
            lambda tx: closing.finalize(tx, self.sid, self.staff, "RAS", reasons, RULES), Command.FINALIZE
        )
        assert not isinstance(result, DomainError), result
        self.frozen = self.views()

    # ------------------------------------------------------------ candidates

    @rule(target=browsers, who=PEOPLE, right_code=MOSTLY_YES)
    def join(self, who: int, right_code: bool) -> Any:
        c = self.pick(who)
        if c is None:
            return multiple()
        code = self.code.lower() if right_code else "BBBB22"
        joined = self.act(
            lambda tx: candidate_test.join(tx, self.sid, code, c.first_name, c.last_name, c.birthdate, RULES),
            Command.JOIN,
            c.id,
        )
        if not isinstance(joined, candidate_test.Joined):
            return multiple()
        assert joined.next in (candidate_test.NEXT_CONSENT, candidate_test.NEXT_TEST)
        return joined.claim

    @rule(target=browsers, who=PEOPLE, sup=st.integers(0, 1))
    def walk_in(self, who: int, sup: int) -> Any:
        """Presence confirmed, join, consent and start: the usual arrival, as four
        transactions in a row, so runs reach the running test often."""
        c = self.pick(who)
        if c is None:
            return multiple()
        self.act(
            lambda tx: supervision.set_presence(tx, self.sid, c.id or 0, self.sups[sup], True, RULES),
            Command.CONFIRM_PRESENCE,
            c.id,
        )
        joined = self.act(
            lambda tx: candidate_test.join(tx, self.sid, self.code, c.first_name, c.last_name, c.birthdate, RULES),
            Command.JOIN,
            c.id,
        )
        if not isinstance(joined, candidate_test.Joined):
            return multiple()
        self.act(lambda tx: candidate_test.start(tx, joined.claim, True, RULES), Command.START, c.id)
        return joined.claim

    @rule(claim=browsers, consent=MOSTLY_YES)
    def start(self, claim: CandidateClaim, consent: bool) -> None:
        self.act(lambda tx: candidate_test.start(tx, claim, consent, RULES), Command.START, claim.candidate_id)

    @rule(claim=browsers, which=st.sampled_from(["current"] * 4 + ["previous", "unknown"]), choice=st.integers(-1, 4))
    def answer(self, claim: CandidateClaim, which: str, choice: int) -> None:
        c = self.read(lambda db: db.get(Candidate, claim.candidate_id))
        if c is None or c.session_id != self.sid:
            return
        ids = c.question_ids.split(",") if c.question_ids else []
        question = {
            "current": ids[c.answered] if c.answered < len(ids) else "q01",
            "previous": ids[c.answered - 1] if 0 < c.answered <= len(ids) else "q01",
            "unknown": "zz99",
        }[which]
        last = which == "current" and c.answered == len(ids) - 1
        command = Command.ANSWER_LAST if last else Command.ANSWER
        self.act(lambda tx: candidate_test.answer(tx, claim, question, choice, RULES), command, claim.candidate_id)

    @rule(claim=browsers, category=st.sampled_from(["image", "other", "link"]), current=MOSTLY_YES)
    def raise_alert(self, claim: CandidateClaim, category: str, current: bool) -> None:
        c = self.read(lambda db: db.get(Candidate, claim.candidate_id))
        if c is None or c.session_id != self.sid:
            return
        ids = c.question_ids.split(",") if c.question_ids else []
        question = ids[c.answered] if current and c.answered < len(ids) else "zz99"
        self.act(
            lambda tx: alerts.raise_alert(tx, claim, question, category, "écran", RULES),
            Command.RAISE_ALERT,
            claim.candidate_id,
        )

    @rule(who=PEOPLE)
    def connect(self, who: int) -> None:
        c = self.pick(who)
        if c is not None:
            self.act(lambda tx: presence.candidate_connected(tx, self.sid, c.id or 0, c.join_token, RULES), None)

    @rule()
    def expire_leases(self) -> None:
        # Leases last 0 s here: whoever connected is now overdue.
        for sid in self.read(presence.expired_sessions):
            self.act(lambda tx, s=sid: presence.expire_leases(tx, s, RULES), None)

    # ------------------------------------------------------------ invariants

    def views(self) -> dict[int, dict[str, Any]]:
        return self.read(lambda db: Observed.of(db, self.sid).views)

    @invariant()
    def the_state_is_legal(self) -> None:
        if not hasattr(self, "sid"):
            return
        self.steps += 1
        seen = self.read(lambda db: Observed.of(db, self.sid))
        self.statuses_are_legal(seen)
        self.versions_are_contiguous(seen)
        self.replaying_the_log_rebuilds_the_snapshot(seen)
        self.alerts_and_reports_agree(seen)
        self.a_finalised_session_stays_as_it_was(seen)
        self.events_keep_the_websocket_contract(seen)

    def statuses_are_legal(self, seen: Observed) -> None:
        for c in seen.candidates:
            assert c.status in STATUSES and c.connection in CONNECTIONS
            if c.status != CandidateStatus.NOT_STARTED:
                assert not c.authorized_to_start, "a presence confirmation outlived the start"
                assert c.started_at is not None and len(c.question_ids.split(",")) == RULES.questions_per_test
            # A pause exists only in a test under way, with its message; adjustments stay bounded.
            assert (c.paused_since is not None) == (c.pause_message is not None)
            if c.paused_since is not None:
                assert c.status == CandidateStatus.IN_PROGRESS, f"a {c.status} test stayed paused"
            assert c.paused_seconds >= 0
            assert room.ADJUST_MIN <= c.time_adjustment_minutes <= room.ADJUST_MAX
            if c.status != CandidateStatus.IN_PROGRESS:
                flags = (c.status, c.resume_requested, c.resume_authorized)
                assert not c.resume_requested and not c.resume_authorized, flags
            assert 0 <= c.answered <= RULES.questions_per_test
            assert (c.status == CandidateStatus.FINISHED) == (c.answered == RULES.questions_per_test)
            assert c.id is not None
            if c.id in self.ended:
                assert c.status == self.ended[c.id], f"an ended test went back to {c.status}"
            elif c.status in ENDED:
                self.ended[c.id] = c.status
            if seen.status == SessionStatus.FINALIZED:
                assert c.status != CandidateStatus.IN_PROGRESS

    def versions_are_contiguous(self, seen: Observed) -> None:
        assert [e["version"] for e in seen.events] == list(range(1, seen.version + 1))
        assert seen.snapshot_version == seen.version

    def replaying_the_log_rebuilds_the_snapshot(self, seen: Observed) -> None:
        rebuilt: dict[int, dict[str, Any]] = {}
        supervisors: list[dict[str, Any]] = []  # the session is created with none
        session: dict[str, Any] | None = None  # no event until the session changes
        for event in seen.events:
            json.dumps(event)  # every event is plain JSON
            assert event["name"] in set(EventName), event["name"]
            if event["name"] == EventName.CANDIDATE_REMOVED:
                rebuilt.pop(event["candidate"]["id"])
            elif event["name"] == EventName.CANDIDATE_UPDATED:
                rebuilt[event["candidate"]["id"]] = event["candidate"]
            elif event["name"] == EventName.SUPERVISORS_UPDATED:
                supervisors = event["supervisors"]
            elif event["name"] == EventName.SESSION_UPDATED:
                session = event["session"]
        assert set(rebuilt) == set(seen.views)
        for cid, view in seen.views.items():
            assert {**rebuilt[cid], "overtime": None} == {**view, "overtime": None}, cid
        assert supervisors == seen.supervisors
        if session is None:
            assert seen.status == SessionStatus.CREATED
        else:
            assert session == {k: v for k, v in seen.session.items() if k != "access_code"}
            assert session["status"] == seen.status

    def events_keep_the_websocket_contract(self, seen: Observed) -> None:
        """Each new event matches app/schema/messages.json, and the counters the log last
        carried are the snapshot's (an action that changes them must send them)."""
        last_counts = None
        for event in seen.events:
            if event["version"] > self.checked_version:
                assert contract.problem(event, "event") is None, contract.problem(event, "event")
            last_counts = event.get("counts", last_counts)
        self.checked_version = seen.version
        if last_counts is not None:
            assert last_counts == seen.counts

    def alerts_and_reports_agree(self, seen: Observed) -> None:
        for c in seen.candidates:
            mine = [a for a in seen.alerts if a.candidate_id == c.id]
            pending = [a for a in mine if a.status == "pending"]
            # At most one open alert, on the question on screen of a running test, shown in every view.
            assert len(pending) <= 1
            assert bool(c.pending_alert) == bool(pending)
            if pending:
                assert c.status == CandidateStatus.IN_PROGRESS and pending[0].question_index == c.answered
                assert json.loads(c.pending_alert or "null")["id"] == pending[0].id
            # A replaced question is never served again; the test keeps its length. A
            # replacement stays in the test unless a later alert on it replaced it in turn.
            ids = c.question_ids.split(",") if c.question_ids else []
            assert len(set(ids)) == len(ids)
            taken = {a.question_id for a in mine if a.replacement_question_id}
            for a in mine:
                if a.replacement_question_id:
                    assert a.question_id not in ids
                    assert a.replacement_question_id in ids or a.replacement_question_id in taken
            assert c.reports_count == len([r for r in seen.reports if r["candidate_id"] == c.id])
        # Replaying the reports' events rebuilds the list of reports.
        rebuilt: dict[int, dict[str, Any]] = {}
        for event in seen.events:
            if event["name"] == EventName.CANDIDATE_REMOVED:
                # A removed candidate takes their reports along.
                gone = event["candidate"]["id"]
                rebuilt = {rid: r for rid, r in rebuilt.items() if r["candidate_id"] != gone}
            report = event.get("report")
            if report is None:
                continue
            if report.get("deleted"):
                # Only a report written by hand goes: one an action wrote is that action's trace.
                assert rebuilt.pop(report["id"])["origin"] == ReportOrigin.SUPERVISOR
            else:
                rebuilt[report["id"]] = report
        assert sorted(rebuilt) == sorted(r["id"] for r in seen.reports)
        for r in seen.reports:
            assert rebuilt[r["id"]] == r

    def a_finalised_session_stays_as_it_was(self, seen: Observed) -> None:
        if self.frozen is None:
            return
        assert set(seen.views) == set(self.frozen)
        for cid, view in seen.views.items():
            # The connection may still come and go; nothing else may change.
            assert {**view, "connection": None} == {**self.frozen[cid], "connection": None}


@dataclass
class Observed:
    """Everything the invariants look at, read in one transaction."""

    status: str
    version: int
    candidates: list[Candidate]
    events: list[dict[str, Any]]
    snapshot_version: int
    views: dict[int, dict[str, Any]]
    supervisors: list[dict[str, Any]]
    session: dict[str, Any]
    counts: dict[str, int]
    alerts: list[Alert]
    reports: list[dict[str, Any]]

    @classmethod
    def of(cls, db: Session, sid: int) -> Observed:
        s = db.get(ExamSession, sid)
        assert s is not None
        candidates = list(db.execute(select(Candidate).where(col(Candidate.session_id) == sid)).scalars())
        payloads = db.execute(
            select(SessionEvent.payload).where(col(SessionEvent.session_id) == sid).order_by(col(SessionEvent.version))
        ).scalars()
        snap = views.snapshot(db, sid, RULES.view)
        assert snap is not None
        return cls(
            status=s.status,
            version=s.version,
            candidates=candidates,
            events=[json.loads(p) for p in payloads],
            snapshot_version=snap["version"],
            views={c["id"]: c for c in snap["candidates"]},
            supervisors=snap["supervisors"],
            session=snap["session"],
            counts=snap["counts"],
            alerts=list(db.execute(select(Alert).where(col(Alert.session_id) == sid)).scalars()),
            reports=snap["reports"],
        )


def prepare_room(template: Path, folder: Path) -> PreparedRoom:
    LifecycleMachine.template, LifecycleMachine.prepared = template, None
    builder = LifecycleMachine()
    builder.open_the_room()
    builder.engine.dispose()  # closes the last connection: the WAL is folded into the file
    path = folder / "room.db"
    shutil.copy(builder.path, path)
    room = PreparedRoom(path, builder.sid, builder.staff, (builder.sups[0], builder.sups[1]), builder.code)
    builder.teardown()
    return room


def test_the_lifecycle_never_reaches_an_illegal_state(sqlite_template: Path, tmp_path: Path) -> None:
    LifecycleMachine.prepared = prepare_room(sqlite_template, tmp_path)
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )


def test_finishing_the_test_clears_a_pending_resume(sqlite_template: Path, tmp_path: Path) -> None:
    """Found by the machine: the old browser finishes the test after a new one asked to
    resume and a supervisor authorised it; the finished candidate must not stay flagged."""
    LifecycleMachine.prepared = prepare_room(sqlite_template, tmp_path)
    m = LifecycleMachine()
    try:
        m.open_the_room()
        old = m.walk_in(who=0, sup=0)
        assert isinstance(old, CandidateClaim)
        m.join(who=0, right_code=True)  # a second browser: "reprise demandée"
        m.authorize_resume(who=0, sup=1)
        for _ in range(RULES.questions_per_test):
            m.answer(old, "current", 0)
        c = m.pick(0)
        assert c is not None and c.status == CandidateStatus.FINISHED
        assert (c.resume_requested, c.resume_authorized) == (False, False)
        m.the_state_is_legal()
    finally:
        m.teardown()


def test_an_alert_validated_then_a_refused_one_keep_the_state_legal(sqlite_template: Path, tmp_path: Path) -> None:
    """The machine's incident steps in one known order, so the path is walked every run."""
    LifecycleMachine.prepared = prepare_room(sqlite_template, tmp_path)
    m = LifecycleMachine()
    try:
        m.open_the_room()
        claim = m.walk_in(who=1, sup=0)
        assert isinstance(claim, CandidateClaim)
        m.raise_alert(claim, "image", current=True)
        m.the_state_is_legal()
        m.answer(claim, "current", 0)  # on hold: refused
        before = m.pick(1)
        assert before is not None and before.pending_alert and before.answered == 0
        m.decide_alert(sup=1, validate=True, which="pending")
        m.decide_alert(sup=0, validate=False, which="any")  # too late: ALERT_ALREADY_HANDLED
        m.the_state_is_legal()
        after = m.pick(1)
        assert after is not None and after.pending_alert is None and after.reports_count == 1
        assert after.question_ids.split(",")[0] != before.question_ids.split(",")[0]
        m.raise_alert(claim, "other", current=True)
        m.decide_alert(sup=0, validate=False, which="pending")
        m.add_report(who=1, sup=0, category="fraud")
        # The oldest report is Sup1's decision: Sup0 may not edit it, and Sup1 may not
        # remove it (REPORT_NOT_REMOVABLE): it is the trace of the decision.
        m.change_report(sup=0, remove=False)
        m.change_report(sup=1, remove=True)
        m.the_state_is_legal()
        mid = m.pick(1)
        assert mid is not None and mid.reports_count == 3
        m.end_test(who=1, sup=1, reason="fraud")
        m.finalize(trust_ended=True)
        m.the_state_is_legal()
        final = m.pick(1)
        # Validated and refused alerts + fraud + end-of-test reason, taken as the finalisation's.
        assert final is not None and final.reports_count == 4
    finally:
        m.teardown()
