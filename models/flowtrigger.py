"""Stage transitions waiting to become Prefect flow runs (ids and codes only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class FlowTrigger(SQLModel, table=True):
    """One committed stage transition (started, acknowledged, done, skipped) of an incident,
    written in the transition's own transaction; ``hokoku serve`` (or ``hokoku flows pump``) turns
    it into a run of that stage's flow, in id order. ``run_at`` is set once the run exists; while
    Prefect is unreachable rows wait (``attempts``, ``next_try_at``). No personal data: the
    incident's public id, the stage code and the kind of transition."""

    __tablename__ = "flow_trigger"
    id: int | None = Field(default=None, primary_key=True)
    incident: str = Field(max_length=32, index=True)
    stage: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # started | acknowledged | done | skipped
    channel: str | None = Field(default=None, max_length=16)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    run_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))
    flow_run_id: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    next_try_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
