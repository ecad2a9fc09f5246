"""What responders add on the incident page: checklist ticks (structured, one row per item),
free-text status updates and evidence files — text and file contents encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class ChecklistTick(SQLModel, table=True):
    """The current state of one checklist item of one playbook step (item = its index in the step)."""

    __tablename__ = "checklist_tick"
    __table_args__ = (UniqueConstraint("incident_id", "task_ref", "item"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    task_ref: str = Field(max_length=64)
    item: int
    checked: bool = True
    by: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IncidentUpdate(SQLModel, table=True):
    """A free-text status update posted by someone in scope."""

    __tablename__ = "incident_update"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    text_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    by: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class EvidenceFile(SQLModel, table=True):
    """An uploaded evidence file: its name and contents encrypted; size and type in the clear."""

    __tablename__ = "evidence_file"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    task_ref: str | None = Field(default=None, max_length=64)
    name_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    content_type: str = Field(max_length=100)
    size: int
    content_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    by: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
