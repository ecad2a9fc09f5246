"""Small facts about the database itself (key-check values, how it was initialised)."""

from __future__ import annotations

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class HokokuMeta(SQLModel, table=True):
    """``key_check:<data key id>``: a value only that data key opens (checked at start-up);
    ``demo``: ``1`` when the database holds the bundled fictional organisation."""

    __tablename__ = "hokoku_meta"
    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
