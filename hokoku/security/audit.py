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
import queue
import threading
from bisect import bisect_left
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
    """One event on the chain; ``sign`` None: no signature of its own (the signed head covers it).

    The canonical JSON is stored beside the columns (revision 0009): ``verify`` hashes the stored
    bytes and checks the columns against them; ``data`` is stored as the canonical form holds it
    (keys sorted), so that the check can compare it as text where the database has no JSON
    equality (SQLite)."""
    seq = head.seq + 1
    recorded = utcnow()  # the real clock, beside the effective time
    payload = canonical(seq, at, actor, action, incident, data, recorded)
    digest = chain_hash(head.hash, payload)
    text = payload.decode()
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
        data=json.loads(text)["data"],
        prev_hash=head.hash,
        hash=digest,
        key_id=key_id,
        signature=signature,
        canonical=text,
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


def _full_rows(session: Session, ids: list[int]) -> dict:
    """Whole rows (typed by the model) of the events whose canonical JSON is rebuilt or re-checked;
    a row that cannot be read as the model types it (a column edited into garbage) maps to None."""
    if not ids:
        return {}
    cols = inspect(AuditEvent).columns
    try:
        with session.begin_nested():
            return {r.id: r for r in session.execute(select(*cols).where(AuditEvent.id.in_(ids)))}
    except Exception:
        if len(ids) == 1:
            return {ids[0]: None}
        rows: dict = {}
        for one in ids:
            rows.update(_full_rows(session, [one]))
        return rows


def _columns_agree(row) -> bool:
    """The columns say what the stored canonical JSON says (the check in Python)."""
    return row is not None and (
        canonical(row.seq, row.at, row.actor, row.action, row.incident_public_id, row.data, row.recorded_at).decode()
        == row.canonical
    )


#: Per dialect, the canonical text rebuilt from an event's columns by the database (keys in
#: sorted order, compact, UTF-8; timestamps as ``isoformat``; ``data`` as stored, which append
#: writes in the canonical form), to compare with the stored text: no JSON is parsed in Python,
#: and a changed column, however small, makes the texts differ.
_REBUILT = {
    "sqlite": """'{"action":' || json_quote(action) || ',"actor":' || json_quote(actor)
        || ',"at":"' || replace(at, ' ', 'T') || '+00:00"' || ',"data":' || data
        || ',"incident":' || json_quote(incident_public_id)
        || ',"recorded_at":' || coalesce('"' || replace(recorded_at, ' ', 'T') || '+00:00"', 'null')
        || ',"seq":' || seq || '}'""",
    "postgresql": """'{"action":' || to_json(action)::text || ',"actor":' || to_json(actor)::text
        || ',"at":"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"'
        || ',"data":' || data::text || ',"incident":' || coalesce(to_json(incident_public_id)::text, 'null')
        || ',"recorded_at":' || coalesce(
            '"' || to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00"', 'null')
        || ',"seq":' || seq::text || '}'""",
}
_PAYLOAD = {
    "sqlite": "CAST(prev_hash || char(10) || canonical AS BLOB)",
    "postgresql": "prev_hash || E'\\n' || canonical",
}
_PH = {"sqlite": "?", "postgresql": "%s"}
#: Whether the next batches are read on a thread while this one is hashed (PostgreSQL builds the
#: rows in its own process; SQLite builds them in this one, under the GIL, so it would not help).
_PREFETCH = {"postgresql": True}
#: Every column of a batch of events (the event-by-event walk): the hashed bytes (prev_hash,
#: newline, stored canonical JSON; NULL before revision 0009) and whether the columns agree with
#: them.
_ROWS = {
    d: f"""SELECT id, seq, prev_hash, hash, {_PAYLOAD[d]}, key_id, signature, action, canonical = {_REBUILT[d]}
        FROM audit_event WHERE id > {_PH[d]} ORDER BY id LIMIT {_PH[d]}"""
    for d in _REBUILT
}
#: A batch for the check as a whole: the hashed bytes and one flag for the rest of what the walk
#: checks per event but the links (columns agree with the stored bytes; signed by the active key;
#: no signature of its own, no key change). Parameters: the active key, the last id, the size.
_BATCH = {
    d: f"""SELECT id, seq, prev_hash, hash, {_PAYLOAD[d]}, coalesce(
            canonical = {_REBUILT[d]} AND key_id = {_PH[d]} AND signature = '' AND action <> '{KEY_ACTION}',
            {"false" if d == "postgresql" else 0})
        FROM audit_event WHERE id > {_PH[d]} ORDER BY id LIMIT {_PH[d]}"""
    for d in _REBUILT
}
#: Without the column check (another database, or one that cannot evaluate it, e.g. a ``data``
#: column edited into text that is not JSON): the columns are then compared in Python.
_ROWS_PLAIN = """
    SELECT id, seq, prev_hash, hash, canonical, key_id, signature, action, NULL
    FROM audit_event WHERE id > {ph} ORDER BY id LIMIT {ph}"""


def _fetch(session: Session, query: str, params: tuple):
    """Plain DB-API rows (verification reads, never changes); None when the database refuses the query."""
    cursor = session.connection().connection.cursor()
    try:
        with session.begin_nested():
            cursor.execute(query, params)
            return cursor.fetchall()
    except Exception:
        return None
    finally:
        cursor.close()


class _Reader:
    """The batches one after another, read when asked (the interface of :class:`_Prefetch`)."""

    def __init__(self, session: Session, query: str, key: str, after: int, batch: int):
        self._session, self._query, self._key, self._after, self._batch = session, query, key, after, batch

    def get(self):
        rows = _fetch(self._session, self._query, (self._key, self._after, self._batch))
        if rows:
            self._after = rows[-1][0]
        return rows

    def close(self) -> None:
        pass


class _Prefetch:
    """Reads the next batches on a thread while the caller hashes this one (the database builds
    and sends rows while Python hashes). Owns the connection until :meth:`close`."""

    def __init__(self, dbapi, query: str, key: str, after: int, batch: int):
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(dbapi, query, key, after, batch), daemon=True)
        self._thread.start()

    def _run(self, dbapi, query, key, after, batch) -> None:
        cursor = dbapi.cursor()
        try:
            while not self._stop.is_set():
                cursor.execute("SAVEPOINT hokoku_verify")
                try:
                    cursor.execute(query, (key, after, batch))
                    rows = cursor.fetchall()
                    cursor.execute("RELEASE SAVEPOINT hokoku_verify")
                except Exception:
                    cursor.execute("ROLLBACK TO SAVEPOINT hokoku_verify")
                    cursor.execute("RELEASE SAVEPOINT hokoku_verify")
                    rows = None
                self._put(rows)
                if not rows:
                    return
                after = rows[-1][0]
        except Exception:
            self._put(None)
        finally:
            cursor.close()

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self):
        """The next batch ([] at the end), or None when the database refused the query."""
        return self._queue.get()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def verify(
    session: Session, public_keys: dict[str, str], *, checkpoints: Iterable = (), batch: int = 10000
) -> VerifyResult:
    """Walk the chain in order against trusted ``public_keys``; name the first problem and why.

    ``checkpoints`` (:class:`hokoku.security.checkpoints.Checkpoint`) must be signed by a trusted key and
    lie on the chain: the chain may not end before the newest one nor differ at any of them.

    Each batch of events is first checked as a whole, with a few list operations (consecutive
    seqs, each prev_hash the hash before, SHA-256 of the stored bytes equal to the hashes, the
    columns agreeing with the stored bytes, one key, no signature or key change or checkpoint
    in the batch); a batch that does not pass is walked event by event, which names the first
    problem exactly as before.
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
    cp_seqs = sorted(at_seq)
    newest = cps[-1] if cps else None

    dialect = session.get_bind().dialect
    detail, whole = _ROWS.get(dialect.name), _BATCH.get(dialect.name)
    plain = _ROWS_PLAIN.format(ph="?" if dialect.paramstyle == "qmark" else "%s")
    prefetch = _PREFETCH.get(dialect.name, False)
    sha256 = hashlib.sha256
    expected_prev, expected_seq = GENESIS, 1
    active: str | None = None
    trusted = keys.hex
    last_id = 0
    fetcher = None
    try:
        while True:
            if whole is not None and active is not None:  # the batch as a whole first
                if fetcher is None:
                    fetcher = (
                        _Prefetch(session.connection().connection, whole, active, last_id, batch)
                        if prefetch
                        else _Reader(session, whole, active, last_id, batch)
                    )
                rows = fetcher.get()
                if rows == []:
                    break
                if rows is None:  # refused (e.g. a column that is not JSON): event by event from here
                    whole = None
                else:
                    n = len(rows)
                    ids, seqs, prevs, hashes, payloads, flags = zip(*rows, strict=True)
                    first = expected_seq
                    if (
                        seqs == tuple(range(first, first + n))
                        and prevs[0] == expected_prev
                        and prevs[1:] == hashes[:-1]
                        and all(flags)  # (false for events from before revision 0009: walked)
                        and not (cp_seqs and bisect_left(cp_seqs, first) != bisect_left(cp_seqs, first + n))
                        and [sha256(p if isinstance(p, bytes) else p.encode()).hexdigest() for p in payloads]
                        == list(hashes)
                    ):
                        expected_prev, expected_seq, last_id = hashes[-1], first + n, ids[-1]
                        continue
                fetcher.close()  # walk this batch event by event; the fetcher restarts after it
                fetcher = None
            rows = _fetch(session, detail, (last_id, batch)) if detail else None
            checked = rows is not None  # the last column says whether the columns agree with the stored bytes
            if rows is None:
                detail = None
                rows = _fetch(session, plain, (last_id, batch))
            if not rows:
                break
            full = _full_rows(session, [r[0] for r in rows if r[4] is None or not checked])
            for ev_id, seq, prev, digest, payload, key_id, signature, action, agree in rows:
                if seq != expected_seq:
                    code = "seq_missing" if seq > expected_seq else "seq_order"
                    return VerifyResult(False, expected_seq, seq, ev_id, *_why(code, seq=expected_seq))
                if prev != expected_prev:
                    return VerifyResult(False, seq, seq, ev_id, *_why("chain"))
                row = full.get(ev_id)
                if payload is None or not checked:  # before revision 0009 (or no database check): from the columns
                    if row is None:
                        return VerifyResult(False, seq, seq, ev_id, *_why("edited"))
                    if row.canonical is None:
                        text = canonical(
                            seq, row.at, row.actor, row.action, row.incident_public_id, row.data, row.recorded_at
                        )
                    else:
                        text = row.canonical.encode()
                        agree = _columns_agree(row)
                    payload = f"{prev}\n".encode() + text
                elif not isinstance(payload, bytes):
                    payload = payload.encode() if isinstance(payload, str) else bytes(payload)
                if sha256(payload).hexdigest() != digest:
                    return VerifyResult(False, seq, seq, ev_id, *_why("edited"))
                if key_id not in trusted:
                    return VerifyResult(False, seq, seq, ev_id, *_why("untrusted_key", key=key_id))
                if active is not None and key_id != active:
                    return VerifyResult(False, seq, seq, ev_id, *_why("inactive_key", key=key_id, active=active))
                if signature or action == KEY_ACTION:  # key changes (and events before 0008) are signed
                    if not keys.verify(key_id, digest.encode(), signature):
                        return VerifyResult(False, seq, seq, ev_id, *_why("signature"))
                if (row is None or row.canonical is not None) and not agree:
                    return VerifyResult(False, seq, seq, ev_id, *_why("edited"))  # a column differs from the bytes
                if action == KEY_ACTION:
                    if row is not None and row.canonical is None:
                        data = row.data or {}
                    else:
                        data = json.loads(payload[payload.index(b"\n") + 1 :]).get("data") or {}
                    new, pub = data.get("key_id"), data.get("public_key")
                    if (
                        not isinstance(new, str)
                        or not isinstance(pub, str)
                        or trusted.get(new) != pub
                        or fingerprint(pub) != new
                    ):
                        return VerifyResult(False, seq, seq, ev_id, *_why("untrusted_new_key", key=new))
                    active = new
                cp = at_seq.get(seq)
                if cp is not None and cp.hash != digest:
                    return VerifyResult(
                        False, seq, seq, ev_id, *_why("diverges", source=cp.source, at=cp.at, seq=cp.seq)
                    )
                expected_prev, expected_seq, last_id = digest, seq + 1, ev_id
    finally:
        if fetcher is not None:
            fetcher.close()
    count = expected_seq - 1
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
