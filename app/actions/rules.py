"""The settings the actions obey, and the one way to show a candidate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app import views
from app.security import RateLimiter
from app.settings import Settings


@dataclass(frozen=True)
class Rules:
    test_minutes: int
    questions_per_test: int
    limiter: RateLimiter
    lease_seconds: int
    # Room control (app/actions/room.py). None: candidates may join at any time.
    join_opens_minutes_before: int | None
    session_timezone: str
    test_expiry_hours: int
    messages_per_minute: int
    # A candidate's alerts per ALERT_WINDOW (app/actions/alerts.py).
    alerts_per_window: int
    # Name and birth-date guesses per session, once the access code is right.
    guess_limiter: RateLimiter
    # Wrong session passwords per account, all sessions together.
    account_limiter: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        window = settings.rate_limit_window_seconds
        return cls(
            test_minutes=settings.test_minutes,
            questions_per_test=settings.questions_per_test,
            limiter=RateLimiter(settings.rate_limit_attempts, window),
            lease_seconds=settings.candidate_lease_seconds,
            join_opens_minutes_before=settings.join_opens_minutes_before,
            session_timezone=settings.session_timezone,
            test_expiry_hours=settings.test_expiry_hours,
            messages_per_minute=settings.messages_per_minute,
            alerts_per_window=settings.alerts_per_candidate,
            guess_limiter=RateLimiter(settings.join_guess_attempts, window),
            account_limiter=RateLimiter(settings.supervisor_account_attempts, window),
        )

    def view(self, candidate: views.CandidateFields, now: dt.datetime | None = None) -> dict[str, Any]:
        """A candidate as every client sees it: in events, snapshots and answers alike."""
        return views.candidate_view(candidate, self.test_minutes, self.questions_per_test, now)
