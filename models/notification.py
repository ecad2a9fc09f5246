"""The outbox: every message is a row before it is delivered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from hokoku.core.statuses import NotificationStatus
from hokoku.models.types import UTCDateTime


class Notification(SQLModel, table=True):
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_stage", "incident_id", "stage_code", "channel"),
    )
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=255)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    stage_code: str | None = Field(default=None, max_length=64)
    # The key without its ``:<channel>`` suffix: the same message on every channel shares it.
    base_key: str | None = Field(default=None, max_length=255, index=True)
    kind: str = Field(max_length=32)  # notify | reminder | escalation | overdue | ... | ack_update | delivery_alert
    channel: str = Field(max_length=16)  # outbox | slack | email
    recipient_email: str = Field(max_length=320)
    lang: str = Field(default="ja", max_length=2)
    # Rendered subject and body, encrypted at rest (they quote the report).
    subject_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    body_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=NotificationStatus.PENDING, max_length=16)
    # Provider calls made (counted just before each call, never at claim time).
    attempts: int = 0
    # While ``sending``: the claim that owns the row (a fencing token, new at every claim) and the
    # end of its lease on the DATABASE's clock (renewed while the owner works; see dispatch.py).
    claim_id: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    provider_id: str | None = Field(default=None, max_length=255)
    last_error: str | None = None
    # Fallback: the row this one copies onto another channel, and when this row's copy was queued.
    fallback_of: int | None = Field(default=None)
    fell_back_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Non-personal routing data: for ``ack_update`` the Slack message to update ("target"), who
    # acknowledged ("by") and when ("at", ISO 8601); for ``delivery_alert`` the failed key.
    meta: dict | None = Field(default=None, sa_column=Column(JSON))
