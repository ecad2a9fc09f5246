"""Incidents, their chain stages and the acknowledgements taken on them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hokoku.core.statuses import IncidentStatus, StageStatus
from hokoku.models.types import UTCDateTime


class IncidentCounter(SQLModel, table=True):
    """Per-year sequence behind human-readable ids (INC-2027-0001)."""

    __tablename__ = "incident_counter"
    year: int = Field(primary_key=True)
    last: int = 0


class Incident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=32)
    division_code: str = Field(foreign_key="division.code", index=True, max_length=64)
    institute_code: str = Field(max_length=64, index=True)
    category: str = Field(max_length=64)
    entry: str = Field(default="staff", max_length=16)  # staff | contractor | alert
    source: str = Field(default="cli", max_length=64)
    serious: bool = False
    status: str = Field(default=IncidentStatus.OPEN, max_length=16, index=True)
    reporter_email: str = Field(max_length=320, index=True)
    aware_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When it happened, if the reporter knows (optional; the awareness time is aware_at).
    occurred_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # The reporter's answers as facts: provisional values for the drafts until triage/findings.
    reported_individuals: int | None = None
    reported_data_items_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Encrypted at rest (hokoku.security.crypto): the reporter's free text and personal details.
    summary_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    details_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    policy_name: str = Field(max_length=128)
    policy_sha256: str = Field(max_length=64)
    policy_snapshot: dict = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1


class Stage(SQLModel, table=True):
    """One stage of one incident's chain. The sweep reads ``next_action_at`` only."""

    __table_args__ = (
        UniqueConstraint("incident_id", "code"),
        Index("ix_stage_next_action_at", "next_action_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    seq: int
    code: str = Field(max_length=64)
    article: str = Field(max_length=16)
    owner_role: str = Field(max_length=32)
    owner_email: str | None = Field(default=None, max_length=320)
    status: str = Field(default=StageStatus.PENDING, max_length=16)
    activated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_reminder_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_escalation_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_action_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    escalation_level: int = 0
    reminders_sent: int = 0
    ladder: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    acknowledged_by: str | None = Field(default=None, max_length=320)
    overdue_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    completed_by: str | None = Field(default=None, max_length=320)
    note_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    skip_reason_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    #: The next reminder before the due time (policy ``remind_before``), acknowledged or not.
    next_warning_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Acknowledgement(SQLModel, table=True):
    """Every acknowledgement attempt, accepted or refused, with its channel."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    stage_id: int = Field(foreign_key="stage.id", index=True)
    person_email: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    channel: str = Field(max_length=16)  # cli | web | slack | email
    accepted: bool
    reason: str | None = None


class IncidentAmendment(SQLModel, table=True):
    """A correction of a recorded fact after intake (e.g. the awareness time), with its reason."""

    __tablename__ = "incident_amendment"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    field: str = Field(max_length=32)
    old_value: str = Field(max_length=64)
    new_value: str = Field(max_length=64)
    reason_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    by: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
