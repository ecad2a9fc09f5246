"""The incident thread: with ``HOKOKU_SLACK_INCIDENT_CHANNEL``, one parent message per incident
in that channel, kept current with ``chat.update``, and a reply in its thread for each stage
started, acknowledged, escalated, overdue, done or skipped, and the incident closed or reopened.

What it shows — deliberately no personal data: the incident id, category, division, the current
stage (title and state), the owner's **role** (never a name or address) and the due time. No
summary, no reporter. Personal DMs are not copied to the channel.

Everything goes through the outbox (durable, retried, claimed like any message), on the Slack
channel with ``recipient_email`` = ``channel:<id>``:

* ``thread_parent`` (key ``thread:<INC>:parent``) — posted once; its ``provider_id`` is the thread;
* ``thread_reply`` (key ``thread:<INC>:event:<audit seq>``) — one per audit event above, after the
  parent (per-recipient order), posted with ``thread_ts``;
* ``thread_update`` (key ``thread:<INC>:update:<audit seq>``) — ``chat.update`` of the parent with
  the state at delivery time.

:func:`sync` derives the rows from the audit log (idempotent by key); the dispatcher calls it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.roles import role_label
from hokoku.core.statuses import IncidentStatus, NotificationStatus
from hokoku.core.timeutil import fmt_jst
from hokoku.models.audit import AuditEvent
from hokoku.models.incident import Incident
from hokoku.models.notification import Notification
from hokoku.services.incidents import incident_policy
from hokoku.services.stagerows import load_stages

PARENT, REPLY, UPDATE = "thread_parent", "thread_reply", "thread_update"
THREAD_KINDS = frozenset({PARENT, REPLY, UPDATE})
#: Audit actions that become a reply in the thread.
EVENTS = (
    "stage.started",
    "stage.acknowledged",
    "stage.escalation",
    "stage.overdue",
    "stage.done",
    "stage.skipped",
    "incident.closed",
    "incident.reopened",
)
#: How long after closing an incident its thread is still kept in sync.
CLOSED_GRACE = timedelta(days=1)


def channel_of(app: App) -> str | None:
    s = app.settings
    return s.slack_incident_channel if s.slack_incident_channel and s.slack_bot_token else None


def _row(
    app: App,
    *,
    key: str,
    kind: str,
    incident: Incident,
    conversation: str,
    lang: str,
    subject: str,
    body: str,
    now: datetime,
    meta: dict,
) -> Notification:
    full = f"{key}:slack"
    return Notification(
        idempotency_key=full,
        base_key=key,
        incident_id=incident.id,
        stage_code=None,
        kind=kind,
        channel="slack",
        recipient_email=f"channel:{conversation}",
        lang=lang,
        subject_enc=app.keyring.encrypt(subject, field="notification.subject", bind=full),
        body_enc=app.keyring.encrypt(body, field="notification.body", bind=full),
        status=NotificationStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
        meta={"conversation": conversation, **meta},
    )


def parent_message(app: App, session: Session, incident: Incident) -> tuple[str, str]:
    """(subject, text) of the parent as the incident stands now."""

    lang = app.settings.lang
    org = app.organisation(session)
    playbook = app.playbooks.get(incident.category)
    policy = incident_policy(incident)
    stages = [s for s in load_stages(session, incident) if s.status in chain.ACTIVE]
    current = stages[0] if stages else None
    return app.renderer.message(
        PARENT,
        lang,
        public_id=incident.public_id,
        serious=incident.serious,
        category=playbook.title.get(lang) if playbook else incident.category,
        division=org.division(incident.division_code).name.get(lang),
        closed=incident.status == IncidentStatus.CLOSED,
        stage=None
        if current is None
        else {
            "title": policy.stage(current.code).title.get(lang),
            "state": chain.status_label(current.status, lang),
            "owner_role": role_label(current.owner_role, lang) if current.owner_role else "-",
            "due_at": fmt_jst(current.due_at) if current.due_at else "-",
        },
    )


def _reply(app: App, session: Session, incident: Incident, event: AuditEvent) -> tuple[str, str]:
    lang = app.settings.lang
    data = event.data or {}
    title = None
    if data.get("stage"):
        try:
            title = incident_policy(incident).stage(data["stage"]).title.get(lang)
        except Exception:
            title = None
    roles = [role_label(r, lang) for r in data.get("roles") or []]
    return app.renderer.message(
        REPLY,
        lang,
        public_id=incident.public_id,
        action=event.action,
        stage_title=title,
        level=data.get("level"),
        roles=roles,
        at=fmt_jst(event.at),
    )


def sync(app: App, session: Session, *, now: datetime, incident: str | None = None) -> list[Notification]:
    """Queue the parent, the replies and an update for what happened since (idempotent)."""
    conversation = channel_of(app)
    if conversation is None:
        return []
    query = select(Incident).where(
        or_(Incident.status == IncidentStatus.OPEN, Incident.closed_at >= now - CLOSED_GRACE)
    )
    if incident is not None:
        query = select(Incident).where(Incident.public_id == incident.strip().upper())
    lang = app.settings.lang
    added: list[Notification] = []
    for inc in session.execute(query.order_by(Incident.id)).scalars():
        keys = set(
            session.execute(
                select(Notification.base_key).where(
                    Notification.incident_id == inc.id, Notification.kind.in_(sorted(THREAD_KINDS))
                )
            ).scalars()
        )
        pid = inc.public_id
        if f"thread:{pid}:parent" not in keys:
            subject, body = parent_message(app, session, inc)
            added.append(
                _row(
                    app,
                    key=f"thread:{pid}:parent",
                    kind=PARENT,
                    incident=inc,
                    conversation=conversation,
                    lang=lang,
                    subject=subject,
                    body=body,
                    now=now,
                    meta={},
                )
            )
        newest = None
        for event in session.execute(
            select(AuditEvent)
            .where(AuditEvent.incident_public_id == pid, AuditEvent.action.in_(EVENTS))
            .order_by(AuditEvent.seq)
        ).scalars():
            key = f"thread:{pid}:event:{event.seq}"
            if key in keys:
                continue
            subject, body = _reply(app, session, inc, event)
            added.append(
                _row(
                    app,
                    key=key,
                    kind=REPLY,
                    incident=inc,
                    conversation=conversation,
                    lang=lang,
                    subject=subject,
                    body=body,
                    now=now,
                    meta={"seq": event.seq},
                )
            )
            newest = event.seq
        if newest is not None and f"thread:{pid}:parent" in keys:
            subject, body = parent_message(app, session, inc)
            added.append(
                _row(
                    app,
                    key=f"thread:{pid}:update:{newest}",
                    kind=UPDATE,
                    incident=inc,
                    conversation=conversation,
                    lang=lang,
                    subject=subject,
                    body=body,
                    now=now,
                    meta={},
                )
            )
    for row in added:
        session.add(row)
    session.flush()
    return added


def parent_ref(session: Session, row: Notification) -> str | None:
    """The provider id (``slack:<channel>:<ts>``) of the incident's parent message, once posted."""
    pid_key = select(Notification.provider_id).where(
        Notification.incident_id == row.incident_id,
        Notification.kind == PARENT,
        Notification.status == NotificationStatus.SENT,
    )
    return session.execute(pid_key.limit(1)).scalar()
