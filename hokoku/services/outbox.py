"""Putting messages in the outbox: render, encrypt, one row per message with its idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.timeutil import fmt_jst
from models.incident import Incident, Stage
from models.notification import Notification


def delivery_channels(app: App) -> list[str]:
    """Configured channels in order of preference; the outbox when nothing is configured."""
    s = app.settings
    channels = []
    if s.slack_bot_token:
        channels.append("slack")
    if s.smtp_host:
        channels.append("email")
    return channels or ["outbox"]


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
        summary = app.keyring.decrypt(incident.summary_enc, field="incident.summary") or ""
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
        from hokoku.services.stagerows import incident_policy

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
    **extra,
) -> list[Notification]:
    """Render one message for ``recipient`` and add it to the outbox, once per key."""
    people = app.organisation(session).people()
    person = people.get(recipient)
    name = person.name if person else recipient
    variables = {
        "incident": ctx.incident_vars(),
        "recipient": {"name": name, "email": recipient},
        "ack_url": None,
        **extra,
    }
    if stage is not None:
        variables["stage"] = ctx.stage_vars(stage)
    subject, body = app.renderer.message(kind, ctx.lang, **variables)
    rows = []
    for channel in delivery_channels(app)[:1]:
        full_key = f"{key}:{channel}"
        exists = session.execute(select(Notification.id).where(Notification.idempotency_key == full_key)).first()
        if exists:
            continue
        row = Notification(
            idempotency_key=full_key, incident_id=ctx.incident.id, stage_code=stage.code if stage else None,
            kind=kind, channel=channel, recipient_email=recipient, lang=ctx.lang,
            subject_enc=app.keyring.encrypt(subject, field="notification.subject"),
            body_enc=app.keyring.encrypt(body, field="notification.body"),
            status="pending", created_at=now, next_attempt_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows
