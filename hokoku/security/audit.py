"""Append-only, hash-chained, signed audit log, anchored outside the database.

Each event's hash is SHA-256 over the previous hash and the event's canonical JSON (which
includes ``recorded_at``, the real wall-clock time of the append, beside the effective ``at``);
the hash is signed with the audit key (:mod:`hokoku.security.auditkeys`, Ed25519, not derived from the
data key). The head row (last seq and hash) is signed too. Key changes are events of the chain:
``audit.key`` names the new key and is signed by the key before it (the first one by itself).

``verify`` needs public keys only. It names the first event that does not verify and why, and
also fails when the head is missing, unsigned or not signed by the chain's active key, or when
the chain ends before or diverges from a checkpoint (:mod:`hokoku.security.checkpoints`) kept outside
the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import inspect, select, update
from sqlmodel import Session

from hokoku.clock import utcnow
from hokoku.core.exceptions import ConfigError
from hokoku.core.timeutil import as_utc
from hokoku.i18n import t
from hokoku.models.audit import AuditEvent, AuditHead
from hokoku.security.auditkeys import AuditSigner, fingerprint
from hokoku.security.crypto import Keyring, verify_signature  # noqa: F401  (verify_signature: re-exported)
from hokoku.store.triggers import note

GENESIS = "0" * 64
KEY_ACTION = "audit.key"


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    incident: str | None,
    data: dict,
    recorded_at: datetime | None = None,
) -> bytes:
    body = {
        "seq": seq,
        "at": as_utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "incident": incident,
        "data": data,
    }
    if recorded_at is not None:  # absent only on events from before revision 0003
        body["recorded_at"] = as_utc(recorded_at).isoformat(timespec="microseconds")
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + payload).hexdigest()


def head_message(seq: int, digest: str) -> bytes:
    return f"hokoku audit head\n{seq}\n{digest}".encode()


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

    Data must not hold personal data in clear: callers pass ids, codes and counts. When the
    audit key in force is not the chain's active key, an ``audit.key`` event signed by the
    active key comes first (a rotation, or the first key of a new or upgraded database).
    """
    # Taking the head row with an UPDATE first locks it (PostgreSQL) so appenders queue up.
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    signer = keyring.signer
    if signer is not None and active_key(session, head) != signer.current.key_id:
        _rotate(session, keyring, signer, head, at=at)
    key_id = signer.current.key_id if signer is not None else keyring.sign(b"")[0]
    event = _add(
        session, head, None, at=at, actor=actor, action=action, incident=incident, data=data or {}, key_id=key_id
    )
    if action.startswith("stage."):  # a stage transition: a flow run of its stage follows (issue 14)
        note(session, action=action, incident=incident, data=data, at=at)
    _seal_at_commit(session, keyring, head)
    session.add(head)
    session.flush()
    return event


def _seal_at_commit(session: Session, keyring: Keyring, head: AuditHead) -> None:
    """Sign the head once per transaction, over its last hash, just before the commit (issue 14:
    one head signature per transaction, however many events it appended). The events themselves
    carry no signature of their own: each is bound by the hash chain to the signed head (and to
    the checkpoints), so editing, deleting or reordering one still fails ``verify``."""
    from sqlalchemy import event as sa_event

    head.signature = None  # unsigned until sealed: a reader inside this transaction sees no stale seal
    session.info["hokoku_audit_seal"] = (keyring, head)
    if session.info.get("hokoku_audit_seal_hooked"):
        return
    session.info["hokoku_audit_seal_hooked"] = True

    def seal(sess):
        pending = sess.info.pop("hokoku_audit_seal", None)
        if pending is None:
            return
        ring, h = pending
        h.key_id, h.signature = ring.sign(head_message(h.seq, h.hash))
        sess.add(h)

    def forget(sess, *_args):
        sess.info.pop("hokoku_audit_seal", None)

    sa_event.listen(session, "before_commit", seal)
    sa_event.listen(session, "after_rollback", forget)


def seal_now(session: Session) -> None:
    """Sign the head now, before the commit (for code that reads the sealed head in the same
    transaction, e.g. a checkpoint)."""
    pending = session.info.pop("hokoku_audit_seal", None)
    if pending is not None:
        ring, h = pending
        h.key_id, h.signature = ring.sign(head_message(h.seq, h.hash))
        session.add(h)
        session.flush()


def _add(
    session: Session,
    head: AuditHead,
    sign: Callable[[bytes], tuple[str, str]] | None,
    *,
    at: datetime,
    actor: str,
    action: str,
    incident: str | None,
    data: dict,
    key_id: str = "",
) -> AuditEvent:
    """One event on the chain; ``sign`` None: no signature of its own (the signed head covers it)."""
    seq = head.seq + 1
    recorded = utcnow()  # the real clock, beside the effective time
    digest = chain_hash(head.hash, canonical(seq, at, actor, action, incident, data, recorded))
    signature = ""  # "": none of its own
    if sign is not None:
        key_id, signature = sign(digest.encode())
    event = AuditEvent(
        seq=seq,
        at=at,
        recorded_at=recorded,
        actor=actor,
        action=action,
        incident_public_id=incident,
        data=data,
        prev_hash=head.hash,
        hash=digest,
        key_id=key_id,
        signature=signature,
    )
    session.add(event)
    head.seq, head.hash = seq, digest
    return event


def active_key(session: Session, head: AuditHead) -> str | None:
    """The key that signs the next event: the head's signer (legacy head: the last event's)."""
    if head.key_id:
        return head.key_id
    if head.seq == 0:
        return None
    return session.execute(select(AuditEvent.key_id).where(AuditEvent.seq == head.seq)).scalar_one_or_none()


def _rotate(session: Session, keyring: Keyring, signer: AuditSigner, head: AuditHead, *, at: datetime) -> None:
    new = signer.current
    old = active_key(session, head)
    data: dict[str, object] = {
        "key_id": new.key_id,
        "public_key": new.public_key_hex,
        "previous": old,
        "previous_public_key": None,
        "legacy": False,
    }
    previous = signer.get(old) if old is not None else None
    sign: Callable[[bytes], tuple[str, str]]
    if old is None:  # the chain's first key signs its own introduction
        sign = lambda m: signer.sign(m)  # noqa: E731
    elif previous is not None:
        data["previous_public_key"] = previous.public_key_hex
        sign = lambda m: signer.sign(m, key_id=old)  # noqa: E731
    elif old in {k.key_id for k in keyring.keys}:  # the key derived from the data key, before 0003
        legacy = keyring.get(old)
        data.update(previous_public_key=legacy.public_key_hex, legacy=True)
        sign = lambda m: (old, legacy.signing_key.sign(m).hex())  # noqa: E731
    else:
        raise ConfigError(
            f"the audit chain's active key {old} is not among this process's audit keys (current "
            f"{new.key_id}): after a rotation restart with the new key file; to change keys keep the "
            "previous key as a later line of the key file"
        )
    _add(session, head, sign, at=at, actor="hokoku", action=KEY_ACTION, incident=None, data=data)


def chain_keys(session: Session) -> list[dict]:
    """Every audit key the chain names, oldest first, from its ``audit.key`` events."""
    keys: list[dict] = []
    seen: set[str | None] = set()
    for ev in session.execute(
        select(AuditEvent).where(AuditEvent.action == KEY_ACTION).order_by(AuditEvent.seq)
    ).scalars():
        d = ev.data or {}
        prev, prev_pub = d.get("previous"), d.get("previous_public_key")
        if prev and prev_pub and prev not in seen:
            keys.append(
                {
                    "key_id": prev,
                    "public_key": prev_pub,
                    "legacy": bool(d.get("legacy")),
                    "since_seq": None,
                    "until_seq": ev.seq,
                }
            )
            seen.add(prev)
        if keys and keys[-1]["key_id"] != d.get("key_id") and keys[-1].get("until_seq") is None:
            keys[-1]["until_seq"] = ev.seq
        keys.append(
            {
                "key_id": d.get("key_id"),
                "public_key": d.get("public_key"),
                "legacy": False,
                "since_seq": ev.seq,
                "until_seq": None,
            }
        )
        seen.add(d.get("key_id"))
    for k in keys:
        k["status"] = "legacy" if k["legacy"] else ("current" if k["until_seq"] is None else "retired")
    return keys


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str | None = None  # in English, for logs and ``--json``
    reason_key: str | None = None  # the catalogue key of the reason (``audit.why.*``)
    reason_params: dict | None = None
    checkpoint: dict | None = None  # the newest checkpoint the chain was checked against

    def why(self, lang: str) -> str | None:
        """The reason in ``lang``."""
        if self.reason_key is None:
            return self.reason
        return t(self.reason_key, lang, **(self.reason_params or {}))

    def message(self, lang: str = "en") -> str:
        """The outcome in one line, in ``lang``."""
        if self.ok:
            anchor = (
                t("audit.result.anchor", lang, **{k: self.checkpoint[k] for k in ("seq", "at", "source")})
                if self.checkpoint
                else ""
            )
            return t("audit.result.ok", lang, events=self.events, anchor=anchor)
        if self.bad_id is not None:
            return t("audit.result.failed_row", lang, seq=self.bad_seq, id=self.bad_id, reason=self.why(lang))
        if self.bad_seq is not None:
            return t("audit.result.failed_seq", lang, seq=self.bad_seq, reason=self.why(lang))
        return t("audit.result.failed", lang, reason=self.why(lang))


def _why(code: str, /, **params: object) -> tuple[str, str, dict]:
    """(English reason, catalogue key, parameters): the last three fields of a failed result."""
    return t(f"audit.why.{code}", "en", **params), f"audit.why.{code}", params


class _Keys:
    """Trusted public keys, parsed once each."""

    def __init__(self, public_keys: dict[str, str]):
        self.hex = dict(public_keys)
        self._parsed: dict[str, Ed25519PublicKey | None] = {}

    def verify(self, key_id: str, message: bytes, signature_hex: str | None) -> bool:
        if key_id not in self.hex or not signature_hex:
            return False
        if key_id not in self._parsed:
            try:
                self._parsed[key_id] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.hex[key_id]))
            except ValueError:
                self._parsed[key_id] = None
        pub = self._parsed[key_id]
        if pub is None:
            return False
        try:
            pub.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def verify(
    session: Session, public_keys: dict[str, str], *, checkpoints: Iterable = (), batch: int = 5000
) -> VerifyResult:
    """Walk the chain in order against trusted ``public_keys``; name the first problem and why.

    ``checkpoints`` (:class:`hokoku.security.checkpoints.Checkpoint`) must be signed by a trusted key and
    lie on the chain: the chain may not end before the newest one nor differ at any of them.
    """

    keys = _Keys(public_keys)
    cps = sorted(checkpoints, key=lambda c: c.seq)  # stable: of equal seqs, the one given last is "newest"
    for cp in cps:
        if cp.key_id not in keys.hex:
            return VerifyResult(
                False,
                0,
                cp.seq,
                None,
                *_why("checkpoint_key", source=cp.source, key=cp.key_id),
            )
        if not keys.verify(cp.key_id, cp.message(), cp.signature):
            return VerifyResult(False, 0, cp.seq, None, *_why("checkpoint_signature", source=cp.source))
    at_seq = {cp.seq: cp for cp in cps}
    newest = cps[-1] if cps else None

    expected_prev, expected_seq, count = GENESIS, 1, 0
    active: str | None = None
    last_id = 0
    while True:
        rows = session.execute(  # plain rows, not ORM objects: verification reads, never changes
            select(*inspect(AuditEvent).columns).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            last_id = ev.id
            count += 1
            fail = lambda code, /, **params: VerifyResult(False, count, ev.seq, ev.id, *_why(code, **params))  # noqa: E731,B023
            if ev.seq != expected_seq:
                return fail("seq_missing" if ev.seq > expected_seq else "seq_order", seq=expected_seq)
            if ev.prev_hash != expected_prev:
                return fail("chain")
            digest = chain_hash(
                ev.prev_hash,
                canonical(ev.seq, ev.at, ev.actor, ev.action, ev.incident_public_id, ev.data, ev.recorded_at),
            )
            if digest != ev.hash:
                return fail("edited")
            if ev.key_id not in keys.hex:
                return fail("untrusted_key", key=ev.key_id)
            if active is not None and ev.key_id != active:
                return fail("inactive_key", key=ev.key_id, active=active)
            if ev.signature or ev.action == KEY_ACTION:  # key changes (and events before 0008) are signed
                if not keys.verify(ev.key_id, ev.hash.encode(), ev.signature):
                    return fail("signature")
            if ev.action == KEY_ACTION:
                new, pub = (ev.data or {}).get("key_id"), (ev.data or {}).get("public_key")
                if (
                    not isinstance(new, str)
                    or not isinstance(pub, str)
                    or keys.hex.get(new) != pub
                    or fingerprint(pub) != new
                ):
                    return fail("untrusted_new_key", key=new)
                active = new
            cp = at_seq.get(ev.seq)
            if cp is not None and cp.hash != ev.hash:
                return fail("diverges", source=cp.source, at=cp.at, seq=cp.seq)
            expected_prev, expected_seq = ev.hash, ev.seq + 1
        session.expunge_all()
    last = expected_seq - 1
    if newest is not None and last < newest.seq:
        return VerifyResult(
            False,
            count,
            last or None,
            None,
            *_why("ends_early", last=last, source=newest.source, at=newest.at, seq=newest.seq),
        )
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is None:
        return VerifyResult(
            False,
            count,
            None,
            None,
            *_why("head_missing" if count else "head_missing_empty"),
        )
    if head.seq != last or head.hash != expected_prev:
        return VerifyResult(False, count, head.seq, None, *_why("head_mismatch"))
    if not head.signature or not head.key_id:
        return VerifyResult(False, count, head.seq, None, *_why("head_unsigned"))
    if active is None or head.key_id != active:
        return VerifyResult(
            False,
            count,
            head.seq,
            None,
            *_why("head_key", key=head.key_id, active=active),
        )
    if not keys.verify(head.key_id, head_message(head.seq, head.hash), head.signature):
        return VerifyResult(False, count, head.seq, None, *_why("head_signature"))
    info = {"seq": newest.seq, "at": newest.at, "source": newest.source} if newest else None
    return VerifyResult(True, count, checkpoint=info)
