"""Inputs handed to a Prefect flow run by reference: the run's parameters carry only the id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class FlowInput(SQLModel, table=True):
    """What a person typed for one flow run (report text, notes, their address), encrypted.

    The entry point writes the row and passes its random ``id`` to the flow; the flow reads it
    inside hokoku, records its full outcome (or the refusal) here, encrypted too, and the entry
    point collects that and deletes the row. Prefect never sees the text.
    """

    __tablename__ = "flow_input"
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    payload_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    outcome_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
