"""room control: pause, resume and time adjustment of a candidate's test

Revision ID: 0002_room_control
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_room_control"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("pause_message", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(sa.Column("time_adjustment_minutes", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_column("time_adjustment_minutes")
        batch_op.drop_column("pause_message")
        batch_op.drop_column("paused_seconds")
        batch_op.drop_column("paused_since")
