"""Operating the audit log: public keys, checkpoints, key rotation, verification, the daily
checkpoint message, and the clock rules for ``--now``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from hokoku.clock import utcnow
from hokoku.core.exceptions import ConfigError, InputError
from hokoku.core.jpcalendar import japan_date
from hokoku.core.statuses import NotificationStatus
from hokoku.core.timeutil import as_utc, fmt_jst, iso
from hokoku.models.audit import AuditEvent, AuditHead
from hokoku.models.meta import HokokuMeta
from hokoku.models.notification import Notification
from hokoku.security import audit, checkpoints
from hokoku.security.auditkeys import prepend_new_key, read_public_keys, write_public_keys
from hokoku.security.crypto import verify_signature
from hokoku.services.notifications import channels_for
from hokoku.store.db import transaction

log = logging.getLogger(__name__)

#: How far ``--now`` may be from the real clock outside a demo database.
MAX_CLOCK_SKEW = timedelta(minutes=5)
CHECKPOINT_KIND = "audit_checkpoint"


# -- public keys --------------------------------------------------------------------------
def public_keys(app) -> dict[str, str]:
    """``{key_id: public key hex}`` of every audit key this database's chain names."""
    with transaction(app.engine) as session:
        return {k["key_id"]: k["public_key"] for k in audit.chain_keys(session) if k["key_id"] and k["public_key"]}


def list_keys(app) -> dict:
    """What ``hokoku audit keys`` prints: every key the chain names, and which one signs now."""
    with transaction(app.engine) as session:
        keys = audit.chain_keys(session)
        head = session.get(AuditHead, 1)
    return {"keys": keys, "current": head.key_id if head else None}


def publish_public_keys(app) -> Path:
    """(Re)write ``audit-public-keys.json`` with the chain's keys, keeping any already listed."""
    path = app.settings.public_keys_file
    keys = {}
    if path.exists():
        try:
            keys = read_public_keys(path)
        except ConfigError:
            keys = {}
    keys.update(public_keys(app))
    write_public_keys(path, keys)
    return path


# -- set-up, upgrade and rotation ---------------------------------------------------------
def record_key(app, *, now: datetime, actor: str, action: str = "audit.key_in_force") -> dict:
    """Append one event so that the signer's current key is recorded in the chain and the head
    is signed with it (after ``init``, ``db upgrade`` or a rotation); publish the public keys."""
    with transaction(app.engine) as session:
        head = session.get(AuditHead, 1)
        current = app.keyring.signer.current.key_id
        if head is None or head.key_id != current or not head.signature:
            audit.append(session, app.keyring, at=now, actor=actor, action=action, data={"key_id": current})
    path = publish_public_keys(app)
    return {"key_id": current, "public_keys": str(path)}


def rotate_key(app, *, now: datetime, actor: str) -> dict:
    """A new audit key becomes current; the change is an event signed by the old key.

    With the key file, a new key is generated and put first in it. With
    ``HOKOKU_AUDIT_SIGNING_KEY``, the operator has put a new key first (the old one after it):
    the change is recorded now. Either way the public-key file is rewritten.
    """

    with transaction(app.engine) as session:
        head = session.get(AuditHead, 1)
        old = audit.active_key(session, head) if head else None
    if app.settings.audit_signing_key is None:
        prepend_new_key(app.settings.audit_key_file)
        app.keyring.__dict__.pop("signer", None)  # reload the key file
    elif app.keyring.signer.current.key_id == old:
        raise InputError(
            "HOKOKU_AUDIT_SIGNING_KEY: its first key is already the chain's key; put a new key first "
            "(keep the old one after it), then run this again"
        )
    result = record_key(app, now=now, actor=actor, action="audit.key_rotated")
    write_checkpoint(app, force=True)
    return {"previous": old, **result}


def mark_demo(session, demo: bool) -> None:
    session.merge(HokokuMeta(name="demo", value="1" if demo else "0"))


def is_demo(app) -> bool:
    with transaction(app.engine) as session:
        row = session.get(HokokuMeta, "demo")
        return row is not None and row.value == "1"


# -- checkpoints --------------------------------------------------------------------------
def write_checkpoint(app, *, force: bool = False):
    """A checkpoint of the head, after checking that the head is ours and has not gone back."""

    with transaction(app.engine) as session:
        head = session.get(AuditHead, 1)
        if head is None:
            return None
        seq, digest, key_id, signature = head.seq, head.hash, head.key_id, head.signature
    pubs = app.keyring.signer.public_keys()
    if not key_id or not verify_signature(pubs, key_id, audit.head_message(seq, digest), signature or ""):
        raise ConfigError(
            f"the audit head (seq {seq}) is not signed by this process's audit key: no checkpoint "
            "written (run `hokoku audit verify`)"
        )
    last = app._cache.get("last_checkpoint") or checkpoints.last_line(checkpoints.checkpoint_file(app))
    if last and int(last.get("seq", 0)) > seq and _head_seq(app) < int(last["seq"]):  # (not a concurrent sweeper)
        raise ConfigError(
            f"the audit head (seq {seq}) is behind the last checkpoint (seq {last['seq']}): events were "
            "deleted; no checkpoint written (run `hokoku audit verify`)"
        )
    if not force and last and int(last.get("seq", 0)) >= seq:
        return None  # nothing new (or a concurrent sweeper wrote a newer one)
    cp = checkpoints.make(app.keyring, seq=seq, digest=digest)
    checkpoints.append_line(checkpoints.checkpoint_file(app), cp)
    app._cache["last_checkpoint"] = cp.to_json()
    return cp


def _head_seq(app) -> int:
    with transaction(app.engine) as session:
        head = session.get(AuditHead, 1)
        return head.seq if head else 0


def sweep_checkpoint(app, *, now: datetime, live: bool) -> dict | None:
    """At every sweep: a checkpoint when the head moved; on live sweeps the day's message to
    the audit officer. Never stops the sweep."""
    try:
        cp = write_checkpoint(app)
        sent = queue_daily_checkpoint(app, now=now) if live else None
    except Exception as exc:
        log.error("hokoku audit checkpoint failed: %s", exc)
        return {"error": str(exc)}
    return {"checkpoint": cp.to_json() if cp else None, "mailed": sent}


def queue_daily_checkpoint(app, *, now: datetime) -> list[str]:
    """Once a day (Japan date), the newest checkpoint to the audit officer through the outbox.

    The message holds the sequence number, hash, time and key id only: no personal data.
    """

    last = app._cache.get("last_checkpoint") or checkpoints.last_line(checkpoints.checkpoint_file(app))
    if not last:
        return []
    day = japan_date(now).isoformat()
    with transaction(app.engine) as session:
        officer = app.organisation(session).audit_officer
        base = f"audit:checkpoint:{day}:{officer.email}"
        if session.execute(select(Notification.id).where(Notification.base_key == base).limit(1)).first():
            return []
        lang = app.settings.lang
        subject, body = app.renderer.message(
            CHECKPOINT_KIND,
            lang,
            recipient={"name": officer.name, "email": officer.email},
            checkpoint=last,
            line=_json_line(last),
            day=day,
            written_at=fmt_jst(datetime.fromisoformat(last["at"])),
        )
        keys = []
        for channel in channels_for(app, CHECKPOINT_KIND):
            key = f"{base}:{channel}"
            session.add(
                Notification(
                    idempotency_key=key,
                    base_key=base,
                    incident_id=None,
                    stage_code=None,
                    kind=CHECKPOINT_KIND,
                    channel=channel,
                    recipient_email=officer.email,
                    lang=lang,
                    subject_enc=app.keyring.encrypt(subject, field="notification.subject", bind=key),
                    body_enc=app.keyring.encrypt(body, field="notification.body", bind=key),
                    status=NotificationStatus.PENDING,
                    created_at=now,
                    next_attempt_at=now,
                    meta={"seq": last["seq"]},
                )
            )
            keys.append(key)
        session.flush()
        audit.append(
            session,
            app.keyring,
            at=now,
            actor="hokoku:sweep",
            action="audit.checkpoint_mailed",
            data={"seq": last["seq"], "to": officer.email, "keys": keys},
        )
        return keys


def _json_line(cp: dict) -> str:
    import json

    return json.dumps({k: cp[k] for k in ("seq", "hash", "at", "key_id", "signature")}, separators=(",", ":"))


# -- verification -------------------------------------------------------------------------
def verify(
    app,
    *,
    public_keys_file: Path | None = None,
    checkpoint_file: Path | None = None,
    public_keys: dict[str, str] | None = None,
) -> audit.VerifyResult:
    """Verify against public keys from outside (``--public-keys``) or the local public-key file,
    and against the local checkpoints plus any checkpoint file given. Needs no secret."""
    keys = public_keys
    if keys is None:
        path = public_keys_file or app.settings.public_keys_file
        if not path.exists():
            raise ConfigError(f"{path}: no public keys; pass --public-keys FILE (from `hokoku audit keys --json`)")
        keys = read_public_keys(path)
    cps = []
    local = checkpoints.checkpoint_file(app)
    if local.exists():
        cps.extend(checkpoints.read_file(local))
    if checkpoint_file is not None:
        cps.extend(checkpoints.read_file(checkpoint_file))
    with transaction(app.engine) as session:
        return audit.verify(session, keys, checkpoints=cps)


# -- truthful time ------------------------------------------------------------------------
def check_now(app, now: datetime, *, incident: str | None = None, real: datetime | None = None) -> None:
    """Refuse (one line) a simulated ``now`` that would make the record untruthful.

    Outside a demo database it must be within :data:`MAX_CLOCK_SKEW` of the real clock (unless
    ``HOKOKU_ALLOW_SIMULATED_TIME=1``); and it may never be earlier than the incident's latest
    recorded event.
    """
    real = real or utcnow()
    if abs(now - real) > MAX_CLOCK_SKEW and not app.settings.allow_simulated_time and not is_demo(app):
        raise InputError(
            f"--now {iso(now)} is more than {int(MAX_CLOCK_SKEW.total_seconds() // 60)} minutes from the "
            "real clock: simulated time is only for demo databases (or set HOKOKU_ALLOW_SIMULATED_TIME=1)"
        )
    if incident:
        with transaction(app.engine) as session:
            latest = session.execute(
                select(func.max(AuditEvent.at)).where(AuditEvent.incident_public_id == incident.strip().upper())
            ).scalar()
        if latest is not None:
            latest = as_utc(latest)
            if now < latest:
                raise InputError(
                    f"--now {iso(now)} is before the latest recorded event of {incident.strip().upper()} "
                    f"({iso(latest)}): the record's time cannot run backwards"
                )
