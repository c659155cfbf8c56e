"""candidate ids never reused, a secret per join, longer session passwords

On SQLite a table without AUTOINCREMENT gives a deleted row's id to the next row: a
removed candidate's cookie then named the next candidate enrolled. The tables whose ids
reach a browser (candidate, exam_session, user) are rebuilt with AUTOINCREMENT; the
copy keeps every id and SQLite's counter starts past the highest. PostgreSQL sequences
never go back: nothing to do there.

Revision ID: 0004_candidate_ids
Revises: 0003_incidents
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0004_candidate_ids'
down_revision = '0003_incidents'
branch_labels = None
depends_on = None

_TABLES = ('user', 'exam_session', 'candidate')


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table in _TABLES:
        with op.batch_alter_table(
            table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
        ):
            pass


def upgrade() -> None:
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table('exam_session', schema=None) as batch_op:
        batch_op.alter_column(
            'supervisor_password', existing_type=sqlmodel.sql.sqltypes.AutoString(length=7), type_=sqlmodel.sql.sqltypes.AutoString(length=20), existing_nullable=False
        )
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
    with op.batch_alter_table('exam_session', schema=None) as batch_op:
        batch_op.alter_column(
            'supervisor_password', existing_type=sqlmodel.sql.sqltypes.AutoString(length=20), type_=sqlmodel.sql.sqltypes.AutoString(length=7), existing_nullable=False
        )
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_column('join_secret')
