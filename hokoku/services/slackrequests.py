"""Slack request replay protection: every verified request's (timestamp, signature) is remembered
in the database for Slack's signature window, so any worker refuses a replay."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from hokoku.models.web import SlackRequestSeen
from hokoku.security.slacksig import MAX_SKEW_SECONDS
from hokoku.store.db import transaction


def remember_request(app, *, timestamp: str, signature: str, now: datetime) -> bool:
    """Record a verified request's (timestamp, signature); False if it was seen before (a replay).

    The digest is kept in the database for Slack's 5-minute window (plus the same again for
    clock skew), so every worker refuses a replay; the primary key settles two at once.
    """
    key = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()
    try:
        with transaction(app.engine) as session:
            session.execute(delete(SlackRequestSeen).where(SlackRequestSeen.expires_at <= now))
            if session.get(SlackRequestSeen, key) is not None:
                return False
            session.add(SlackRequestSeen(digest=key, expires_at=now + timedelta(seconds=2 * MAX_SKEW_SECONDS)))
    except IntegrityError:
        return False
    return True
