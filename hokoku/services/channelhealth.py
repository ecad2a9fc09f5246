"""Channel health: a channel that keeps failing is reported once, and its recovery once.

Derived from the outbox, no state of its own: a channel (Slack or email) is **failing since T**
when it has messages that failed at least once and are still being retried (or failed after more
than one attempt) and the oldest of them, T, was queued after the channel's last successful
delivery. Once that has lasted ``HOKOKU_CHANNEL_DOWN_ALERT_MINUTES`` (default 10; 0 turns this
off), the general manager and the protection officers get **one** ``channel_down`` summary on
the channels still working (on every channel when none is: the first to come back delivers it,
the other copy is then dropped as already delivered), with the audit event ``channel.down``.
When the channel delivers again after that alert, they get one ``channel_up`` notice on the
channel the alert was read on (audit ``channel.recovered``). An outage is one alert, however
many messages failed and however the oldest failing message changes while it lasts.

Called at the start of every dispatch (:func:`hokoku.services.dispatch.dispatch`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from hokoku.app import App
from hokoku.core.statuses import NotificationStatus
from hokoku.core.timeutil import fmt_jst
from hokoku.i18n import t
from hokoku.models.notification import Notification
from hokoku.security import audit
from hokoku.services.notifications import REAL_CHANNELS, delivery_channels
from hokoku.store.db import transaction

log = logging.getLogger("hokoku.channelhealth")

DOWN, UP = "channel_down", "channel_up"
HEALTH_KINDS = frozenset({DOWN, UP})


@dataclass(frozen=True)
class ChannelState:
    channel: str
    failing_since: datetime | None
    failing: int
    last_error: str | None

    def to_json(self) -> dict:
        return {
            "channel": self.channel,
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
            "failing": self.failing,
            "last_error": self.last_error,
        }


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def channel_state(session, channel: str) -> ChannelState:
    """Whether ``channel`` is failing now, since when, how many messages, the latest error."""
    last_ok = _aware(
        session.execute(
            select(func.max(Notification.sent_at)).where(
                Notification.channel == channel, Notification.status == NotificationStatus.SENT
            )
        ).scalar()
    )
    failing = and_(
        Notification.channel == channel,
        Notification.last_error.is_not(None),
        or_(
            and_(
                Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)),
                Notification.attempts >= 1,
            ),
            and_(Notification.status == NotificationStatus.FAILED, Notification.attempts > 1),
        ),
    )
    if last_ok is not None:
        failing = and_(failing, Notification.created_at > last_ok)
    count, since = session.execute(select(func.count(), func.min(Notification.created_at)).where(failing)).one()
    error = None
    if count:
        error = session.execute(
            select(Notification.last_error).where(failing).order_by(Notification.id.desc()).limit(1)
        ).scalar()
    return ChannelState(channel, _aware(since) if count else None, count, (error or "")[:300] or None)


def _open_alerts(session) -> list[Notification]:
    """One ``channel_down`` row per outage with no ``channel_up`` yet (newest first)."""
    seen, out = set(), []
    for row in session.execute(
        select(Notification).where(Notification.kind == DOWN).order_by(Notification.id.desc())
    ).scalars():
        meta = row.meta or {}
        tag = (tuple(meta.get("channels") or ()), meta.get("outage"))
        if tag in seen:
            continue
        seen.add(tag)
        recovered = session.execute(
            select(Notification.id)
            .where(Notification.kind == UP, Notification.base_key.like(f"{UP}:{_tag(tag[0], tag[1])}:%"))
            .limit(1)
        ).first()
        if not recovered:
            out.append(row)
    return out


def _tag(channels, outage) -> str:
    return f"{'+'.join(channels)}:{outage}"


def _recipients(org) -> list:
    people = [org.general_manager]
    seen = {org.general_manager.email}
    for person, role, _scope, deputy in org.assignments():
        if not deputy and getattr(role, "value", role) == "protection_officer" and person.email not in seen:
            seen.add(person.email)
            people.append(person)
    return people


def _queue(
    app: App,
    session,
    *,
    kind: str,
    down: list[str],
    outage: str | None,
    channels: list[str],
    now: datetime,
    variables: dict,
) -> list[str]:
    org = app.organisation(session)
    lang = app.settings.lang
    keys = []
    for person in _recipients(org):
        base = f"{kind}:{_tag(down, outage)}:{person.email}"
        subject, body = app.renderer.message(
            kind,
            lang,
            recipient={"name": person.name, "email": person.email},
            channel_label=t("list.and", lang).join(t(f"channel.{c}", lang) for c in down),
            **variables,
        )
        for target in channels:
            key = f"{base}:{target}"
            if session.execute(select(Notification.id).where(Notification.idempotency_key == key)).first():
                continue
            session.add(
                Notification(
                    idempotency_key=key,
                    base_key=base,
                    incident_id=None,
                    stage_code=None,
                    kind=kind,
                    channel=target,
                    recipient_email=person.email,
                    lang=lang,
                    subject_enc=app.keyring.encrypt(subject, field="notification.subject", bind=key),
                    body_enc=app.keyring.encrypt(body, field="notification.body", bind=key),
                    status=NotificationStatus.PENDING,
                    created_at=now,
                    next_attempt_at=now,
                    meta={"channels": down, "outage": outage},
                )
            )
            keys.append(key)
    session.flush()
    return keys


def check_channels(app: App, *, now: datetime) -> list[str]:
    """Queue the outage alert and recovery notices due now; returns the keys queued.

    Channels that pass the window together share one alert ("Slack and email"); a channel already
    covered by an alert that has not recovered is never alerted again.
    """
    minutes = app.settings.channel_down_alert_minutes
    configured = [c for c in delivery_channels(app) if c in REAL_CHANNELS]
    if not minutes or not configured:
        return []
    window = timedelta(minutes=minutes)
    queued: list[str] = []
    try:
        with transaction(app.engine) as session:
            states = {c: channel_state(session, c) for c in configured}
            open_alerts = _open_alerts(session)
            covered = {c for row in open_alerts for c in (row.meta or {}).get("channels") or ()}
            for alert in open_alerts:
                meta = alert.meta or {}
                down = list(meta.get("channels") or ())
                back = all(
                    states.get(c) is not None
                    and states[c].failing_since is None
                    and session.execute(
                        select(Notification.id)
                        .where(
                            Notification.channel == c,
                            Notification.status == NotificationStatus.SENT,
                            Notification.sent_at > alert.created_at,
                        )
                        .limit(1)
                    ).first()
                    for c in down
                )
                if back:  # one notice, where the alert was read (else the preferred channel)
                    tag = _tag(down, meta.get("outage"))
                    read_on = [
                        c
                        for c in configured
                        if session.execute(
                            select(Notification.id)
                            .where(
                                Notification.kind == DOWN,
                                Notification.base_key.like(f"{DOWN}:{tag}:%"),
                                Notification.channel == c,
                                Notification.status == NotificationStatus.SENT,
                            )
                            .limit(1)
                        ).first()
                    ]
                    keys = _queue(
                        app,
                        session,
                        kind=UP,
                        down=down,
                        outage=meta.get("outage"),
                        channels=(read_on or configured)[:1],
                        now=now,
                        variables={"down_at": fmt_jst(alert.created_at), "checked_at": fmt_jst(now)},
                    )
                    audit.append(
                        session,
                        app.keyring,
                        at=now,
                        actor="hokoku:dispatch",
                        action="channel.recovered",
                        data={"channels": down, "outage": meta.get("outage"), "keys": len(keys)},
                    )
                    log.warning("channel(s) %s deliver again: recovery notice queued", down)
                    queued += keys
            failing_since = {
                c: st.failing_since
                for c, st in states.items()
                if c not in covered and st.failing_since is not None and now - st.failing_since >= window
            }
            newly = list(failing_since)
            if newly:
                working = [c for c, st in states.items() if st.failing_since is None] or configured
                since = min(failing_since.values())
                outage = since.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
                errors = "; ".join(f"{c}: {states[c].last_error or '-'}" for c in newly)
                keys = _queue(
                    app,
                    session,
                    kind=DOWN,
                    down=newly,
                    outage=outage,
                    channels=working,
                    now=now,
                    variables={
                        "failing_since": fmt_jst(since),
                        "failing": sum(states[c].failing for c in newly),
                        "last_error": errors[:600],
                        "checked_at": fmt_jst(now),
                        "window_minutes": f"{minutes:g}",
                    },
                )
                audit.append(
                    session,
                    app.keyring,
                    at=now,
                    actor="hokoku:dispatch",
                    action="channel.down",
                    data={"channels": [states[c].to_json() for c in newly], "alerted_on": working, "keys": len(keys)},
                )
                log.warning("channel(s) %s failing since %s: one alert queued on %s", newly, since, working)
                queued += keys
    except IntegrityError:  # a concurrent dispatcher queued the same alert first
        return []
    return queued
