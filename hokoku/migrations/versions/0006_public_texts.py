"""public texts, occurrence time and the reporter's facts (issue 15)

Revision ID: 0006
Revises: 0003_flow_input
Create Date: 2026-11-29 23:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003_flow_input"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("public_text", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_text_incident_id"), ["incident_id"], unique=False)
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reported_individuals", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reported_data_items_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("reported_data_items_enc")
        batch_op.drop_column("reported_individuals")
        batch_op.drop_column("occurred_at")
    with op.batch_alter_table("public_text", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_text_incident_id"))
    op.drop_table("public_text")
