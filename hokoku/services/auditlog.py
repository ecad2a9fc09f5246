"""Reading the audit log and appending single events, each in a transaction of its own (for the web
app and the CLI, which reach the database only through services)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hokoku.models.audit import AuditEvent
from hokoku.security import audit
from hokoku.store.db import transaction


def record_event(
    app, *, now: datetime, actor: str, action: str, data: dict | None = None, incident: str | None = None
) -> None:
    """Append one audit event (actor cut to 320 characters, incident id to 32)."""
    with transaction(app.engine) as session:
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor[:320],
            action=action,
            incident=incident[:32] if incident else None,
            data=data or {},
        )


def read_events(
    app,
    *,
    now: datetime,
    reader: str,
    limit: int,
    incident: str = "",
    actor: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int = 0,
    export_format: str | None = None,
    record: dict | None = None,
) -> list[dict]:
    """The newest events matching the filters (``action`` ending in ``.`` or ``*`` is a prefix;
    ``before`` pages back by sequence number), newest first; the reading itself is audited in the
    same transaction (``audit.viewed``, or ``audit.exported`` with ``export_format``), carrying
    ``record`` (the filters as the reader gave them)."""
    with transaction(app.engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq.desc())
        if incident:
            query = query.where(AuditEvent.incident_public_id == incident)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if action:
            query = query.where(
                AuditEvent.action.startswith(action.rstrip("*"), autoescape=True)
                if action.endswith((".", "*"))
                else AuditEvent.action == action
            )
        if since:
            query = query.where(AuditEvent.at >= since)
        if until:
            query = query.where(AuditEvent.at < until)
        if before > 0 and not export_format:
            query = query.where(AuditEvent.seq < before)
        events = [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "incident": e.incident_public_id,
                "data": e.data,
            }
            for e in session.execute(query.limit(limit)).scalars()
        ]
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=reader,
            action="audit.exported" if export_format else "audit.viewed",
            data={**(record or {}), **({"format": export_format, "rows": len(events)} if export_format else {})},
        )
    return events
