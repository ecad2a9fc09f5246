"""The web app's own rows: accounts, server-side sessions, API tokens, login failures, reads.

Secrets (session ids, API tokens) are stored only as SHA-256 digests; passwords as argon2id
hashes. Accounts belong to people of the organisation file (by email).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from hokoku.models.types import UTCDateTime


class WebUser(SQLModel, table=True):
    """A sign-in account for one person of the organisation file (``active`` False: disabled)."""

    __tablename__ = "web_user"
    email: str = Field(primary_key=True, max_length=320)
    password_hash: str | None = Field(default=None, max_length=255)  # argon2id
    active: bool = True
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    password_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random id, the row its SHA-256 and expiry."""

    __tablename__ = "web_session"
    id_sha256: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320, index=True)
    csrf_token: str = Field(max_length=64)  # per-session token every form must echo
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ApiToken(SQLModel, table=True):
    """A personal API token (``Authorization: Bearer hkp_...``); only its SHA-256 is stored.

    Its id (``hokoku user token list``) is the first 12 hex digits of that digest; ``prefix``
    keeps the token's first characters (``hkp_`` + 8) so its owner can recognise it. A token
    works until ``expires_at`` (a token made before expiry existed: ``created_at`` plus
    ``HOKOKU_TOKEN_DAYS``) unless revoked.
    """

    __tablename__ = "web_api_token"
    token_sha256: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320, index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    active: bool = True
    prefix: str | None = Field(default=None, max_length=16)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_reason: str | None = Field(default=None, max_length=64)


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, counted per account and client address, and per account, for rate limiting."""

    __tablename__ = "web_login_failure"
    __table_args__ = (
        Index("ix_web_login_failure_key", "email", "ip", "at"),
        Index("ix_web_login_failure_account", "email", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    ip: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IncidentRead(SQLModel, table=True):
    """One view of one incident by one person (Art. 12 record; Art. 13 volume warning)."""

    __tablename__ = "web_incident_read"
    __table_args__ = (Index("ix_web_incident_read_who", "email", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    incident: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReadWarning(SQLModel, table=True):
    """A bulk-read warning raised for a reader (at most one per reader per window)."""

    __tablename__ = "web_read_warning"
    __table_args__ = (Index("ix_web_read_warning_who", "email", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    incidents: int


class SlackRequestSeen(SQLModel, table=True):
    """A signed Slack request already accepted: SHA-256 of (timestamp, signature), kept for the
    5-minute window so a replay is refused by every worker (the primary key decides races)."""

    __tablename__ = "slack_request_seen"
    digest: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class RefusalTally(SQLModel, table=True):
    """Unauthenticated refusals from one source within one minute: the first is an audit event,
    the rest are counted here and reported in the source's next audited refusal."""

    __tablename__ = "web_refusal_tally"
    source: str = Field(primary_key=True, max_length=128)
    window_start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    count: int = 0  # refusals this minute (the first was audited)
