"""Recording access to incidents (Art. 12) and warning on bulk reading (Art. 13).

Every view of an incident (page, API, draft) is an ``incident.viewed`` audit event and a
``web_incident_read`` row, written in a transaction of its own. When one person has read more
than ``HOKOKU_READ_ALERT_THRESHOLD`` different incidents within
``HOKOKU_READ_ALERT_WINDOW_MINUTES``, the general manager gets a warning through the outbox and
an ``access.bulk_read_warning`` audit event is appended (once per reader per window). Refused
attempts are ``access.denied`` events.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from hokoku.core.statuses import NotificationStatus
from hokoku.core.timeutil import fmt_jst, iso
from hokoku.models.notification import Notification
from hokoku.models.web import IncidentRead, ReadWarning
from hokoku.security import audit
from hokoku.store.db import transaction

WARNING_KIND = "bulk_read_warning"


def record_view(app, web_settings, *, email: str, incident: str, via: str, now: datetime) -> dict | None:
    """Audit one view; returns the warning raised (or None)."""
    with transaction(app.engine) as session:
        session.add(IncidentRead(email=email, incident=incident, at=now))
        audit.append(
            session, app.keyring, at=now, actor=email, action="incident.viewed", incident=incident, data={"via": via}
        )
        session.flush()
        return _maybe_warn(app, web_settings, session, email=email, now=now)


def record_denied(
    app, *, email: str, incident: str | None, via: str, reason: str, now: datetime, action: str | None = None
) -> None:
    """Audit a refused attempt (viewing out of scope, acting while read-only, ...)."""
    with transaction(app.engine) as session:
        data = {"via": via, "reason": reason[:500]}
        if action:
            data["action"] = action
        audit.append(session, app.keyring, at=now, actor=email, action="access.denied", incident=incident, data=data)


def _maybe_warn(app, web_settings, session: Session, *, email: str, now: datetime) -> dict | None:
    window = timedelta(minutes=web_settings.read_alert_window_minutes)
    since = now - window
    incidents = [
        r[0]
        for r in session.execute(
            select(IncidentRead.incident)
            .where(IncidentRead.email == email, IncidentRead.at > since)
            .group_by(IncidentRead.incident)
            .order_by(func.min(IncidentRead.at))
        )
    ]
    if len(incidents) <= web_settings.read_alert_threshold:
        return None
    already = session.execute(
        select(ReadWarning.id).where(ReadWarning.email == email, ReadWarning.at > since).limit(1)
    ).first()
    if already:
        return None
    session.add(ReadWarning(email=email, at=now, incidents=len(incidents)))
    org = app.organisation(session)
    gm = org.general_manager
    people = org.people()
    reader_name = people[email].name if email in people else email
    minutes = web_settings.read_alert_window_minutes
    minutes_text = f"{minutes:g}"
    lang = app.settings.lang
    subject, body = app.renderer.message(
        "bulk_read_warning",
        lang,
        recipient={"name": gm.name, "email": gm.email},
        reader_name=reader_name,
        reader_email=email,
        minutes=minutes_text,
        until=fmt_jst(now),
        threshold=web_settings.read_alert_threshold,
        incidents=list(incidents),
    )
    from hokoku.services.notifications import channels_for

    base = f"access:bulk_read:{email}:{iso(now)}:{gm.email}"
    for channel in channels_for(app, WARNING_KIND):
        session.add(
            Notification(
                idempotency_key=f"{base}:{channel}",
                base_key=base,
                incident_id=None,
                kind=WARNING_KIND,
                channel=channel,
                recipient_email=gm.email,
                lang=lang,
                subject_enc=app.keyring.encrypt(subject, field="notification.subject", bind=f"{base}:{channel}"),
                body_enc=app.keyring.encrypt(body, field="notification.body", bind=f"{base}:{channel}"),
                status=NotificationStatus.PENDING,
                created_at=now,
                next_attempt_at=now,
            )
        )
    warning = {
        "reader": email,
        "incidents": len(incidents),
        "window_minutes": minutes,
        "threshold": web_settings.read_alert_threshold,
        "to": gm.email,
    }
    audit.append(session, app.keyring, at=now, actor="hokoku:web", action="access.bulk_read_warning", data=warning)
    return warning
