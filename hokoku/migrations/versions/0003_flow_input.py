"""flow_input: what a person typed for a flow run, encrypted, passed to Prefect by id only

Revision ID: 0003_flow_input
Revises: 0002
Create Date: 2026-11-29 23:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = '0003_flow_input'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('flow_input',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('payload_enc', sa.LargeBinary(), nullable=False),
    sa.Column('outcome_enc', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flow_input', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_input_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('flow_input', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flow_input_created_at'))
    op.drop_table('flow_input')
