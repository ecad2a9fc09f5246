"""Slack bookkeeping on outbox rows: threads for follow-ups, updates after an acknowledgement.

* **Threads.** A reminder or escalation to someone is posted in the thread of the first Slack
  message of the same stage that reached that person (:func:`thread_ref_for`).
* **Acknowledged messages.** When a stage is acknowledged (by any channel: CLI, Slack, email
  link) every Slack message of that stage that carried buttons is updated — "✅ who, when",
  no buttons. The update is itself an outbox row (kind ``ack_update``, channel ``slack``, key
  ``<original key>:ack_update``, ``meta`` naming the message to update), written in the
  acknowledgement's transaction and delivered by the dispatcher like any other message, so
  it survives a crash and is retried with backoff.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.core.statuses import NotificationStatus
from hokoku.core.timeutil import iso
from hokoku.models.incident import Incident, Stage
from hokoku.models.notification import Notification

ACK_UPDATE = "ack_update"
_BUTTON_KINDS = ("notify", "reminder", "escalation", "overdue")  # overdue: threaded, with the button


def thread_ref_for(session: Session, row: Notification) -> str | None:
    """The provider id of the first delivered Slack message of this stage to this recipient."""
    if row.channel != "slack" or row.kind not in _BUTTON_KINDS or row.stage_code is None:
        return None
    first = session.execute(
        select(Notification.provider_id)
        .where(
            Notification.incident_id == row.incident_id,
            Notification.stage_code == row.stage_code,
            Notification.channel == "slack",
            Notification.recipient_email == row.recipient_email,
            Notification.kind.in_(_BUTTON_KINDS),
            Notification.status == NotificationStatus.SENT,
            Notification.provider_id.is_not(None),
            Notification.id != row.id,
        )
        .order_by(Notification.sent_at, Notification.id)
        .limit(1)
    ).scalar_one_or_none()
    return first


def _update_row(original: Notification, *, actor: str, at: datetime, keyring) -> Notification:
    key = f"{original.idempotency_key}:{ACK_UPDATE}"
    src = original.idempotency_key
    return Notification(
        idempotency_key=key,
        base_key=key,
        incident_id=original.incident_id,
        stage_code=original.stage_code,
        kind=ACK_UPDATE,
        channel="slack",
        recipient_email=original.recipient_email,
        lang=original.lang,
        # The content is kept, re-encrypted for this row (ciphertexts are bound to their row).
        subject_enc=keyring.rebind(original.subject_enc, field="notification.subject", source=src, target=key),
        body_enc=keyring.rebind(original.body_enc, field="notification.body", source=src, target=key),
        status=NotificationStatus.PENDING,
        created_at=at,
        next_attempt_at=at,
        meta={"target": original.provider_id, "by": actor, "at": iso(at)},
    )


def enqueue_ack_updates(
    session: Session, incident: Incident, stage: Stage, *, actor: str, now: datetime, keyring
) -> list[Notification]:
    """Queue a ``chat.update`` for every delivered Slack message of ``stage`` that had buttons."""
    sent = session.execute(
        select(Notification)
        .where(
            Notification.incident_id == incident.id,
            Notification.stage_code == stage.code,
            Notification.channel == "slack",
            Notification.kind.in_(_BUTTON_KINDS),
            Notification.status == NotificationStatus.SENT,
            Notification.provider_id.is_not(None),
        )
        .order_by(Notification.id)
    ).scalars()
    return _add_missing(session, list(sent), actor=actor, now=now, keyring=keyring)


def enqueue_late_update(
    session: Session, row: Notification, stage: Stage | None, *, now: datetime, keyring
) -> list[Notification]:
    """A Slack message with buttons delivered after its stage was acknowledged is updated at once."""
    if (
        row.channel != "slack"
        or row.kind not in _BUTTON_KINDS
        or stage is None
        or stage.acknowledged_at is None
        or not row.provider_id
    ):
        return []
    return _add_missing(session, [row], actor=stage.acknowledged_by or "-", now=now, keyring=keyring)


def _add_missing(
    session: Session, originals: list[Notification], *, actor: str, now: datetime, keyring
) -> list[Notification]:
    if not originals:
        return []
    keys = [f"{o.idempotency_key}:{ACK_UPDATE}" for o in originals]
    existing = set(
        session.execute(select(Notification.idempotency_key).where(Notification.idempotency_key.in_(keys))).scalars()
    )
    rows = []
    for original, key in zip(originals, keys, strict=True):
        if key in existing:
            continue
        row = _update_row(original, actor=actor, at=now, keyring=keyring)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
