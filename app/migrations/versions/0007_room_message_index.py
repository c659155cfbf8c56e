"""room messages: a partial index of the log's room messages, for a candidate's page

Revision ID: 0007_room_message_index
Revises: 0006_account_locale
Create Date: 2026-11-30 19:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007_room_message_index'
down_revision = '0006_account_locale'
branch_labels = None
depends_on = None

# Written out rather than imported: a migration keeps the schema of its day.
ROOM_MESSAGE_ONLY = "type = 'room.message'"


def upgrade() -> None:
    op.create_index(
        'ix_session_event_room_message',
        'session_event',
        ['session_id', 'version'],
        unique=False,
        postgresql_where=sa.text(ROOM_MESSAGE_ONLY),
        sqlite_where=sa.text(ROOM_MESSAGE_ONLY),
    )


def downgrade() -> None:
    op.drop_index('ix_session_event_room_message', table_name='session_event')
