"""The organisation as loaded from the organisation file (第2章 structure)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class OrgSnapshot(SQLModel, table=True):
    """Each organisation file loaded by ``hokoku init``; the newest row is in force."""

    __tablename__ = "org_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    loaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str
    sha256: str = Field(max_length=64)
    document: str = Field(sa_column=Column(Text, nullable=False))  # the validated YAML, as JSON


class Institute(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=64)
    name_ja: str
    name_en: str


class Division(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=64)
    institute_code: str = Field(foreign_key="institute.code", index=True, max_length=64)
    name_ja: str
    name_en: str


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    name: str
    slack_id: str | None = Field(default=None, max_length=64)
    active: bool = True


class RoleAssignment(SQLModel, table=True):
    """Who holds which role where; ``scope`` is an institute or division code, or ``*``."""

    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("person_id", "role", "scope", "is_deputy"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=32)
    scope: str = Field(max_length=64, index=True)
    is_deputy: bool = False
