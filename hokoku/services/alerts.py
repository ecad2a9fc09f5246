"""Machine-originated reports (e.g. the Art. 13 bulk-download warning).

Each monitor is an alert source with its own token (only the token's SHA-256 is stored). An
alert opens an incident through the normal intake, unless an alert with the same dedup key from
the same source arrived within the window and its incident is still open: then it attaches to
that incident. Sources are rate-limited per minute.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from hokoku.app import App
from hokoku.core.exceptions import HokokuError, InputError, NotFound
from hokoku.core.statuses import IncidentStatus
from hokoku.models.casework import Alert, AlertSource
from hokoku.models.incident import Incident
from hokoku.security import audit
from hokoku.services.intake import MAX_SUMMARY, file_report
from hokoku.store.db import transaction

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_RATE_PER_MINUTE = 60
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class RateLimited(HokokuError):
    """Too many alerts from one source in the last minute."""

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_source(app: App, *, name: str, now: datetime) -> str:
    """Register a monitor; returns its token (shown once, stored only as a hash)."""
    if not _NAME.match(name):
        raise InputError(f"source name {name!r}: use lowercase letters, digits, '-', '_' or '.'")
    token = "hka_" + secrets.token_urlsafe(32)
    with transaction(app.engine) as session:
        if session.get(AlertSource, name) is not None:
            raise InputError(f"alert source {name!r} already exists")
        session.add(AlertSource(name=name, token_sha256=_digest(token), created_at=now))
        audit.append(
            session, app.keyring, at=now, actor="hokoku:admin", action="alert_source.added", data={"source": name}
        )
    return token


def source_for_token(app: App, token: str) -> str | None:
    with transaction(app.engine) as session:
        row = session.execute(
            select(AlertSource).where(AlertSource.token_sha256 == _digest(token), AlertSource.active.is_(True))
        ).scalar_one_or_none()
        return None if row is None else row.name


def ingest_alert(
    app: App,
    *,
    source: str,
    division: str,
    summary: str,
    now: datetime,
    category: str = "bulk-download",
    dedup_key: str | None = None,
    aware_at: datetime | None = None,
    details: dict | None = None,
    window: timedelta = DEFAULT_WINDOW,
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
) -> dict:
    """Open an incident for an alert, or attach it to the open one with the same dedup key."""
    summary = (summary or "").strip()
    if not summary:
        raise InputError("summary: empty")
    if len(summary) > MAX_SUMMARY:
        raise InputError(f"summary: too long (at most {MAX_SUMMARY} characters)")
    if category not in app.playbooks:
        raise NotFound(f"category: unknown category {category!r} (categories: {', '.join(sorted(app.playbooks))})")
    aware_at = aware_at or now
    if aware_at > now:
        raise InputError("occurred_at: in the future")
    key = (dedup_key or "").strip() or hashlib.sha256(f"{division}\n{category}\n{summary}".encode()).hexdigest()
    if len(key) > 255:
        raise InputError("dedup_key: too long (at most 255 characters)")
    payload = json.dumps({"summary": summary, "details": details or {}}, ensure_ascii=False)
    with transaction(app.engine) as session:
        if session.get_bind().dialect.name == "postgresql":  # serialise per source so duplicates cannot race
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"hokoku-alert:{source}"})
        recent = session.execute(
            select(func.count())
            .select_from(Alert)
            .where(Alert.source == source, Alert.received_at > now - timedelta(minutes=1))
        ).scalar_one()
        if recent >= rate_per_minute:
            raise RateLimited(f"alert source {source!r} sent more than {rate_per_minute} alerts in a minute")
        previous = session.execute(
            select(Alert, Incident)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(
                Alert.source == source,
                Alert.dedup_key == key,
                Alert.received_at > now - window,
                Incident.status == IncidentStatus.OPEN,
            )
            .order_by(Alert.id.desc())
            .limit(1)
        ).first()

        def add_alert(incident_id: int) -> None:
            row = Alert(source=source, dedup_key=key, incident_id=incident_id, received_at=now, payload_enc=b"")
            session.add(row)
            session.flush()  # the ciphertext is bound to the row id
            row.payload_enc = app.keyring.encrypt(payload, field="alert.payload", bind=row.id)

        if previous is not None:
            incident = previous[1]
            add_alert(incident.id)
            session.flush()
            count = session.execute(
                select(func.count()).select_from(Alert).where(Alert.incident_id == incident.id)
            ).scalar_one()
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=f"alert:{source}",
                action="alert.attached",
                incident=incident.public_id,
                data={"source": source, "alerts": count},
            )
            return {"incident": incident.public_id, "created": False, "alerts": count}
        result = file_report(
            app,
            session,
            division=division,
            category=category,
            summary=summary,
            reporter=f"alert:{source}",
            now=now,
            aware_at=aware_at,
            serious=False,
            entry="alert",
            source=f"alert:{source}",
            details=json.dumps(details, ensure_ascii=False) if details else None,
        )
        incident = session.execute(select(Incident).where(Incident.public_id == result.public_id)).scalar_one()
        add_alert(incident.id)
        return {"incident": result.public_id, "created": True, "alerts": 1, "notified": result.notified}
