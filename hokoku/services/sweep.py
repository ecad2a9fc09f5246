"""The sweep: as of ``now``, send due reminders and escalations and mark overdue stages.

It reads only stages whose indexed ``next_action_at`` is due, so its cost grows with the due
rows, not with the open incidents. Each batch is one transaction: state change, outbox rows
and audit events commit together, and re-running a sweep at the same ``now`` does nothing.
Batches are small (:data:`BATCH_SIZE`) and each commits on its own, so a worker killed
mid-sweep keeps what the finished batches did and the next sweep goes on from there.
On PostgreSQL rows are claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` so concurrent sweepers
split the work instead of repeating it; locks follow the order in :mod:`hokoku.store.locking`
(stage rows, then task rows, then new outbox rows, then the audit head).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.durations import parse_duration
from hokoku.core.roles import role_label
from hokoku.core.timeutil import iso
from hokoku.i18n import plural
from hokoku.models.incident import Incident, Stage
from hokoku.security import audit
from hokoku.services import auditops
from hokoku.services import selfcheck as _selfcheck
from hokoku.services.incidents import incident_policy
from hokoku.services.notifications import MessageContext, enqueue
from hokoku.services.stagerows import apply_state, to_state
from hokoku.services.tasks import sweep_tasks
from hokoku.store.db import retry_on_disconnect, transaction
from hokoku.store.locking import for_update

log = logging.getLogger(__name__)


@dataclass
class SweepEvent:
    incident: str
    stage: str
    kind: str  # reminder | escalation | overdue
    recipients: list[str]
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "incident": self.incident,
            "stage": self.stage,
            "kind": self.kind,
            "recipients": self.recipients,
            **self.detail,
        }


#: Stages (and tasks) per committed batch.
BATCH_SIZE = 25


def sweep(app: App, *, now: datetime, batch_size: int = BATCH_SIZE, selfcheck: bool | None = None) -> list[SweepEvent]:
    """Sweep everything due at ``now``, batch by batch.

    First the self-check (:mod:`hokoku.services.selfcheck`: alert if the engine stalled; only
    for live sweeps unless ``selfcheck`` is given), committed on its own before any batch, so it
    runs and alerts even when sweeps keep dying; after a healthy sweep, the heartbeat ping.
    A batch whose database connection was lost is run again on a fresh one (it is one
    transaction, idempotent at a given ``now``).
    """

    check = _selfcheck.check(app, now=now, live=selfcheck)
    events: list[SweepEvent] = []
    while True:
        batch = retry_on_disconnect(lambda: _sweep_batch(app, now=now, batch_size=batch_size))
        events.extend(batch.events)
        if batch.rows < batch_size:
            # Anchor the audit log outside the database (a line when the head moved; the
            # audit officer's daily copy on live sweeps).
            auditops.sweep_checkpoint(app, now=now, live=check.live)
            if check.live:  # a simulated `now` must not end real sessions
                _purge_sessions(app, now=now)
            _selfcheck.heartbeat(app, check)
            return events


def _purge_sessions(app: App, *, now: datetime) -> None:
    """Delete expired web sessions (logged, not audited: nothing but the expiry changes)."""
    from hokoku.services.websessions import purge_expired_sessions

    purged = purge_expired_sessions(app, now=now)
    if purged:
        log.info("sweep: purged %d expired web session(s)", purged)


@dataclass
class _Batch:
    rows: int
    events: list[SweepEvent]


def _sweep_batch(app: App, *, now: datetime, batch_size: int) -> _Batch:
    with transaction(app.engine) as session:
        query = (
            select(Stage).where(Stage.next_action_at <= now).order_by(Stage.next_action_at, Stage.id).limit(batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = for_update(query, skip_locked=True)
        rows = list(session.execute(query).scalars())
        events: list[SweepEvent] = []
        contexts: dict[int, MessageContext] = {}
        for row in rows:
            incident = session.get_one(Incident, row.incident_id)
            sp = incident_policy(incident).stage(row.code)
            outcome = chain.sweep_stage(to_state(row), sp.timings(incident.serious), now)
            apply_state(row, outcome.state)
            session.add(row)
            if not outcome.actions:
                continue
            ctx = contexts.get(row.incident_id) or contexts.setdefault(
                row.incident_id, MessageContext.for_incident(app, session, incident)
            )
            for action in outcome.actions:
                events.append(_act(app, session, ctx, incident, row, action, now))

        task_rows, task_events = sweep_tasks(app, session, now=now, limit=batch_size)
        events.extend(SweepEvent(e["incident"], e["stage"], e["kind"], e["recipients"]) for e in task_events)
        return _Batch(max(len(rows), task_rows), events)


def _act(app: App, session, ctx: MessageContext, incident: Incident, row: Stage, action, now: datetime) -> SweepEvent:
    pid = incident.public_id
    extra: dict[str, Any]  # template variables of the message
    if isinstance(action, chain.Escalation):
        kind, detail, tag = (
            "escalation",
            {"level": action.level, "roles": list(action.roles)},
            f"escalation:{action.level}",
        )
        extra = {"level": action.level}
    elif isinstance(action, chain.Reminder):
        kind, detail, tag = "reminder", {"number": action.number}, f"reminder:{action.number}"
        extra = {"number": action.number}
    elif isinstance(action, chain.DueWarning):
        kind, detail = "due_warning", {"before": action.before, "due_at": iso(action.due_at)}
        tag = f"due_warning:{iso(action.due_at)}:{action.before}"
        extra = {"before": _before_words(action.before, ctx.lang)}
    else:
        kind, detail, tag = "overdue", {"due_at": iso(action.due_at)}, "overdue"
        extra = {}
    for email in action.recipients:
        enqueue(
            session,
            app,
            ctx,
            kind=kind,
            stage=row,
            recipient=email,
            key=f"{pid}:{row.code}:{tag}:{email}",
            now=now,
            **extra,
        )
    if kind == "escalation" and row.owner_email and row.owner_email not in action.recipients:
        # the owner hears that the stage went past them (+30/+60/+120 min), and to whom

        enqueue(
            session,
            app,
            ctx,
            kind="escalated_owner",
            stage=row,
            recipient=row.owner_email,
            key=f"{pid}:{row.code}:{tag}:owner:{row.owner_email}",
            now=now,
            level=action.level,
            roles=[role_label(r, ctx.lang) for r in action.roles],
        )
    audit.append(
        session,
        app.keyring,
        at=now,
        actor="hokoku:sweep",
        action=f"stage.{kind}",
        incident=pid,
        data={"stage": row.code, "recipients": list(action.recipients), **detail},
    )
    return SweepEvent(pid, row.code, kind, list(action.recipients), detail)


def _before_words(before: str, lang: str) -> str:
    """``5bd`` → ``5営業日前`` / ``5 business days``: how long before the due time, in words."""

    d = parse_duration(before)
    return plural(f"unit.{d.unit}", d.amount, lang)
