"""Putting messages in the outbox: render, encrypt, one row per message and channel with its key.

Channels: with nothing configured every message goes to the ``outbox`` channel. With Slack and
email both configured, the messages that ask for an acknowledgement (:data:`ACK_KINDS`) go to
**both** (keys ``<base>:slack`` and ``<base>:email``); every other message goes to the first
configured channel (Slack before email) and falls back to the other one when it cannot be
delivered (``hokoku.services.dispatch``). A ``delivery_alert`` goes to every configured channel.

Email rows of :data:`ACK_KINDS` carry :data:`ACK_TOKEN_PLACEHOLDER` where the signed
acknowledgement link goes: the token is made at dispatch time, never stored in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core.statuses import NotificationStatus
from hokoku.core.timeutil import fmt_jst
from hokoku.models.incident import Incident, Stage
from hokoku.models.notification import Notification
from hokoku.services.incidents import incident_policy

#: Messages that ask the recipient to acknowledge a stage: sent on every channel, with buttons/links.
ACK_KINDS = frozenset({"notify", "reminder", "escalation"})
#: Messages sent on every configured channel at once.
ALL_CHANNEL_KINDS = ACK_KINDS | {"delivery_alert"}
#: Channels that deliver to people (and so can fail and fall back to each other).
REAL_CHANNELS = ("slack", "email")
CHANNELS = ("outbox", *REAL_CHANNELS)
#: Stands for the acknowledgement token in a stored email body (the last occurrence is the link).
ACK_TOKEN_PLACEHOLDER = "{ack-token}"


def delivery_channels(app: App) -> list[str]:
    """Configured channels in order of preference; the outbox when nothing is configured."""
    s = app.settings
    channels = []
    if s.slack_bot_token:
        channels.append("slack")
    if s.smtp_host:
        channels.append("email")
    return channels or ["outbox"]


def channels_for(app: App, kind: str) -> list[str]:
    """The channels a message of ``kind`` is queued on at first (see the module docstring)."""
    channels = delivery_channels(app)
    return channels if kind in ALL_CHANNEL_KINDS else channels[:1]


def base_key(key: str) -> str:
    """An idempotency key without its ``:<channel>`` suffix."""
    head, sep, tail = key.rpartition(":")
    return head if sep and tail in CHANNELS else key


def ack_link_template(app: App) -> str:
    return f"{app.settings.public_url.rstrip('/')}/ack/{ACK_TOKEN_PLACEHOLDER}"


@dataclass
class MessageContext:
    """What every message about one incident shows, built once per transaction."""

    app: App
    session: Session
    incident: Incident
    summary: str
    lang: str

    @classmethod
    def for_incident(cls, app: App, session: Session, incident: Incident) -> MessageContext:
        summary = app.keyring.decrypt(incident.summary_enc, field="incident.summary", bind=incident.public_id) or ""
        return cls(app, session, incident, summary, app.settings.lang)

    def incident_vars(self) -> dict:
        org = self.app.organisation(self.session)
        inc = self.incident
        div = org.division(inc.division_code)
        people = org.people()
        reporter = people.get(inc.reporter_email)
        playbook = self.app.playbooks.get(inc.category)
        category_label = playbook.title.get(self.lang) if playbook else inc.category
        return {
            "public_id": inc.public_id,
            "serious": inc.serious,
            "category": inc.category,
            "category_label": category_label,
            "division_name": div.name.get(self.lang),
            "reporter_name": reporter.name if reporter else inc.reporter_email,
            "aware_at": fmt_jst(inc.aware_at),
            "reported_at": fmt_jst(inc.reported_at),
            "summary": self.summary,
        }

    def stage_vars(self, stage: Stage) -> dict:
        sp = incident_policy(self.incident).stage(stage.code)
        people = self.app.organisation(self.session).people()
        owner = people.get(stage.owner_email or "")
        return {
            "code": stage.code,
            "article": sp.article,
            "title": sp.title.get(self.lang),
            "owner_name": owner.name if owner else (stage.owner_email or "-"),
            "due_at": fmt_jst(stage.due_at),
        }


def enqueue(
    session: Session,
    app: App,
    ctx: MessageContext,
    *,
    kind: str,
    recipient: str,
    key: str,
    now: datetime,
    stage: Stage | None = None,
    channels: list[str] | None = None,
    meta: dict | None = None,
    **extra,
) -> list[Notification]:
    """Render one message for ``recipient`` and add it to the outbox, once per key and channel."""
    people = app.organisation(session).people()
    person = people.get(recipient)
    name = person.name if person else recipient
    variables = {
        "incident": ctx.incident_vars(),
        "recipient": {"name": name, "email": recipient},
        **extra,
    }
    if stage is not None:
        variables["stage"] = ctx.stage_vars(stage)
    rendered: dict[str | None, tuple[str, str]] = {}
    rows = []
    for channel in channels or channels_for(app, kind):
        full_key = f"{key}:{channel}"
        exists = session.execute(select(Notification.id).where(Notification.idempotency_key == full_key)).first()
        if exists:
            continue
        ack_url = ack_link_template(app) if channel == "email" and kind in ACK_KINDS and stage is not None else None
        if ack_url not in rendered:
            rendered[ack_url] = app.renderer.message(kind, ctx.lang, **variables, ack_url=ack_url)
        subject, body = rendered[ack_url]
        row = Notification(
            idempotency_key=full_key,
            base_key=key,
            incident_id=ctx.incident.id,
            stage_code=stage.code if stage else None,
            kind=kind,
            channel=channel,
            recipient_email=recipient,
            lang=ctx.lang,
            subject_enc=app.keyring.encrypt(subject, field="notification.subject", bind=full_key),
            body_enc=app.keyring.encrypt(body, field="notification.body", bind=full_key),
            status=NotificationStatus.PENDING,
            created_at=now,
            next_attempt_at=now,
            meta=meta,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
