"""incidents: candidates' alerts, incident reports, the finalisation comment

Revision ID: 0003_incidents
Revises: 0002_room_control
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_incidents"
down_revision = "0002_room_control"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exam_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finalization_comment", sa.Text(), nullable=True))
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_alert", sa.Text(), nullable=True))
        # Existing rows have no report: the default fills them, the model sets it from then on.
        batch_op.add_column(sa.Column("reports_count", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("question_index", sa.Integer(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decided_by_user_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sqlmodel.sql.sqltypes.AutoString(length=210), nullable=True),
        sa.Column("replacement_question_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidate.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["exam_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_session_id"), ["session_id"], unique=False)

    op.create_table(
        "incident_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sqlmodel.sql.sqltypes.AutoString(length=210), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidate.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["exam_session.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_report_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_report_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_report_session_id"))
        batch_op.drop_index(batch_op.f("ix_incident_report_candidate_id"))
    op.drop_table("incident_report")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_session_id"))
        batch_op.drop_index(batch_op.f("ix_alert_candidate_id"))
    op.drop_table("alert")
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_column("reports_count")
        batch_op.drop_column("pending_alert")
    with op.batch_alter_table("exam_session", schema=None) as batch_op:
        batch_op.drop_column("finalization_comment")
