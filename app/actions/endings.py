"""What every way of ending a running test does, whoever ends it.

A supervisor's « Terminer le test », a bulk end, the finalisation and the expiry sweep all
end tests through `end_running`. Kept apart from `alerts` so that the room's actions can
use it without importing the candidate's test (which imports them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import col

from app import clock
from app.actions.eventlog import Actor
from app.db import Tx
from app.models import Alert, Candidate, utcnow
from vocabulary import AlertStatus


def close_pending(tx: Tx, candidate: Candidate, actor: Actor) -> None:
    """The test ends with an alert still open: nothing is left to decide, the record says so.
    The caller's own event carries the candidate's view, now without the alert."""
    if not candidate.pending_alert:
        return
    alert = tx.db.execute(
        select(Alert).where(col(Alert.candidate_id) == candidate.id, col(Alert.status) == AlertStatus.PENDING)
    ).scalar()
    if alert is not None:
        alert.status = AlertStatus.CLOSED
        alert.decided_at = utcnow()
        alert.decided_by_user_id = actor.user_id
        alert.decided_by_name = actor.name
        tx.db.add(alert)
    candidate.pending_alert = None
    tx.db.add(candidate)


def end_running(tx: Tx, candidate: Candidate, status: str, actor: Actor, now: dt.datetime) -> None:
    """The test ends now: nothing is left to resume, a pause stops counting, an open alert is
    closed. The caller emits the event that tells it."""
    candidate.status = status
    candidate.ended_at = now
    candidate.resume_requested = False
    candidate.resume_authorized = False
    clock.close_pause(candidate, now)
    close_pending(tx, candidate, actor)
    tx.db.add(candidate)
