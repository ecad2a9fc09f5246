"""audit_event.canonical: the exact bytes each event's chain hash covers (issue 14, verify speed)

Revision ID: 0009
Revises: 0008

New events store their canonical JSON, so ``audit verify`` hashes stored bytes instead of
rebuilding JSON in Python, and checks the indexed columns against them in one query. Events
appended before this revision keep ``canonical`` NULL and verify as before (rebuilt from their
columns).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("canonical", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("canonical")
