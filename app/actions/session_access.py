"""The centre's hold on who supervises a session: a new session password, the list of
its supervisors, and taking one's access back.

A new password keeps out whoever has not entered yet; supervisors already let in keep
their access (it is theirs, not the password's). Taking an access back closes that
supervisor's dashboards at once, on every process: the event carries `revoked`, which
their sockets read (app/routes/live.py, close code 4411). To keep a revoked supervisor
from coming back with the password they know, give the session a new one too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import codes, views
from app.actions.centres import session_json
from app.actions.eventlog import Actor, emit_session, emit_supervisors
from app.actions.guards import lock_session, member_session, require_member, require_open, user_of
from app.db import Tx
from app.errors import SupervisorNotFound
from app.models import ExamSession, SupervisorAccess, User
from vocabulary import Action


def _open_session_of_member(tx: Tx, session_id: int, user_id: int) -> tuple[ExamSession, Actor]:
    exam_session = lock_session(tx, session_id)
    require_member(tx.db, exam_session.centre_id, user_id)
    require_open(exam_session)
    return exam_session, Actor.of(user_of(tx.db, user_id))


def rotate_password(tx: Tx, session_id: int, user_id: int) -> dict[str, Any]:
    """The session as centre staff see it, with its new password."""
    exam_session, actor = _open_session_of_member(tx, session_id, user_id)
    old = exam_session.supervisor_password
    while exam_session.supervisor_password == old:
        exam_session.supervisor_password = codes.new_supervisor_password()
    tx.db.add(exam_session)
    # The event says that it changed, never what to: the feed carries no codes.
    emit_session(tx, exam_session, Action.PASSWORD_ROTATED, actor)
    return session_json(tx.db, exam_session)


def list_supervisors(db: Session, session_id: int, user_id: int) -> list[dict[str, Any]]:
    member_session(db, session_id, user_id)
    rows = db.execute(
        select(User, SupervisorAccess)
        .join(SupervisorAccess, col(SupervisorAccess.user_id) == col(User.id))
        .where(col(SupervisorAccess.session_id) == session_id)
        .order_by(col(SupervisorAccess.granted_at))
    ).all()
    return [
        {
            "id": user.id,
            "name": f"{user.first_name} {user.last_name}",
            "email": user.email,
            "online": access.online,
            "granted_at": views.iso(access.granted_at),
        }
        for user, access in rows
    ]


def revoke(tx: Tx, session_id: int, supervisor_id: int, user_id: int) -> None:
    exam_session, actor = _open_session_of_member(tx, session_id, user_id)
    access = tx.db.execute(
        select(SupervisorAccess).where(
            col(SupervisorAccess.session_id) == session_id, col(SupervisorAccess.user_id) == supervisor_id
        )
    ).scalar()
    if access is None:
        raise SupervisorNotFound()
    tx.db.delete(access)
    emit_supervisors(tx, exam_session, Action.SUPERVISOR_REVOKED, actor, revoked=supervisor_id)
