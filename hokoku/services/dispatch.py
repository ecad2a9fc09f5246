"""Delivering the outbox: claim due rows, send through the channel's notifier, record the result.

A row is claimed (status ``sending``, attempts + 1) and committed before the send; the result is
recorded in a second transaction. A crash between send and record leaves the row ``sending``;
after ``lease`` it is claimed again, so a message is sent at most one extra time, and it is
never marked ``sent`` unless the provider accepted it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from hokoku import audit
from hokoku.app import App
from hokoku.db import transaction
from models.incident import Incident
from models.notification import Notification
from notifiers.base import DeliveryError, Notifier, OutgoingMessage

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
LEASE = timedelta(minutes=5)


@dataclass
class DispatchEvent:
    notification_id: int
    key: str
    channel: str
    recipient: str
    outcome: str  # sent | retry | failed
    provider_id: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return self.__dict__.copy()


def backoff(attempt: int, *, rng: random.Random, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with full jitter, at least the provider's Retry-After."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** max(attempt - 1, 0)))
    delay = timedelta(seconds=rng.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def claim(app: App, *, now: datetime, limit: int) -> list[int]:
    with transaction(app.engine) as session:
        due = or_(
            and_(Notification.status == "pending", or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now)),
            and_(Notification.status == "sending", Notification.next_attempt_at <= now - LEASE),
        )
        query = select(Notification).where(due).order_by(Notification.id).limit(limit)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.execute(query).scalars())
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "sending", row.attempts + 1, now
            session.add(row)
        return [r.id for r in rows]


def dispatch(app: App, *, now: datetime, notifiers: dict[str, Notifier], limit: int = 500,
             rng: random.Random | None = None) -> list[DispatchEvent]:
    rng = rng or random.Random()
    events = []
    for nid in claim(app, now=now, limit=limit):
        events.append(deliver_one(app, nid, now=now, notifiers=notifiers, rng=rng))
    return events


def to_message(app: App, row: Notification, incident_public_id: str | None, slack_id: str | None, name: str) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=row.idempotency_key, channel=row.channel, kind=row.kind, lang=row.lang,
        recipient_email=row.recipient_email, recipient_name=name, recipient_slack_id=slack_id,
        subject=app.keyring.decrypt(row.subject_enc, field="notification.subject") or "",
        text=app.keyring.decrypt(row.body_enc, field="notification.body") or "",
        incident_id=incident_public_id, stage_code=row.stage_code,
    )


def deliver_one(app: App, nid: int, *, now: datetime, notifiers: dict[str, Notifier], rng: random.Random) -> DispatchEvent:
    with transaction(app.engine) as session:
        row = session.get(Notification, nid)
        incident = session.get(Incident, row.incident_id) if row.incident_id else None
        person = app.organisation(session).people().get(row.recipient_email)
        message = to_message(app, row, incident.public_id if incident else None,
                             person.slack_id if person else None, person.name if person else row.recipient_email)
    notifier = notifiers.get(row.channel)
    provider_id, error = None, None
    try:
        if notifier is None:
            raise DeliveryError(f"no notifier configured for channel {row.channel!r}", permanent=True)
        provider_id = notifier.send(message).provider_id
    except DeliveryError as exc:
        error = exc
    with transaction(app.engine) as session:
        row = session.get(Notification, nid)
        pid = incident.public_id if incident else None
        if error is None:
            row.status, row.sent_at, row.provider_id, row.last_error = "sent", now, provider_id, None
            outcome = "sent"
        elif error.permanent or row.attempts >= MAX_ATTEMPTS:
            row.status, row.last_error = "failed", str(error)[:1000]
            outcome = "failed"
            audit.append(session, app.keyring, at=now, actor="hokoku:dispatch", action="notification.failed",
                         incident=pid, data={"key": row.idempotency_key, "channel": row.channel,
                                             "attempts": row.attempts, "error": str(error)[:300]})
        else:
            row.status, row.last_error = "pending", str(error)[:1000]
            row.next_attempt_at = now + backoff(row.attempts, rng=rng, retry_after=error.retry_after)
            outcome = "retry"
        if outcome == "sent":
            audit.append(session, app.keyring, at=now, actor="hokoku:dispatch", action="notification.sent",
                         incident=pid, data={"key": row.idempotency_key, "channel": row.channel, "provider_id": provider_id})
        session.add(row)
        return DispatchEvent(nid, row.idempotency_key, row.channel, row.recipient_email, outcome, provider_id,
                             None if error is None else str(error))
