"""Acknowledgement-link tokens that have been used (each link works once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class UsedAckToken(SQLModel, table=True):
    """A consumed link token, inserted in the same transaction as the acknowledgement it made.

    The primary key refuses a second use even when two requests race.
    """

    __tablename__ = "used_ack_token"
    token_id: str = Field(primary_key=True, max_length=128)
    used_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    incident: str = Field(max_length=32)
    stage: str = Field(max_length=64)
    person: str = Field(max_length=320)
