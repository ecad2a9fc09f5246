"""Delivering the outbox: claim due rows, send through the channel's notifier, record the result.

Guarantees
----------
* **Claims, leases, fencing.** Rows are claimed a few at a time (:data:`CLAIM_BATCH`): status
  ``sending``, a new ``claim_id`` (the fencing token) and ``lease_until`` = the **database's**
  clock + ``HOKOKU_OUTBOX_LEASE_SECONDS`` (default 60 s), never a worker's own or simulated
  ``now``. Before sending, the sender checks (row lock) that its claim id still owns the row,
  counts the attempt and renews the lease; while the provider call is in flight a
  :class:`LeaseKeeper` renews it every third of the lease; before recording it checks ownership
  again. A row whose lease ran out and was claimed by another dispatcher is neither sent nor
  recorded by the old owner. A crashed dispatcher's rows return to the pool when their lease
  ends (about a minute).
* **At most one duplicate per crash, never a false "sent".** A crash between the send and the
  transaction that records it leaves the row ``sending``; after its lease it is claimed again,
  so a message is sent at most one extra time per such crash (email carries a deterministic
  Message-ID, Slack the key in its metadata), and it is never marked ``sent`` unless the
  provider accepted it.
* **Attempts are counted when an attempt is made** (just before the provider call), never at
  claim time: a crash between claim and send costs no retry.
* **Retries.** Transient errors are retried with exponential backoff and full jitter
  (:func:`backoff`); a provider's ``Retry-After`` (Slack 429) is honoured: the next attempt is
  that many seconds later plus up to one second of jitter. Permanent errors, and transient
  ones after ``MAX_ATTEMPTS`` (``MAX_RATE_LIMITED_ATTEMPTS`` while rate limited), mark the row
  ``failed`` with an audit event; ``hokoku show`` lists it.
* **Fallback between Slack and email.** When a Slack (email) row fails for good, or is still
  undelivered ``HOKOKU_FALLBACK_AFTER_MINUTES`` after it was queued, the same message (same
  encrypted subject and body) is queued on the other configured channel under
  ``<base>:<channel>`` — unless that row exists already (messages that ask for an
  acknowledgement are queued on both channels from the start). When every channel has
  failed for a message, the general manager gets a ``delivery_alert`` on every channel.
* **Stale messages are not sent** (:func:`stale_reason`): a reminder or escalation whose stage
  was acknowledged or closed, an overdue or first notice whose stage was closed, a stage
  message of a closed incident, a reminder with a newer one queued, a one-channel message the
  other channel already delivered — each is ``cancelled`` with its reason (audited).
* **Order per person.** A message waits ("held", no attempt counted) while an older message to
  the same person on the same channel is still undelivered.

What a message carries is decided here, at delivery time: Slack buttons (Acknowledge,
Mark done, Open in hokoku) from the stage's current state, the thread of the first Slack
message of the stage to that person, and for email the signed, expiring, single-use
acknowledgement link (the token is made now and never stored).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.statuses import IncidentStatus, NotificationStatus
from hokoku.core.timeutil import JST
from hokoku.i18n import section, t
from hokoku.models.incident import Incident, Stage
from hokoku.models.notification import Notification
from hokoku.notifiers.base import Action, DeliveryError, Notifier, OutgoingMessage, split_quote
from hokoku.security import audit
from hokoku.security.acktokens import issue_token
from hokoku.services import incidentthread, slackops
from hokoku.services.channelhealth import check_channels
from hokoku.services.incidents import incident_policy
from hokoku.services.notifications import (
    ACK_KINDS,
    ACK_TOKEN_PLACEHOLDER,
    CHANNELS,
    REAL_CHANNELS,
    MessageContext,
    base_key,
    delivery_channels,
    enqueue,
)
from hokoku.store.db import retry_on_disconnect, rows_changed, transaction
from hokoku.store.locking import db_now, for_update

MAX_ATTEMPTS = 8
MAX_RATE_LIMITED_ATTEMPTS = 32
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
#: Rows claimed at a time: small, so a batch is sent well within its lease and a crash parks few.
CLAIM_BATCH = 10
log = logging.getLogger("hokoku.dispatch")
#: Kinds that never fall back or raise alerts of their own.
_NO_FALLBACK = frozenset(
    {
        slackops.ACK_UPDATE,
        "delivery_alert",
        "channel_down",
        "channel_up",
        "thread_parent",
        "thread_reply",
        "thread_update",
    }
)
_THREAD_KINDS = frozenset({"thread_parent", "thread_reply", "thread_update"})
_FOLLOW_UPS = frozenset({"reminder", "escalation", "escalated_owner"})


@dataclass
class DispatchEvent:
    notification_id: int
    key: str
    channel: str
    recipient: str
    outcome: str  # sent | retry | failed | cancelled
    provider_id: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return self.__dict__.copy()


def backoff(attempt: int, *, rng: random.Random, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with full jitter; with a provider's Retry-After, that wait plus ≤1 s."""
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after) + rng.uniform(0, 1))
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=rng.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds()))


# -- claiming ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """Rows this dispatcher now owns: ``claim_id`` is the fencing token written on each of them."""

    claim_id: str
    ids: list[int]


def lease_of(app: App) -> timedelta:
    return timedelta(seconds=app.settings.outbox_lease_seconds)


def _new_claim_id() -> str:
    return uuid.uuid4().hex


def claim(
    app: App,
    *,
    now: datetime,
    limit: int = CLAIM_BATCH,
    ids: list[int] | None = None,
    incident: str | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> Claim:
    """Mark up to ``limit`` due rows ``sending`` under a new claim id, with a lease on the database's clock.

    Due: ``pending`` with ``next_attempt_at <= now`` (business time: backoff), or ``sending`` whose
    lease ran out by the **database's** clock (its owner died). No attempt is counted here: a
    crash between claim and send costs no retry. ``ids`` / ``incident`` (a public id) narrow the
    claim, e.g. to deliver what one web request just queued; ``exclude`` skips rows this
    dispatch already handled.
    """
    with transaction(app.engine) as session:
        clock = db_now(session)
        expired = or_(Notification.lease_until.is_(None), Notification.lease_until <= clock)
        due = or_(
            and_(
                Notification.status == NotificationStatus.PENDING,
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            ),
            and_(Notification.status == NotificationStatus.SENDING, expired),
        )
        query = select(Notification).where(due)
        if ids is not None:
            query = query.where(Notification.id.in_(ids))
        if exclude:
            query = query.where(Notification.id.not_in(list(exclude)))
        if incident is not None:
            inc_id = select(Incident.id).where(Incident.public_id == incident.strip().upper()).scalar_subquery()
            query = query.where(Notification.incident_id == inc_id)
        query = for_update(query.order_by(Notification.id).limit(limit), skip_locked=True)
        rows = list(session.execute(query).scalars())
        claim_id, until = _new_claim_id(), clock + lease_of(app)
        for row in rows:
            row.status, row.claim_id, row.lease_until = NotificationStatus.SENDING, claim_id, until
            session.add(row)
        return Claim(claim_id, [r.id for r in rows])


def _owned(session: Session, nid: int, claim_id: str) -> Notification | None:
    """The row, locked, if ``claim_id`` still owns it (the fence before sending and before recording)."""
    query = select(Notification).where(
        Notification.id == nid, Notification.claim_id == claim_id, Notification.status == NotificationStatus.SENDING
    )
    return session.execute(for_update(query)).scalar_one_or_none()


def renew(app: App, nid: int, claim_id: str) -> bool:
    """Extend the lease of a row ``claim_id`` still owns; False when the claim was taken over."""
    with transaction(app.engine) as session:
        until = db_now(session) + lease_of(app)
        renewed = rows_changed(
            session,
            update(Notification)
            .where(
                Notification.id == nid,
                Notification.claim_id == claim_id,
                Notification.status == NotificationStatus.SENDING,
            )
            .values(lease_until=until),
        )
        return renewed == 1


class LeaseKeeper:
    """While a provider call is in flight, renew the row's lease every third of the lease."""

    def __init__(self, app: App, nid: int, claim_id: str):
        self.app, self.nid, self.claim_id = app, nid, claim_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{nid}", daemon=True)

    def _run(self) -> None:
        interval = lease_of(self.app).total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                if not renew(self.app, self.nid, self.claim_id):
                    return
            except Exception:
                log.warning("could not renew the lease of notification %s", self.nid, exc_info=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def dispatch(
    app: App,
    *,
    now: datetime,
    notifiers: dict[str, Notifier],
    limit: int = 500,
    rng: random.Random | None = None,
    ids: list[int] | None = None,
    incident: str | None = None,
    held: list[int] | None = None,
) -> list[DispatchEvent]:
    """Deliver due rows (or the given ``ids`` / one ``incident``'s rows), at most ``limit`` per call.

    First the time-based fallbacks (own transaction). Then rows are claimed :data:`CLAIM_BATCH` at
    a time, so a batch is sent well within its lease and a crash parks few rows; rows that
    delivering queues for ``now`` — a fallback copy, a Slack update, a delivery alert — are
    claimed by the next batch of the same call. Each row is handled at most once per call.
    """
    rng = rng or random.Random()
    events: list[DispatchEvent] = []
    retry_on_disconnect(lambda: fallback_overdue_tx(app, now=now))
    if ids is None:  # the incident thread (HOKOKU_SLACK_INCIDENT_CHANNEL): parent, replies, update
        retry_on_disconnect(lambda: sync_threads_tx(app, now=now, incident=incident))
    if ids is None and incident is None:  # a full dispatch: outage alerts and recovery notices
        retry_on_disconnect(lambda: check_channels(app, now=now))
    handled: set[int] = set()
    while len(handled) < limit:
        batch = claim(
            app, now=now, limit=min(CLAIM_BATCH, limit - len(handled)), ids=ids, incident=incident, exclude=handled
        )
        if not batch.ids:
            break
        handled.update(batch.ids)
        for nid in batch.ids:
            events.append(deliver_one(app, nid, now=now, notifiers=notifiers, rng=rng, claim_id=batch.claim_id))
    if held is not None:  # the caller may try these again once the older messages are out
        held.extend(e.notification_id for e in events if e.outcome == "held")
    return [e for e in events if e.outcome not in ("superseded", "held")]


def sync_threads_tx(app: App, *, now: datetime, incident: str | None = None) -> None:
    """Queue the incident-thread rows due (own transaction; nothing without an incident channel)."""

    if incidentthread.channel_of(app) is None:
        return
    with transaction(app.engine) as session:
        incidentthread.sync(app, session, now=now, incident=incident)


def fallback_overdue_tx(app: App, *, now: datetime) -> None:
    """Queue the time-based fallbacks in a transaction of their own (before claiming)."""
    with transaction(app.engine) as session:
        fallback_overdue(app, session, now=now)


# -- what one row becomes ------------------------------------------------------------------
@dataclass
class Delivery:
    """One prepared delivery: a message to send, a Slack message to update, or nothing (cancel)."""

    op: str  # send | update (acknowledged DM) | refresh (the incident thread's parent) | cancel
    message: OutgoingMessage | None = None
    target: str | None = None
    update: dict = field(default_factory=dict)
    reason: str | None = None

    @property
    def has_ack_button(self) -> bool:
        return self.message is not None and any(a.action_id == "acknowledge" for a in self.message.actions)


def _stage_row(session: Session, row: Notification, *, lock: bool = False) -> Stage | None:
    if row.incident_id is None or row.stage_code is None:
        return None
    query = select(Stage).where(Stage.incident_id == row.incident_id, Stage.code == row.stage_code)
    if lock:  # serialises with an acknowledgement (which locks its stages) on PostgreSQL
        query = for_update(query)
    return session.execute(query).scalar_one_or_none()


def ack_token_for(app: App, row: Notification, incident_public_id: str, *, now: datetime) -> str:
    """The signed link token of an email row: bound to recipient, incident and stage; one per row."""
    digest = hashlib.sha256(row.idempotency_key.encode()).hexdigest()[:12]
    return issue_token(
        key=app.keyring.current.token_key,
        person_email=row.recipient_email,
        incident_id=incident_public_id,
        stage_code=row.stage_code or "",
        issued_at=now,
        ttl=timedelta(hours=app.settings.ack_link_ttl_hours),
        nonce=f"n{row.id}-{digest}",
    )


def with_ack_link(text: str, *, token: str, url_base: str, lang: str) -> str:
    """Put the token where the template left :data:`ACK_TOKEN_PLACEHOLDER` (its last occurrence
    in hokoku's own text, before any quotation of user text), or add a link line before the
    quotation of a body without one."""

    own, quoted = split_quote(text)
    at = own.rfind(ACK_TOKEN_PLACEHOLDER)
    if at >= 0:
        return own[:at] + token + own[at + len(ACK_TOKEN_PLACEHOLDER) :] + quoted
    label = t("action.link", lang)
    link = f"{own.rstrip()}\n\n{label}: {url_base.rstrip('/')}/ack/{token}\n"
    return f"{link}\n{quoted}" if quoted else link


def without_ack_link(text: str) -> str:
    """Drop the line holding the link placeholder (a body rendered for email, sent elsewhere)."""

    own, quoted = split_quote(text)
    at = own.rfind(ACK_TOKEN_PLACEHOLDER)
    if at < 0:
        return text
    start = own.rfind("\n", 0, at) + 1
    end = own.find("\n", at)
    return own[:start] + (own[end + 1 :] if end >= 0 else "") + quoted


def _actions(app: App, row: Notification, incident: Incident | None, stage: Stage | None) -> tuple[Action, ...]:
    if incident is None:
        return ()
    labels = section("action", row.lang)
    pid = incident.public_id
    out = []
    if (row.kind in ACK_KINDS or row.kind == "overdue") and stage is not None and stage.status in chain.ACTIVE:
        value = f"{pid}|{stage.code}"
        if stage.acknowledged_at is None:
            out.append(Action("acknowledge", labels.text("acknowledge"), value=value))

            if incident_policy(incident).stage(stage.code).completed_by == "advance":
                out.append(Action("mark_done", labels.text("mark_done"), value=value))
    out.append(Action("open", labels.text("open"), url=f"{app.settings.public_url.rstrip('/')}/incidents/{pid}"))
    return tuple(out)


#: Kinds that no longer apply once their incident is closed.
_INCIDENT_BOUND = frozenset(
    {"notify", "reminder", "escalation", "overdue", "due_warning", "task_due_soon", "task_overdue"}
)


def stale_reason(session: Session, row: Notification, incident: Incident | None, stage: Stage | None) -> str | None:
    """Why ``row`` no longer applies now that it could be sent (None: it still does).

    A reminder or escalation whose stage was acknowledged or closed; an overdue notice or a
    first notice whose stage was closed; a stage message of a closed incident; a reminder with
    a newer reminder for the same person, stage and channel queued; a one-channel message
    already delivered on the other channel (the fallback copy reached the person first).
    """
    if (
        row.kind in _FOLLOW_UPS
        and stage is not None
        and (stage.acknowledged_at is not None or stage.status in chain.CLOSED)
    ):
        who = stage.acknowledged_by or stage.completed_by or "-"
        return f"stage {stage.code} was acknowledged ({who}) before delivery"
    if row.channel not in REAL_CHANNELS:  # the outbox channel is a record, not a delivery: kept whole
        return None
    if row.kind in ("overdue", "notify") and stage is not None and stage.status in chain.CLOSED:
        return f"stage {stage.code} was {stage.status} before delivery"
    if row.kind in _INCIDENT_BOUND and incident is not None and incident.status == IncidentStatus.CLOSED:
        return f"incident {incident.public_id} was closed before delivery"
    if row.kind == "reminder" and row.stage_code is not None:
        newer = session.execute(
            select(Notification.id)
            .where(
                Notification.kind == "reminder",
                Notification.incident_id == row.incident_id,
                Notification.stage_code == row.stage_code,
                Notification.recipient_email == row.recipient_email,
                Notification.channel == row.channel,
                Notification.id > row.id,
                Notification.status.in_(
                    (NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.SENT)
                ),
            )
            .limit(1)
        ).first()
        if newer:
            return "a newer reminder for this stage was queued"
    fallback_pair = row.fallback_of is not None or row.fell_back_at is not None
    if row.kind not in ACK_KINDS and (fallback_pair or row.kind in ("channel_down", "channel_up")):
        base = row.base_key or base_key(row.idempotency_key)
        other = session.execute(
            select(Notification.channel)
            .where(
                Notification.base_key == base,
                Notification.channel != row.channel,
                Notification.status == NotificationStatus.SENT,
            )
            .limit(1)
        ).scalar()
        if other:
            return f"already delivered by {other}"
    return None


def older_undelivered(session: Session, row: Notification) -> Notification | None:
    """An older message to the same person on the same channel still waiting: ``row`` goes after it."""
    if row.kind in _THREAD_KINDS:  # the thread's rows go in order: the parent, then its replies
        return session.execute(
            select(Notification)
            .where(
                Notification.recipient_email == row.recipient_email,
                Notification.channel == row.channel,
                Notification.id < row.id,
                Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)),
                Notification.incident_id == row.incident_id,
                Notification.kind.in_(sorted(_THREAD_KINDS)),
            )
            .order_by(Notification.id)
            .limit(1)
        ).scalar_one_or_none()
    if row.kind in _NO_FALLBACK or row.channel not in REAL_CHANNELS:
        return None
    return session.execute(
        select(Notification)
        .where(
            Notification.recipient_email == row.recipient_email,
            Notification.channel == row.channel,
            Notification.id < row.id,
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)),
            Notification.kind.not_in(_NO_FALLBACK),
        )
        .order_by(Notification.id)
        .limit(1)
    ).scalar_one_or_none()


def prepare(app: App, session: Session, row: Notification, *, now: datetime) -> Delivery:
    """Decide what delivering ``row`` means right now (pure reads; no side effects)."""
    incident = session.get(Incident, row.incident_id) if row.incident_id else None
    stage = _stage_row(session, row)
    stale = stale_reason(session, row, incident, stage)
    if stale is not None:
        return Delivery("cancel", reason=stale)
    if row.kind in _THREAD_KINDS:
        return _prepare_thread(app, session, row, incident)
    people = app.organisation(session).people()
    subject = app.keyring.decrypt(row.subject_enc, field="notification.subject", bind=row.idempotency_key) or ""
    text = app.keyring.decrypt(row.body_enc, field="notification.body", bind=row.idempotency_key) or ""
    if row.kind == slackops.ACK_UPDATE:
        meta = row.meta or {}
        by = meta.get("by") or "-"
        at = datetime.fromisoformat(meta["at"]).astimezone(JST) if meta.get("at") else now.astimezone(JST)
        return Delivery(
            "update",
            target=meta.get("target"),
            update={
                "text": without_ack_link(text),
                "subject": subject,
                "lang": row.lang,
                "who": people[by].name if by in people else by,
                "at": at,
            },
        )
    pid = incident.public_id if incident else None
    if row.channel == "email" and row.kind in ACK_KINDS and pid and row.stage_code:
        token = ack_token_for(app, row, pid, now=now)
        text = with_ack_link(text, token=token, url_base=app.settings.public_url, lang=row.lang)
    else:
        text = without_ack_link(text)
    person = people.get(row.recipient_email)
    message = OutgoingMessage(
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        kind=row.kind,
        lang=row.lang,
        recipient_email=row.recipient_email,
        recipient_name=person.name if person else row.recipient_email,
        recipient_slack_id=person.slack_id if person else None,
        subject=subject,
        text=text,
        incident_id=pid,
        stage_code=row.stage_code,
        thread_ref=slackops.thread_ref_for(session, row),
        actions=_actions(app, row, incident, stage) if row.channel == "slack" else (),
    )
    return Delivery("send", message=message)


def _prepare_thread(app: App, session: Session, row: Notification, incident: Incident | None) -> Delivery:
    """The incident thread: the parent (current state), a reply under it, or an update of it."""

    if incident is None:
        return Delivery("cancel", reason="no incident")
    conversation = (row.meta or {}).get("conversation")
    parent = incidentthread.parent_ref(session, row)
    if row.kind == incidentthread.UPDATE:
        if parent is None:
            return Delivery("cancel", reason="the incident thread has no parent message")
        subject, text = incidentthread.parent_message(app, session, incident)
        return Delivery("refresh", target=parent, update={"subject": subject, "text": text})
    if row.kind == incidentthread.PARENT:
        subject, text = incidentthread.parent_message(app, session, incident)
    else:
        subject = app.keyring.decrypt(row.subject_enc, field="notification.subject", bind=row.idempotency_key) or ""
        text = app.keyring.decrypt(row.body_enc, field="notification.body", bind=row.idempotency_key) or ""
    labels = section("action", row.lang)
    url = f"{app.settings.public_url.rstrip('/')}/incidents/{incident.public_id}"
    message = OutgoingMessage(
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        kind=row.kind,
        lang=row.lang,
        recipient_email=row.recipient_email,
        recipient_name=row.recipient_email,
        subject=subject,
        text=text,
        incident_id=incident.public_id,
        conversation=conversation,
        thread_ref=parent if row.kind == incidentthread.REPLY else None,
        actions=(Action("open", labels.text("open"), url=url),) if row.kind == incidentthread.PARENT else (),
    )
    return Delivery("send", message=message)


# -- delivering one row --------------------------------------------------------------------
def _attempt(delivery: Delivery, notifier: Notifier | None, channel: str) -> str:
    if notifier is None:
        raise DeliveryError(f"no notifier configured for channel {channel!r}", permanent=True)
    if delivery.op == "update":
        update = getattr(notifier, "update_acknowledged", None)
        if update is None:
            raise DeliveryError(f"channel {channel!r} cannot update a delivered message", permanent=True)
        if not delivery.target:
            raise DeliveryError("no message to update", permanent=True)
        return update(delivery.target, **delivery.update).provider_id
    if delivery.op == "refresh":
        refresh = getattr(notifier, "update_message", None)
        if refresh is None or not delivery.target:
            raise DeliveryError(f"channel {channel!r} cannot update the incident thread", permanent=True)
        return refresh(delivery.target, **delivery.update).provider_id
    if delivery.message is None:
        raise DeliveryError(f"nothing to send ({delivery.op})", permanent=True)
    return notifier.send(delivery.message).provider_id


def deliver_one(
    app: App, nid: int, *, now: datetime, notifiers: dict[str, Notifier], rng: random.Random, claim_id: str
) -> DispatchEvent:
    """Deliver one claimed row: fence and count the attempt, send (lease kept alive), fence and record.

    Lock order (``hokoku.store.locking``): the outbox row, then the audit head; when recording a Slack
    message with buttons, the stage row first (so an acknowledgement and this record see each
    other), then the outbox row, then the audit head.
    """
    with transaction(app.engine) as session:
        row = _owned(session, nid, claim_id)
        if row is None:  # the lease ran out and another dispatcher took the row: not ours to send
            log.warning("notification %s: claim %s was taken over before sending; not sent", nid, claim_id)
            return DispatchEvent(nid, "", "", "", "superseded")
        delivery = prepare(app, session, row, now=now)
        pid = session.get_one(Incident, row.incident_id).public_id if row.incident_id else None
        ahead = older_undelivered(session, row) if delivery.op in ("send", "refresh") else None
        if ahead is not None:  # per person and channel, messages go in the order they were queued
            row.status, row.claim_id, row.lease_until = NotificationStatus.PENDING, None, None
            row.next_attempt_at = max(now, ahead.next_attempt_at or now)
            session.add(row)
            return DispatchEvent(
                nid,
                row.idempotency_key,
                row.channel,
                row.recipient_email,
                "held",
                error=f"waits for {ahead.idempotency_key}",
            )
        if delivery.op == "cancel":
            row.status, row.last_error, row.claim_id, row.lease_until = (
                NotificationStatus.CANCELLED,
                delivery.reason,
                None,
                None,
            )
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor="hokoku:dispatch",
                action="notification.cancelled",
                incident=pid,
                data={"key": row.idempotency_key, "channel": row.channel, "reason": delivery.reason},
            )
            return DispatchEvent(
                nid, row.idempotency_key, row.channel, row.recipient_email, "cancelled", error=delivery.reason
            )
        # The attempt is counted now, just before the call, and the lease starts afresh.
        row.attempts += 1
        row.lease_until = db_now(session) + lease_of(app)
        session.add(row)
    provider_id, error = None, None
    with LeaseKeeper(app, nid, claim_id):
        try:
            provider_id = _attempt(delivery, notifiers.get(row.channel), row.channel)
        except DeliveryError as exc:
            error = exc
    with transaction(app.engine) as session:
        stage = _stage_row(session, row, lock=True) if error is None and delivery.has_ack_button else None
        row = _owned(session, nid, claim_id)
        if row is None:  # taken over while we were sending (our lease was not renewed in time)
            log.warning("notification %s: claim %s was taken over while sending; not recorded", nid, claim_id)
            return DispatchEvent(nid, "", "", "", "superseded")
        row.claim_id, row.lease_until = None, None
        if error is None:
            row.status, row.sent_at, row.provider_id, row.last_error = NotificationStatus.SENT, now, provider_id, None
            outcome = "sent"
            session.add(row)
            if delivery.has_ack_button:  # acknowledged while this was in flight: take the buttons away
                slackops.enqueue_late_update(session, row, stage, now=now, keyring=app.keyring)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor="hokoku:dispatch",
                action="notification.sent",
                incident=pid,
                data={"key": row.idempotency_key, "channel": row.channel, "provider_id": provider_id},
            )
        elif error.permanent or row.attempts >= (
            MAX_ATTEMPTS if error.retry_after is None else MAX_RATE_LIMITED_ATTEMPTS
        ):
            row.status, row.last_error = NotificationStatus.FAILED, str(error)[:1000]
            outcome = "failed"
            audit.append(
                session,
                app.keyring,
                at=now,
                actor="hokoku:dispatch",
                action="notification.failed",
                incident=pid,
                data={
                    "key": row.idempotency_key,
                    "channel": row.channel,
                    "attempts": row.attempts,
                    "error": str(error)[:300],
                },
            )
            session.add(row)
            session.flush()
            after_failure(app, session, row, now=now)
        else:
            row.status, row.last_error = NotificationStatus.PENDING, str(error)[:1000]
            row.next_attempt_at = now + backoff(row.attempts, rng=rng, retry_after=error.retry_after)
            outcome = "retry"
        session.add(row)
        return DispatchEvent(
            nid,
            row.idempotency_key,
            row.channel,
            row.recipient_email,
            outcome,
            provider_id,
            None if error is None else str(error),
        )


# -- fallback and alerts -------------------------------------------------------------------
def _other_channels(app: App, channel: str) -> list[str]:
    return [c for c in delivery_channels(app) if c in REAL_CHANNELS and c != channel]


def enqueue_fallback(
    app: App, session: Session, row: Notification, *, now: datetime, reason: str
) -> list[Notification]:
    """Queue ``row``'s message on the other configured channels (once per key); mark ``row``."""
    base = row.base_key or base_key(row.idempotency_key)
    added = []
    for channel in _other_channels(app, row.channel):
        key = f"{base}:{channel}"
        if session.execute(select(Notification.id).where(Notification.idempotency_key == key)).first():
            continue
        copy = Notification(
            idempotency_key=key,
            base_key=base,
            incident_id=row.incident_id,
            stage_code=row.stage_code,
            kind=row.kind,
            channel=channel,
            recipient_email=row.recipient_email,
            lang=row.lang,
            subject_enc=app.keyring.rebind(
                row.subject_enc, field="notification.subject", source=row.idempotency_key, target=key
            ),
            body_enc=app.keyring.rebind(
                row.body_enc, field="notification.body", source=row.idempotency_key, target=key
            ),
            status=NotificationStatus.PENDING,
            created_at=now,
            next_attempt_at=now,
            fallback_of=row.id,
            meta=row.meta,
        )
        try:
            with session.begin_nested():  # a concurrent dispatcher may have queued the same copy
                session.add(copy)
                session.flush()
        except IntegrityError:
            continue
        added.append(copy)
        pid = session.get_one(Incident, row.incident_id).public_id if row.incident_id else None
        audit.append(
            session,
            app.keyring,
            at=now,
            actor="hokoku:dispatch",
            action="notification.fallback",
            incident=pid,
            data={"key": row.idempotency_key, "from": row.channel, "to": channel, "reason": reason},
        )
    row.fell_back_at = now
    session.add(row)
    session.flush()
    return added


def fallback_overdue(app: App, session: Session, *, now: datetime) -> list[Notification]:
    """Fall back for Slack/email rows still undelivered ``fallback_after`` after they were queued."""
    minutes = app.settings.fallback_after_minutes
    if not minutes or len([c for c in delivery_channels(app) if c in REAL_CHANNELS]) < 2:
        return []
    cutoff = now - timedelta(minutes=minutes)
    query = (
        select(Notification)
        .where(
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENDING)),
            Notification.channel.in_(REAL_CHANNELS),
            Notification.kind.not_in(_NO_FALLBACK),
            Notification.fell_back_at.is_(None),
            Notification.created_at <= cutoff,
        )
        .order_by(Notification.id)
    )
    late = session.execute(for_update(query, skip_locked=True)).scalars()
    added = []
    for row in list(late):
        added += enqueue_fallback(app, session, row, now=now, reason=f"not delivered within {minutes:g} minutes")
    return added


def after_failure(app: App, session: Session, row: Notification, *, now: datetime) -> None:
    """A row failed for good: fall back to another channel, or alert when every channel failed."""
    if row.channel not in REAL_CHANNELS or row.kind in _NO_FALLBACK:
        return
    if enqueue_fallback(app, session, row, now=now, reason="failed"):
        return
    base = row.base_key or base_key(row.idempotency_key)
    siblings = list(
        session.execute(
            select(Notification).where(Notification.idempotency_key.in_([f"{base}:{c}" for c in CHANNELS]))
        ).scalars()
    )
    if any(s.status != NotificationStatus.FAILED for s in siblings):
        return  # delivered, still trying, or no longer needed elsewhere
    alert_undeliverable(app, session, base, siblings, now=now)


def alert_undeliverable(
    app: App, session: Session, base: str, failed: list[Notification], *, now: datetime
) -> list[Notification]:
    """Tell the general manager (on every channel) that a message could not be delivered at all."""
    first = failed[0]
    incident = session.get(Incident, first.incident_id) if first.incident_id else None
    org = app.organisation(session)
    gm = org.general_manager
    recipients = [gm.email]
    if first.recipient_email == gm.email and gm.deputy:
        recipients.append(gm.deputy.email)
    rows: list[Notification] = []
    if incident is not None:
        ctx = MessageContext.for_incident(app, session, incident)
        people = org.people()
        person = people.get(first.recipient_email)
        failures = [{"channel": r.channel, "error": (r.last_error or "-")[:300]} for r in failed]
        for email in recipients:
            rows += enqueue(
                session,
                app,
                ctx,
                kind="delivery_alert",
                recipient=email,
                key=f"{base}:delivery_alert:{email}",
                now=now,
                stage=_stage_row(session, first),
                channels=delivery_channels(app),
                meta={"failed": base},
                failed_kind=first.kind,
                failed_recipient_name=person.name if person else first.recipient_email,
                failed_recipient_email=first.recipient_email,
                failures=failures,
            )
    audit.append(
        session,
        app.keyring,
        at=now,
        actor="hokoku:dispatch",
        action="notification.undeliverable",
        incident=incident.public_id if incident else None,
        data={"key": base, "channels": sorted({r.channel for r in failed}), "alerted": recipients},
    )
    return rows
