"""The audit log: hash-chained, signed events appended in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # effective time (may be simulated)
    #: The real wall-clock time of the append (None only on events from before revision 0003).
    recorded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    actor: str = Field(max_length=320)
    action: str = Field(max_length=64, index=True)
    incident_public_id: str | None = Field(default=None, max_length=32, index=True)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    key_id: str = Field(max_length=32)
    signature: str = Field(max_length=128)
    #: The canonical JSON the chain hash covers, as hashed (None on events from before revision
    #: 0009, which verify rebuilds it from the columns); verify checks the columns against it.
    canonical: str | None = Field(default=None, sa_column=Column(Text))


class AuditHead(SQLModel, table=True):
    """One row: the last seq and hash, signed by the active audit key. Updating it serialises
    appenders (a row lock)."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)
    key_id: str | None = Field(default=None, max_length=32)
    signature: str | None = Field(default=None, max_length=128)
