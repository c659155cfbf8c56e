"""Alembic migrations on SQLite and PostgreSQL: from nothing and from every earlier revision
to head, all the way down and up again, the models equal to what the migrations build, and
concurrent starts that do not race."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (the tables on SQLModel.metadata)
from app import migrate
from app.settings import Settings, load_settings
from tests.conftest import PG_ADMIN_URL, TABLES, _pg_url
from tests.servers import VENV_BIN

SCRIPTS = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
# Oldest first: base → … → head.
REVISIONS = [r.revision for r in reversed(list(SCRIPTS.walk_revisions()))]
HEAD = SCRIPTS.get_current_head()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, of the test's own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"surveillance_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(url: str) -> Settings:
    return load_settings({"DATABASE_URL": url, "SECRET_KEY": "migrations-" + "m" * 32})


def engine_for(settings: Settings) -> Engine:
    return sa.create_engine(settings.database_url)


def current(settings: Settings) -> str | None:
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def tables(settings: Settings) -> set[str]:
    engine = engine_for(settings)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def model_diff(settings: Settings, metadata: sa.MetaData = SQLModel.metadata) -> list[Any]:
    """What autogenerate would write into a new migration: nothing, if the models and the
    migrations agree (columns, types, nullability, indexes, constraints, foreign keys)."""
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_the_revision_history_is_one_line() -> None:
    assert REVISIONS and REVISIONS[-1] == HEAD
    assert len(SCRIPTS.get_heads()) == 1, "two heads: merge them (alembic merge)"
    assert SCRIPTS.get_base() == REVISIONS[0]


def test_upgrade_from_empty_matches_the_models(empty_url: str) -> None:
    settings = settings_for(empty_url)
    assert current(settings) is None
    migrate.upgrade(settings)
    assert current(settings) == HEAD
    assert tables(settings) == set(TABLES) == set(SQLModel.metadata.tables)
    assert model_diff(settings) == []
    # Running it again is a no-op (every `serve` starts with it).
    migrate.upgrade(settings)
    assert current(settings) == HEAD


def test_the_model_check_notices_a_change_without_migration(empty_url: str) -> None:
    settings = settings_for(empty_url)
    migrate.upgrade(settings)
    changed = sa.MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["candidate"].append_column(sa.Column("seat", sa.String(10), nullable=True))
    diff = model_diff(settings, changed)
    assert [(d[0], d[3].name) for d in diff if isinstance(d, tuple)] == [("add_column", "seat")]


@pytest.mark.parametrize("start", REVISIONS)
def test_upgrade_from_every_earlier_revision_to_head(empty_url: str, start: str) -> None:
    settings = settings_for(empty_url)
    migrate.upgrade(settings, start)
    assert current(settings) == start
    migrate.upgrade(settings)
    assert current(settings) == HEAD
    assert model_diff(settings) == []


def test_downgrade_to_base_and_up_again(empty_url: str) -> None:
    settings = settings_for(empty_url)
    migrate.upgrade(settings)
    # Step by step, so every downgrade() runs against the schema its revision built.
    for revision in reversed(REVISIONS):
        assert current(settings) == revision
        migrate.downgrade(settings, "-1")
    assert current(settings) is None
    assert tables(settings) == set()
    migrate.upgrade(settings)
    assert current(settings) == HEAD
    assert model_diff(settings) == []


def test_concurrent_starts_do_not_race(empty_url: str, tmp_path: Path) -> None:
    """Two `surveillance db upgrade` at once on an empty database, as two replicas starting
    together do: both succeed, and the schema is built once."""
    env = {**os.environ, "DATABASE_URL": empty_url, "SECRET_KEY": "migrations-" + "m" * 32}
    procs = [
        subprocess.Popen(
            [str(VENV_BIN / "surveillance"), "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(60), *p.communicate()) for p in procs]
    for code, out, err in outcomes:
        assert code == 0, err
        assert "Base de données à jour." in out
    settings = settings_for(empty_url)
    engine = engine_for(settings)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    finally:
        engine.dispose()
    assert tables(settings) == set(TABLES)
    assert model_diff(settings) == []
