"""``audit verify`` over a million events, against raw SHA-256 of the same bytes.

One chain of signed events is generated in memory (realistic actions and data, the chain
hash and Ed25519 signature exactly as :func:`hokoku.security.audit.append` makes them, one fixed key so
both databases hold the same chain), bulk-loaded (``COPY`` on PostgreSQL, ``executemany`` on
SQLite) after the event ``init`` wrote, and verified with :func:`hokoku.security.audit.verify` — the
code behind ``hokoku audit verify``. Side by side, on the same events in memory:

* raw SHA-256 of exactly the bytes the chain hashes (``prev_hash + "\\n" + canonical JSON``);
* canonical JSON + SHA-256 (the hash chain without the database or the signatures);
* that + Ed25519 signature verification (everything but the database), as
  :func:`hokoku.security.crypto.verify_signature` does it (the public key parsed for every event) and
  with each public key parsed once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from datetime import UTC, datetime, timedelta

from bench.common import environment, record, table
from hokoku.core.timeutil import JST

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)
#: A fixed keyring (bench only): both databases get byte-identical chains.
KEYRING = "bench1:" + base64.b64encode(hashlib.sha256(b"hokoku bench audit key").digest()).decode()
ACTIONS = (
    "stage.reminder",
    "stage.escalation",
    "notification.sent",
    "incident.reported",
    "stage.acknowledged",
    "stage.done",
    "tasks.created",
    "step.overdue",
)
STAGES = ("acknowledge", "immediate-measures", "containment", "investigation-report", "dg-report")
PEOPLE = ("nakamura.pm@example.org", "kato.po@example.org", "ito.im@example.org", "suzuki.gm@example.org")


def generate(keyring, head_seq: int, head_hash: str, count: int, seed: int = 1):
    """The events (tuples in audit_event column order, less id) and the hashed bytes of each."""
    from hokoku.security.audit import canonical, chain_hash

    rng = random.Random(seed)
    rows, payloads = [], []
    key_id, signature = keyring.sign(b"")[0], ""  # as append makes them since issue 14: the signed head covers them
    prev, at = head_hash, T0.astimezone(UTC)
    for seq in range(head_seq + 1, head_seq + 1 + count):
        at += timedelta(milliseconds=rng.randrange(1, 5000))
        action = rng.choice(ACTIONS)
        incident = f"INC-2027-{rng.randrange(1, 10000):04d}"
        stage = rng.choice(STAGES)
        if action == "notification.sent":
            data = {
                "key": f"{incident}:{stage}:notify:{rng.choice(PEOPLE)}:slack",
                "channel": "slack",
                "provider_id": f"slack:D0PM00001:1700000000.{rng.randrange(10**6):06d}",
            }
        elif action in ("stage.reminder", "stage.escalation"):
            data = {"stage": stage, "recipients": rng.sample(PEOPLE, 2), "number": rng.randrange(1, 9)}
        else:
            data = {"stage": stage}
        actor = "hokoku:sweep" if action.startswith("stage.r") else rng.choice(PEOPLE)
        payload = prev.encode() + b"\n" + canonical(seq, at, actor, action, incident, data)
        digest = chain_hash(prev, canonical(seq, at, actor, action, incident, data))
        rows.append((seq, at, actor, action, incident, data, prev, digest, key_id, signature))
        payloads.append(payload)
        prev = digest
    return rows, payloads


def load(app, rows) -> float:
    """Bulk-insert the events and move the head; returns seconds."""
    started = time.perf_counter()
    cols = "seq, at, actor, action, incident_public_id, data, prev_hash, hash, key_id, signature"
    raw = app.engine.raw_connection()
    try:
        conn = raw.driver_connection
        if app.engine.dialect.name == "postgresql":
            with conn.cursor() as cur:
                with cur.copy(f"COPY audit_event ({cols}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row((*r[:5], json.dumps(r[5]), *r[6:]))
                cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (rows[-1][0], rows[-1][7]))
            conn.commit()
        else:
            conn.execute("BEGIN")
            conn.executemany(
                f"INSERT INTO audit_event ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((r[0], r[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[2:5], json.dumps(r[5]), *r[6:]) for r in rows),
            )
            conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (rows[-1][0], rows[-1][7]))
            conn.execute("COMMIT")
    finally:
        raw.close()
    from bench.sweep_scale import settle

    settle(app)
    return time.perf_counter() - started


def baselines(keyring, rows, payloads) -> dict:
    from hokoku.security.audit import canonical, chain_hash
    from hokoku.security.crypto import verify_signature

    out = {}
    t = time.perf_counter()
    for b in payloads:
        hashlib.sha256(b).hexdigest()
    out["raw"] = time.perf_counter() - t
    t = time.perf_counter()
    for seq, at, actor, action, incident, data, prev, digest, _k, _s in rows:
        assert chain_hash(prev, canonical(seq, at, actor, action, incident, data)) == digest
    out["canonical"] = time.perf_counter() - t
    public = keyring.public_keys()
    t = time.perf_counter()
    sigs = [keyring.sign(r[7].encode())[1] for r in rows[: min(len(rows), 20_000)]]  # the old per-event signatures
    n_sig = len(sigs)
    for (seq, at, actor, action, incident, data, prev, digest, key_id, _s), signature in zip(rows, sigs, strict=False):
        assert chain_hash(prev, canonical(seq, at, actor, action, incident, data)) == digest
        assert verify_signature(public, key_id, digest.encode(), signature)
    out["signed"] = (time.perf_counter() - t) * len(rows) / n_sig  # scaled from the first n_sig events
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = {k: Ed25519PublicKey.from_public_bytes(bytes.fromhex(v)) for k, v in public.items()}
    t = time.perf_counter()
    for (seq, at, actor, action, incident, data, prev, digest, key_id, _s), signature in zip(rows, sigs, strict=False):
        assert chain_hash(prev, canonical(seq, at, actor, action, incident, data)) == digest
        keys[key_id].verify(bytes.fromhex(signature), digest.encode())
    out["signed_cached"] = (time.perf_counter() - t) * len(rows) / n_sig
    return out


def run(dbs: list[str], *, quick: bool) -> str:
    from hokoku.models.audit import AuditHead
    from hokoku.security import audit
    from hokoku.store.db import transaction

    count = 20_000 if quick else 1_000_000
    lines = [f"### 4. `audit verify` over {count:,} events vs raw SHA-256 of the same bytes\n"]
    rows = payloads = None
    measured, setup = [], []
    for db in dbs:
        with environment(db, init_at=T0, secret_key=KEYRING) as env:
            app = env.app
            with transaction(app.engine) as session:
                head = session.get(AuditHead, 1)
                head_seq, head_hash = head.seq, head.hash
            if rows is None:
                t = time.perf_counter()
                rows, payloads = generate(app.keyring, head_seq, head_hash, count)
                generated = time.perf_counter() - t
                base = baselines(app.keyring, rows, payloads)
                mib = sum(map(len, payloads)) / 2**20
            assert rows[0][6] == head_hash, "the chains differ between databases"
            loaded = load(app, rows)
            with transaction(app.engine) as session:  # the head is signed (revision 0003)
                head = session.get(AuditHead, 1)
                head.key_id, head.signature = app.keyring.sign(audit.head_message(head.seq, head.hash))
            t = time.perf_counter()
            with transaction(app.engine) as session:
                result = audit.verify(session, app.keyring.public_keys())
            verified = time.perf_counter() - t
            assert result.ok and result.events == count + head_seq, result.message()
            measured.append((db, verified))
            setup.append([db, f"{generated:.1f} s", f"{loaded:.1f} s"])
    raw = base["raw"]
    n = count
    rows_out = [
        ["raw SHA-256 of the hashed bytes (in memory)", f"{raw:.2f} s", f"{n / raw:,.0f}", "1×"],
        [
            "canonical JSON + SHA-256 chain (in memory)",
            f"{base['canonical']:.2f} s",
            f"{n / base['canonical']:,.0f}",
            f"{base['canonical'] / raw:.0f}×",
        ],
        [
            "+ Ed25519 signature check per event, as before issue 14 (in memory; scaled)",
            f"{base['signed']:.2f} s",
            f"{n / base['signed']:,.0f}",
            f"{base['signed'] / raw:.0f}×",
        ],
        [
            "  (the same with each public key parsed once, not per event)",
            f"{base['signed_cached']:.2f} s",
            f"{n / base['signed_cached']:,.0f}",
            f"{base['signed_cached'] / raw:.0f}×",
        ],
    ]
    for db, seconds in measured:
        record(
            f"audit verify over {n:,} events",
            db=db,
            figure=seconds,
            unit="s",
            ratio=seconds / raw,
            baseline="raw SHA-256 of the same bytes",
            target=5.0,
        )
        rows_out.append(
            [
                f"`audit verify` from {db} (hokoku.security.audit.verify)",
                f"{seconds:.2f} s",
                f"{n / seconds:,.0f}",
                f"{seconds / raw:.0f}×",
            ]
        )
    lines.append(f"{count:,} events, {mib:.0f} MiB of hashed bytes.\n")
    lines.append(table(["what", "time", "events/s", "vs raw SHA-256"], rows_out))
    lines.append("")
    lines.append(table(["database", "generating + signing the chain", "bulk load"], setup))
    lines.append("")
    return "\n".join(lines)
