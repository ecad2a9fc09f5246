"""Casework around the chain: triage, playbook steps and prevention actions (tasks), findings
for the reports, public texts, notices to individuals, document snapshots and machine alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hokoku.core.statuses import ReportabilityStatus, TaskStatus
from hokoku.models.types import UTCDateTime


class Triage(SQLModel, table=True):
    """One set of facts about an incident (the newest is in force), with the reportability it
    implies. Facts are three-valued: ``None`` is unknown. ``source`` is ``report`` for what the
    reporter gave at intake (e.g. the headcount), ``triage`` for a manager's triage."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    by: str = Field(max_length=320)
    source: str = Field(default="triage", max_length=16)
    serious: bool = False
    sensitive: bool | None = None
    financial_risk: bool | None = None
    unauthorized_purpose: bool | None = None
    individuals: int | None = None
    individuals_estimated: bool = False
    encrypted: bool | None = None
    category: str = Field(max_length=64)
    regime: str = Field(max_length=32)
    #: The assessment on these facts.
    status: str = Field(default=ReportabilityStatus.UNDECIDED, max_length=16)
    required: bool | None = None
    grounds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    exempt_reason: str | None = Field(default=None, max_length=64)


class StatutoryDecision(SQLModel, table=True):
    """The general manager's confirmation or override of the reportability assessment."""

    __tablename__ = "statutory_decision"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    triage_id: int = Field(foreign_key="triage.id")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    by: str = Field(max_length=320)
    kind: str = Field(max_length=32)  # a DecisionKind
    reason_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class Task(SQLModel, table=True):
    """A playbook step or a recurrence-prevention action: owner, deadline, reminders, evidence."""

    __table_args__ = (
        UniqueConstraint("incident_id", "kind", "ref"),
        Index("ix_task_next_action_at", "next_action_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str = Field(max_length=16)  # step | prevention
    ref: str = Field(max_length=64)  # playbook step id, or P1, P2... for prevention actions
    seq: int = 0
    category: str | None = Field(default=None, max_length=64)
    phase: str | None = Field(default=None, max_length=32)
    title_ja: str | None = None  # playbook text (not personal data)
    title_en: str | None = None
    title_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # user-written titles
    owner_role: str | None = Field(default=None, max_length=32)
    owner_email: str | None = Field(default=None, max_length=320)
    mandatory: bool = False
    status: str = Field(default=TaskStatus.OPEN, max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_reminder_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_action_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reminders_sent: int = 0
    overdue_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    completed_by: str | None = Field(default=None, max_length=320)
    note_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    evidence_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class Finding(SQLModel, table=True):
    """An answer that fills one of the Commission's nine items (the newest per item is used)."""

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    item: str = Field(max_length=32)
    question_id: str | None = Field(default=None, max_length=64)
    text_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    by: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IndividualNotice(SQLModel, table=True):
    """One batch of notices to affected individuals (28-1; item 6 of the Commission report)."""

    __tablename__ = "individual_notice"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    count: int
    notified_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    method_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    substitute_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    #: ``notice`` (people were told) or ``difficult`` (APPI 26(2) ただし書: notifying is
    #: difficult; ``method_enc`` then holds the alternative measure taken).
    kind: str = Field(default="notice", max_length=16)
    #: ``publication`` or ``other``: the alternative measure of a ``difficult`` record.
    alternative: str | None = Field(default=None, max_length=16)
    difficulty_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    #: This record completes the duty (every individual told or covered).
    completes: bool = False
    recorded_by: str = Field(max_length=320)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PublicText(SQLModel, table=True):
    """Text written (or approved) by the owner for the public, the person and the Commission:
    the public summary, cause, measures for the person... The newest per field is in force."""

    __tablename__ = "public_text"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    field: str = Field(max_length=32)
    text_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    by: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DocumentSnapshot(SQLModel, table=True):
    """The nine items as filed in a report (e.g. the preliminary), to diff against the final."""

    __tablename__ = "document_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    items_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AlertSource(SQLModel, table=True):
    """A monitor allowed to post alerts; only the token's SHA-256 is stored."""

    __tablename__ = "alert_source"
    name: str = Field(primary_key=True, max_length=64)
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    active: bool = True


class Alert(SQLModel, table=True):
    """A machine alert; repeats of the same dedup key within the window attach to one incident."""

    __table_args__ = (Index("ix_alert_dedup", "source", "dedup_key", "received_at"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    dedup_key: str = Field(max_length=255)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    payload_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
