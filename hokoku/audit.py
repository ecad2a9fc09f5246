"""Append-only, hash-chained, signed audit log.

Each event's hash is SHA-256 over the previous hash and the event's canonical JSON; the hash
is signed with the current audit key (Ed25519). ``verify`` recomputes the chain and checks
each signature with the public keys, so an edited, deleted or inserted row is found offline.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from hokoku.crypto import Keyring, verify_signature
from hokoku.timeutil import as_utc
from models.audit import AuditEvent, AuditHead

GENESIS = "0" * 64


def canonical(seq: int, at: datetime, actor: str, action: str, incident: str | None, data: dict) -> bytes:
    body = {
        "seq": seq,
        "at": as_utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "incident": incident,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + payload).hexdigest()


def append(
    session: Session,
    keyring: Keyring,
    *,
    at: datetime,
    actor: str,
    action: str,
    incident: str | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (commits with the change it records).

    Data must not hold personal data in clear: callers pass ids, codes and counts.
    """
    data = data or {}
    # Taking the head row with an UPDATE first locks it (PostgreSQL) so appenders queue up.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    seq = head.seq + 1
    digest = chain_hash(head.hash, canonical(seq, at, actor, action, incident, data))
    key_id, signature = keyring.sign(digest.encode())
    event = AuditEvent(
        seq=seq, at=at, actor=actor, action=action, incident_public_id=incident, data=data,
        prev_hash=head.hash, hash=digest, key_id=key_id, signature=signature,
    )
    session.add(event)
    head.seq, head.hash = seq, digest
    session.add(head)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str | None = None

    def message(self) -> str:
        if self.ok:
            return f"OK: {self.events} audit events, chain and signatures verified"
        return f"FAILED at audit event seq {self.bad_seq} (row id {self.bad_id}): {self.reason}"


def verify(session: Session, public_keys: dict[str, str], *, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; name the first event that does not verify and why."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    last_id = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            last_id = ev.id
            count += 1
            if ev.seq != expected_seq:
                what = "missing (deleted?)" if ev.seq > expected_seq else "out of order"
                return VerifyResult(False, count, ev.seq, ev.id, f"event seq {expected_seq} is {what}")
            if ev.prev_hash != expected_prev:
                return VerifyResult(False, count, ev.seq, ev.id, "prev_hash does not match the previous event")
            digest = chain_hash(ev.prev_hash, canonical(ev.seq, ev.at, ev.actor, ev.action, ev.incident_public_id, ev.data))
            if digest != ev.hash:
                return VerifyResult(False, count, ev.seq, ev.id, "content does not match its hash (edited)")
            if not verify_signature(public_keys, ev.key_id, ev.hash.encode(), ev.signature):
                return VerifyResult(False, count, ev.seq, ev.id, "signature does not verify")
            expected_prev, expected_seq = ev.hash, ev.seq + 1
        session.expunge_all()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        return VerifyResult(False, count, head.seq, None, "the last events were deleted (head does not match)")
    return VerifyResult(True, count)
