"""Settings are read once and validated at start, with messages that say what is wrong."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.settings import ConfigurationError, load_settings

KEY = "k" * 32


def test_postgresql_without_secret_key_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"DATABASE_URL": "postgresql://app@db/surveillance", "DATA_DIR": str(tmp_path)})
    message = str(refused.value)
    assert "SECRET_KEY" in message and "PostgreSQL" in message
    assert not (tmp_path / "surveillance.secret").exists()  # no key generated behind our back


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_a_blank_secret_key_counts_as_missing(tmp_path: Path, blank: str) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings(
            {"DATABASE_URL": "postgres://app@db/surveillance", "SECRET_KEY": blank, "DATA_DIR": str(tmp_path)}
        )


def test_sqlite_generates_a_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    first = load_settings({"DATA_DIR": str(tmp_path)})
    second = load_settings({"DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    secret = tmp_path / "surveillance.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert first.database_url == f"sqlite:///{tmp_path / 'surveillance.db'}"


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="16"):
        load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": "court"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////var/lib/s.db", "sqlite:////var/lib/s.db"),
    ],
)
def test_plain_database_urls_get_our_driver(url: str, expected: str) -> None:
    assert load_settings({"DATABASE_URL": url, "SECRET_KEY": KEY}).database_url == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "http://h/db", "surveillance.db"])
def test_unknown_databases_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        load_settings({"DATABASE_URL": url, "SECRET_KEY": KEY})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RATE_LIMIT_ATTEMPTS", "cinq"),
        ("RATE_LIMIT_ATTEMPTS", "5.5"),
        ("RATE_LIMIT_ATTEMPTS", "0"),
        ("RATE_LIMIT_WINDOW_SECONDS", "-300"),
        ("TEST_MINUTES", "0"),
        ("TEST_MINUTES", "1h45"),
        ("QUESTIONS_PER_TEST", "-1"),
        ("DB_POOL_SIZE", "0"),
        ("SOCKET_QUEUE_SIZE", "0"),
        ("REPLAY_LIMIT", "mille"),
        ("CANDIDATE_LEASE_SECONDS", "10s"),
        ("SUPERVISOR_HEARTBEAT_SECONDS", "quinze"),
        ("SUPERVISOR_HEARTBEAT_SECONDS", "0"),
    ],
    ids=lambda v: v,
)
def test_bad_numbers_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, name: value})
    assert name in str(refused.value) or "positi" in str(refused.value)


def test_numbers_and_flags_are_read() -> None:
    s = load_settings(
        {
            "DATABASE_URL": "sqlite:///x.db",
            "SECRET_KEY": KEY,
            "RATE_LIMIT_ATTEMPTS": "3",
            "SUPERVISOR_HEARTBEAT_SECONDS": "2.5",
            "COOKIE_SECURE": "oui",
            "LOG_PLAIN": "1",
        }
    )
    assert (s.rate_limit_attempts, s.supervisor_heartbeat_seconds, s.cookie_secure, s.log_json) == (3, 2.5, True, False)


@pytest.mark.parametrize(
    "origins",
    [
        "ecole.example",
        "ftp://ecole.example",
        "https://",
        "https://ecole.example/chemin",
        "https://ecole.example?x=1",
        "javascript:alert(1)",
        "https://ok.example,evil.example",
    ],
)
def test_bad_origins_are_refused(origins: str) -> None:
    with pytest.raises(ConfigurationError, match="ALLOWED_ORIGINS"):
        load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, "ALLOWED_ORIGINS": origins})


def test_good_origins_are_tidied() -> None:
    s = load_settings(
        {
            "DATABASE_URL": "sqlite:///x.db",
            "SECRET_KEY": KEY,
            "ALLOWED_ORIGINS": " https://ecole.example/ , http://localhost:8080,,",
        }
    )
    assert s.allowed_origins == ("https://ecole.example", "http://localhost:8080")


@pytest.mark.parametrize("url", ["http://redis:6379", "redis:6379", "localhost"])
def test_bad_redis_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, "REDIS_URL": url})


def test_more_questions_per_test_than_the_bank_holds_is_refused() -> None:
    from app.questions import load_bank
    from app.settings import ConfigurationError, load_settings

    too_many = str(len(load_bank()) + 1)
    with pytest.raises(ConfigurationError, match="QUESTIONS_PER_TEST"):
        load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": "k" * 32, "QUESTIONS_PER_TEST": too_many})
