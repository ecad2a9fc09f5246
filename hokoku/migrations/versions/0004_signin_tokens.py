"""sign-in and tokens: token expiry/revocation, disabled accounts, per-account login index,
Slack replay memory, tally of unauthenticated refusals (issue 11, part B)

Revision ID: 0004
Revises: 0006
Create Date: 2026-11-29 23:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("web_login_failure", schema=None) as batch_op:
        batch_op.create_index("ix_web_login_failure_account", ["email", "at"], unique=False)
    op.create_table(
        "slack_request_seen",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("slack_request_seen", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_request_seen_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "web_refusal_tally",
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "window_start"),
    )


def downgrade() -> None:
    op.drop_table("web_refusal_tally")
    with op.batch_alter_table("slack_request_seen", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_request_seen_expires_at"))
    op.drop_table("slack_request_seen")
    with op.batch_alter_table("web_login_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_web_login_failure_account")
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
    with op.batch_alter_table("web_api_token", schema=None) as batch_op:
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("prefix")
