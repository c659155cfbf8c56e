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


# ------------------------------------------------------------------ one table for every setting


def test_the_dataclass_and_the_table_list_the_same_settings_and_the_defaults_are_the_tables() -> None:
    from dataclasses import MISSING, fields

    from app.settings import TABLE, Settings

    declared = {f.name: f.default for f in fields(Settings)}
    assert list(declared) == [s.name for s in TABLE]
    assert all(value is MISSING for value in declared.values()), "a default belongs in TABLE only"
    plain = load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY})
    for setting in TABLE:
        if setting.name not in {"database_url", "secret_key"}:  # given above
            assert getattr(plain, setting.name) == setting.default, setting.name
        # Each help text is one Markdown table cell.
        assert setting.help and "|" not in setting.help and "\n" not in setting.help, setting.env


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [("int", "7", 7), ("float", "2.5", 2.5), ("bool", " Oui ", True), ("bool", "0", False), ("text", " x ", "x")],
)
def test_every_setting_of_a_kind_is_read_from_its_own_variable(kind: str, raw: str, expected: object) -> None:
    from app.settings import TABLE

    of_kind = [s for s in TABLE if s.kind == kind]
    assert of_kind
    for setting in of_kind:
        if setting.minimum is not None and isinstance(expected, int | float) and expected < setting.minimum:
            continue
        s = load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, setting.env: raw})
        assert getattr(s, setting.name) == expected, setting.env
        unset = load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, setting.env: "  "})
        assert getattr(unset, setting.name) == setting.default, f"{setting.env} blank means its default"


def test_logs_are_json_unless_log_plain_says_otherwise() -> None:
    base = {"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY}
    assert load_settings(base).log_json is True
    assert load_settings({**base, "LOG_PLAIN": "non"}).log_json is True
    assert load_settings({**base, "LOG_PLAIN": "oui"}).log_json is False


def test_forwarded_allow_ips_is_a_setting_like_the_others() -> None:
    base = {"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY}
    assert load_settings(base).forwarded_allow_ips == "127.0.0.1"
    assert load_settings({**base, "FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == "*"


@pytest.mark.parametrize(("raw", "expected"), [(None, 20.0), ("7.5", 7.5), ("", 20.0), ("vingt", 20.0)])
def test_the_workers_header_deadline_comes_from_the_settings_row(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: float
) -> None:
    # `serve` hands the deadline to its spawned workers in the environment; what a worker
    # falls back on is the table's default, not a second copy of it.
    from app import serving
    from app.settings import TABLE

    row = next(s for s in TABLE if s.name == "header_timeout_seconds")
    assert row.env == serving.ENV and row.default == 20.0
    if raw is None:
        monkeypatch.delenv(row.env, raising=False)
    else:
        monkeypatch.setenv(row.env, raw)
    serving.header_timeout.cache_clear()
    try:
        assert serving.header_timeout() == expected
    finally:
        serving.header_timeout.cache_clear()


def test_the_readme_table_is_the_settings_table() -> None:
    from app.settings import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown_table() in readme, (
        "README.md's Configuration table differs from app/settings.py TABLE: "
        "run `surveillance settings-table --write README.md`"
    )


def test_a_stale_readme_table_is_noticed_and_rewritten() -> None:
    from app.settings import README_END, README_START, TABLE, markdown_table, readme_with_table

    stale = f"# Titre\n\n{README_START}\n| `TEST_MINUTES` | entier | `90` | vieux |\n{README_END}\n\nSuite.\n"
    assert markdown_table() not in stale
    fresh = readme_with_table(stale)
    assert markdown_table() in fresh and fresh.startswith("# Titre\n\n") and fresh.endswith("\n\nSuite.\n")
    assert all(f"| `{s.env}` |" in fresh for s in TABLE)
    assert "vieux" not in fresh


def test_serve_help_settings_lists_every_variable_without_reading_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import main
    from app.settings import TABLE

    # A broken environment must not hide the help that would explain it.
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    assert main(["serve", "--help-settings"]) == 0
    out = capsys.readouterr().out
    for setting in TABLE:
        assert f"  {setting.env}  (" in out
    assert "défaut : 105" in out and "`" not in out


def test_settings_table_prints_the_readme_block_and_rewrites_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from app.cli import main
    from app.settings import README_END, README_START, markdown_table

    assert main(["settings-table"]) == 0
    assert capsys.readouterr().out == markdown_table()
    readme = tmp_path / "README.md"
    readme.write_text(f"avant\n{README_START}\nancien\n{README_END}\naprès\n")
    assert main(["settings-table", "--write", str(readme)]) == 0
    assert readme.read_text() == f"avant\n{markdown_table()}après\n"


def test_a_primary_and_its_standby_are_listed_as_libpq_does() -> None:
    url = "postgresql://app:pw@db-1:5432,db-2:5433/surveillance?target_session_attrs=read-write"
    settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": KEY})
    assert settings.database_url == (
        "postgresql+psycopg://app:pw@/surveillance?host=db-1:5432&host=db-2:5433&target_session_attrs=read-write"
    )
    # Exactly what libpq gets: both hosts, in order, and the session attribute.
    from sqlalchemy.engine import make_url

    from app.db import make_engine

    engine = make_engine(settings)
    _, params = engine.dialect.create_connect_args(make_url(settings.database_url))
    assert params["host"] == "db-1,db-2" and params["port"] == "5432,5433"
    assert params["target_session_attrs"] == "read-write"
    engine.dispose()


@pytest.mark.parametrize("url", ["postgresql://u@db-1:5432,,db-2/db", "postgresql://u@db-1,:5432/db"])
def test_a_broken_host_list_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="liste d'hôtes invalide"):
        load_settings({"DATABASE_URL": url, "SECRET_KEY": KEY})


def test_redis_sentinels_are_accepted() -> None:
    from realtime.sentinel import parse_sentinel_url

    url = "redis+sentinel://:secret@s-1:26379,s-2:26380/mymaster/2"
    assert load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, "REDIS_URL": url}).redis_url == url
    spec = parse_sentinel_url(url)
    assert spec.sentinels == (("s-1", 26379), ("s-2", 26380))
    assert (spec.service, spec.db, spec.password) == ("mymaster", 2, "secret")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis+sentinel://s-1:26379", "nom du service"),
        ("redis+sentinel://s-1/mymaster", "sentinelle invalide"),
        ("redis+sentinel://s-1:26379,s-2:x/mymaster", "sentinelle invalide"),
        ("redis+sentinel://s-1:26379/mymaster/zero", "numéro de base"),
        ("redis+sentinel://s-1:26379/mymaster/0/extra", "nom du service"),
    ],
)
def test_a_wrong_sentinel_url_is_refused_in_french(url: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        load_settings({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": KEY, "REDIS_URL": url})
