"""Database tables. Times are aware UTC datetimes (SQLModel stores them as UTC)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from vocabulary import AlertStatus, CandidateStatus, Connection, EventName, ReportOrigin, SessionStatus


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# On SQLite, AUTOINCREMENT: a deleted row's id is never handed out again (a removed
# candidate's cookie must not name the next candidate enrolled). PostgreSQL sequences never
# go back anyway.
NO_ID_REUSE = {"sqlite_autoincrement": True}


class User(SQLModel, table=True):
    __table_args__ = NO_ID_REUSE
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(254), unique=True, nullable=False))
    password_hash: str = Field(max_length=255)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # The language chosen with the switch while logged in (app.i18n.LOCALES); None: not chosen.
    locale: str | None = Field(default=None, max_length=10)


class Centre(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("centre_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)


class ExamSession(SQLModel, table=True):
    __tablename__ = "exam_session"
    __table_args__ = NO_ID_REUSE
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    address: str = Field(max_length=300)
    room: str = Field(max_length=200)
    examiner: str = Field(max_length=200)
    date: dt.date
    time: str = Field(max_length=5)
    access_code: str = Field(max_length=6, index=True)
    # "C-" and 5 characters for sessions created before the password grew to 7.
    supervisor_password: str = Field(max_length=20)
    status: str = Field(default=SessionStatus.CREATED, max_length=20)
    # Bumped by every state change in the same transaction as its event row:
    # clients compare versions to notice what they missed.
    version: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow)
    finalized_at: dt.datetime | None = None
    # The centre's word on the whole session, given at finalisation (procès-verbal).
    finalization_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Candidate(SQLModel, table=True):
    __table_args__ = (Index("ix_candidate_session_identity", "session_id", "identity_key", "birthdate"), NO_ID_REUSE)
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    last_name: str = Field(max_length=100)
    first_name: str = Field(max_length=100)
    birthdate: dt.date
    extra_time_percentage: int = Field(default=0)
    # Folded "last|first" used for matching on join (case, accents, hyphens, spaces).
    identity_key: str = Field(max_length=210)
    authorized_to_start: bool = Field(default=False)
    status: str = Field(default=CandidateStatus.NOT_STARTED, max_length=30)
    connection: str = Field(default=Connection.NEVER, max_length=10)
    lease_until: dt.datetime | None = None
    resume_requested: bool = Field(default=False)
    resume_authorized: bool = Field(default=False)
    # Bumped by every accepted join: only the browser holding the newest token may answer,
    # so a resumed test cannot be driven from the old computer too.
    join_token: int = Field(default=0)
    # SHA-256 of the random secret given to the browser of the newest join: the token
    # says which join, the secret proves the cookie came from it. None: never joined
    # since the secret was introduced.
    join_secret: str | None = Field(default=None, max_length=64)
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    question_ids: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    answered: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Room control: a paused test's clock stops at paused_since; on resume the pause is
    # added to paused_seconds, which (with the adjustment) moves the theoretical end.
    paused_since: dt.datetime | None = None
    paused_seconds: int = Field(default=0)
    pause_message: str | None = Field(default=None, max_length=300)
    time_adjustment_minutes: int = Field(default=0)
    # The open alert as every view shows it (JSON), kept on the row so that a candidate's
    # view needs no join; `alert` is the record. Null when no alert waits for a decision.
    pending_alert: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reports_count: int = Field(default=0)


class Answer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("candidate_id", "question_id"),)
    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    question_id: str = Field(max_length=20)
    answer: int
    correct: bool
    answered_at: dt.datetime = Field(default_factory=utcnow)


class SupervisorAccess(SQLModel, table=True):
    __tablename__ = "supervisor_access"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    granted_at: dt.datetime = Field(default_factory=utcnow)
    online: bool = Field(default=False)
    lease_until: dt.datetime | None = None


# The partial index's predicate. A query names the type as this same constant: a generic
# plan (of a statement psycopg prepared after a few runs) cannot see a bound value.
ROOM_MESSAGE_ONLY = f"type = '{EventName.ROOM_MESSAGE}'"


class SessionEvent(SQLModel, table=True):
    """The event log: audit trail and replay source, one row per version of a session."""

    __tablename__ = "session_event"
    __table_args__ = (
        UniqueConstraint("session_id", "version"),
        # A candidate's page asks for the room's recent messages on every (re)connection; by
        # the session's index alone that scans its whole log of answers when there are none.
        # Partial, so an answer's insert does not pay for it.
        Index(
            "ix_session_event_room_message",
            "session_id",
            "version",
            postgresql_where=text(ROOM_MESSAGE_ONLY),
            sqlite_where=text(ROOM_MESSAGE_ONLY),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id")
    version: int
    type: str = Field(max_length=40)
    candidate_id: int | None = Field(default=None)
    actor_user_id: int | None = Field(default=None)
    actor_name: str | None = Field(default=None, max_length=210)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    at: dt.datetime = Field(default_factory=utcnow)


class Attempt(SQLModel, table=True):
    """A failed code entry, counted per target for the rate limit (shared by all processes)."""

    __tablename__ = "failed_attempt"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, index=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)


class Alert(SQLModel, table=True):
    """A candidate's « Signaler un problème » about the question on screen, and its decision."""

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    question_id: str = Field(max_length=20)
    question_index: int
    category: str = Field(max_length=20)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=AlertStatus.PENDING, max_length=10)
    created_at: dt.datetime = Field(default_factory=utcnow)
    decided_at: dt.datetime | None = None
    decided_by_user_id: int | None = Field(default=None)
    decided_by_name: str | None = Field(default=None, max_length=210)
    replacement_question_id: str | None = Field(default=None, max_length=20)


class IncidentReport(SQLModel, table=True):
    """What a supervisor wrote (or an action recorded) about a candidate, for the procès-verbal."""

    __tablename__ = "incident_report"
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="exam_session.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    category: str = Field(max_length=20)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    origin: str = Field(default=ReportOrigin.SUPERVISOR, max_length=20)
    alert_id: int | None = Field(default=None)
    author_user_id: int | None = Field(default=None)
    author_name: str = Field(max_length=210)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime | None = None


class LoginSession(SQLModel, table=True):
    """One logged-in browser. The cookie carries a random key; only its SHA-256 is stored, so
    reading this table gives no way in. Deleting the row logs that browser out."""

    __tablename__ = "login_session"
    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    user_agent: str = Field(default="", max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime = Field(index=True)
