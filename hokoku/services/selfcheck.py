"""Self-check I/O, run at the start of every sweep: find stalled work, alert, ping the heartbeat.

The rule is :mod:`hokoku.core.stall`. Here: count the due items more than
``HOKOKU_STALL_ALERT_MINUTES`` past their time (indexed columns only, so the check costs no
more than the sweep's own claim), queue a ``stall_alert`` to the general manager on every
configured channel with an audit event (idempotency key ``selfcheck:stall:<UTC hour>:<email>``,
so at most one per hour, even with concurrent sweepers), and after a healthy live sweep ping
``HOKOKU_HEARTBEAT_URL`` (HTTP GET, short timeout; failures are logged, never raised).

Only live sweeps are checked: with a simulated ``now`` (``--now``, the demo, tests) lateness
says nothing about whether the engine runs. ``sweep(..., selfcheck=True)`` forces the check.
A failing self-check is logged and never stops the sweep.
"""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from hokoku.app import App
from hokoku.clock import utcnow
from hokoku.core.stall import Verdict, alert_key, assess, cutoff, is_live
from hokoku.core.statuses import NotificationStatus
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import section
from hokoku.models.casework import Task
from hokoku.models.incident import Stage
from hokoku.models.notification import Notification
from hokoku.security import audit
from hokoku.services.notifications import delivery_channels
from hokoku.store.db import transaction
from hokoku.store.locking import db_now

log = logging.getLogger("hokoku.core.stall")

KIND = "stall_alert"
HEARTBEAT_TIMEOUT = 5.0


@dataclass
class SelfCheck:
    """What the check found: ``live`` (a real-time sweep), ``verdict`` (None: not checked)."""

    live: bool
    verdict: Verdict | None = None
    alerted: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.live and self.error is None and not (self.verdict and self.verdict.stalled)


def late_items(session: Session, *, before: datetime) -> dict:
    """Per kind, (count, oldest due time) of the unprocessed items due at or before ``before``.

    A ``sending`` notification counts once its lease ran out (database clock): its sender died.
    """

    out = {}
    for kind, column in (("stage", Stage.next_action_at), ("task", Task.next_action_at)):
        out[kind] = tuple(session.execute(select(func.count(), func.min(column)).where(column <= before)).one())
    due = func.coalesce(Notification.next_attempt_at, Notification.created_at)
    lapsed = or_(Notification.lease_until.is_(None), Notification.lease_until <= db_now(session))
    late = and_(
        due <= before,
        or_(
            Notification.status == NotificationStatus.PENDING,
            and_(Notification.status == NotificationStatus.SENDING, lapsed),
        ),
    )
    count, oldest = session.execute(select(func.count(), func.min(due)).where(late)).one()
    out["notification"] = (count, _aware(oldest))
    out["stage"] = (out["stage"][0], _aware(out["stage"][1]))
    out["task"] = (out["task"][0], _aware(out["task"][1]))
    return out


def _aware(value):
    if isinstance(value, str):  # SQLite returns min() of a coalesce as text
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def check(app: App, *, now: datetime, live: bool | None = None, wall: datetime | None = None) -> SelfCheck:
    """Run the self-check for a sweep at ``now``; alert the general manager if the engine stalled."""
    if live is None:
        live = is_live(now, wall or utcnow())
    minutes = app.settings.stall_alert_minutes
    result = SelfCheck(live=live)
    if not live or not minutes:
        return result
    threshold = timedelta(minutes=minutes)
    try:
        with transaction(app.engine) as session:
            result.verdict = assess(late_items(session, before=cutoff(now, threshold)), now=now, threshold=threshold)
        if result.verdict.stalled:
            log.warning("hokoku self-check: engine stalled: %s", result.verdict.to_json())
            try:
                result.alerted = alert(app, result.verdict)
            except IntegrityError:  # a concurrent sweeper queued this hour's alert first
                result.alerted = []
    except Exception as exc:
        log.exception("hokoku self-check failed")
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def alert(app: App, verdict: Verdict) -> list[str]:
    """Queue this hour's stall alert to the general manager on every channel (once); audit it."""

    now = verdict.now
    with transaction(app.engine) as session:
        gm = app.organisation(session).general_manager
        base = alert_key(now, gm.email)
        lang = app.settings.lang
        labels = section("stall", lang)
        worst = verdict.worst_delay
        subject, body = app.renderer.message(
            KIND,
            lang,
            recipient={"name": gm.name, "email": gm.email},
            threshold_minutes=f"{verdict.threshold.total_seconds() / 60:g}",
            worst_delay_minutes=int(worst.total_seconds() // 60) if worst else 0,
            checked_at=fmt_jst(now),
            late=[
                {"label": labels[i.kind], "count": i.count, "oldest_due_at": fmt_jst(i.oldest_due_at)}
                for i in verdict.late
            ],
        )
        keys = []
        for channel in delivery_channels(app):
            key = f"{base}:{channel}"
            if session.execute(select(Notification.id).where(Notification.idempotency_key == key)).first():
                continue
            session.add(
                Notification(
                    idempotency_key=key,
                    base_key=base,
                    incident_id=None,
                    stage_code=None,
                    kind=KIND,
                    channel=channel,
                    recipient_email=gm.email,
                    lang=lang,
                    subject_enc=app.keyring.encrypt(subject, field="notification.subject", bind=key),
                    body_enc=app.keyring.encrypt(body, field="notification.body", bind=key),
                    status=NotificationStatus.PENDING,
                    created_at=now,
                    next_attempt_at=now,
                    meta={"selfcheck": verdict.to_json()},
                )
            )
            keys.append(key)
        if keys:
            session.flush()
            audit.append(
                session,
                app.keyring,
                at=now,
                actor="hokoku:selfcheck",
                action="selfcheck.stalled",
                data={**verdict.to_json(), "alerted": [gm.email], "keys": keys},
            )
        return keys


def heartbeat(app: App, result: SelfCheck, *, timeout: float | None = None) -> bool | None:
    """After a healthy live sweep, GET ``HOKOKU_HEARTBEAT_URL``; True when it answered 2xx/3xx.

    None when no ping is due (no URL, a simulated sweep, or the engine found itself stalled).
    """
    url = app.settings.heartbeat_url
    if not url or not result.healthy:
        return None
    where = urlsplit(url)
    shown = f"{where.scheme}://{where.hostname}{f':{where.port}' if where.port else ''}"  # the path may hold a token
    try:
        request = urllib.request.Request(url, method="GET", headers={"User-Agent": "hokoku-heartbeat"})
        with urllib.request.urlopen(request, timeout=timeout or HEARTBEAT_TIMEOUT) as response:
            ok = 200 <= response.status < 400
    except Exception as exc:
        log.warning("hokoku heartbeat to %s failed: %s", shown, exc)
        return False
    if not ok:
        log.warning("hokoku heartbeat to %s answered HTTP %s", shown, response.status)
    return ok
