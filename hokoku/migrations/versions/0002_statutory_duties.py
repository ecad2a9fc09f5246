"""statutory duties: three-valued triage facts, due-date warnings, amendments, notice exceptions

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("triage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default="triage"))
        batch_op.add_column(sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default="undecided"))
        for name in ("sensitive", "financial_risk", "unauthorized_purpose", "encrypted", "required"):
            batch_op.alter_column(name, existing_type=sa.Boolean(), nullable=True)
    # Facts recorded before this revision were two-valued: their assessment was decided.
    op.execute("UPDATE triage SET status = CASE WHEN required THEN 'required' ELSE 'not_required' END")
    with op.batch_alter_table("triage", schema=None) as batch_op:
        batch_op.alter_column("source", server_default=None)
        batch_op.alter_column("status", server_default=None)

    with op.batch_alter_table("stage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_warning_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("individual_notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default="notice"))
        batch_op.add_column(sa.Column("alternative", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("difficulty_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("completes", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("individual_notice", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
        batch_op.alter_column("completes", server_default=None)

    op.create_table(
        "incident_amendment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("old_value", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("new_value", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_amendment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_amendment_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_amendment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_amendment_incident_id"))
    op.drop_table("incident_amendment")
    with op.batch_alter_table("individual_notice", schema=None) as batch_op:
        for name in ("completes", "difficulty_enc", "alternative", "kind"):
            batch_op.drop_column(name)
    with op.batch_alter_table("stage", schema=None) as batch_op:
        batch_op.drop_column("next_warning_at")
    op.execute("UPDATE triage SET required = (status = 'required')")
    for name in ("sensitive", "financial_risk", "unauthorized_purpose", "encrypted"):
        op.execute(f"UPDATE triage SET {name} = false WHERE {name} IS NULL")
    with op.batch_alter_table("triage", schema=None) as batch_op:
        for name in ("sensitive", "financial_risk", "unauthorized_purpose", "encrypted", "required"):
            batch_op.alter_column(name, existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_column("status")
        batch_op.drop_column("source")
