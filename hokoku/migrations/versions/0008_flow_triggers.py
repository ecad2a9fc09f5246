"""flow_trigger: committed stage transitions waiting to become Prefect flow runs (ids and codes only)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_trigger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flow_trigger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flow_trigger_incident"), ["incident"], unique=False)
        batch_op.create_index(batch_op.f("ix_flow_trigger_run_at"), ["run_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flow_trigger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flow_trigger_run_at"))
        batch_op.drop_index(batch_op.f("ix_flow_trigger_incident"))
    op.drop_table("flow_trigger")
