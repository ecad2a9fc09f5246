"""Issue 11A: a record that can be trusted. Each test is an attack on the record.

Truncation and wiping are caught by checkpoints kept outside the database; history re-signed
with the data key or with an attacker's own key (public-key file replaced) does not verify;
``audit verify --public-keys`` needs no secret; ``--now`` cannot run an incident's time
backwards nor (outside a demo database) leave the real clock; a ciphertext copied to another
row does not decrypt; a wrong data key is refused at start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from hokoku.security import audit
from hokoku.security.auditkeys import AuditKey
from hokoku.security.crypto import DecryptionError, new_key_entry, parse_keyring
from hokoku.store.db import transaction
from tests.helpers import DIVISION, PM, PO, REPORTER, T0, db_file, iso, minutes, raw_sql, report


def _verify(cli, *args, env=None):
    code, out, err = cli("audit", "verify", "--lang", "en", *args, env=env)
    return code, out.strip(), err.strip()


def _checkpoint(cli):
    code, out, err = cli("audit", "checkpoint", "--json")
    assert code == 0, err
    return json.loads(out)


def _head(app):
    return raw_sql(app, "SELECT seq, hash, key_id, signature FROM audit_head")[0]


def _rewrite_chain(app, sign, *, edit_seq: int, first_key: AuditKey | None = None, head_sign=None):
    """What an attacker with database access does: edit event ``edit_seq``, recompute every
    hash after it, re-sign each event with ``sign`` (and the head with ``head_sign``).
    With ``first_key`` the chain's first ``audit.key`` event is made to introduce that key."""
    rows = raw_sql(
        app, "SELECT seq, at, actor, action, incident_public_id, data, recorded_at FROM audit_event ORDER BY seq"
    )
    prev = audit.GENESIS
    for seq, at, actor, action, incident, data, recorded in rows:
        data = json.loads(data)
        if seq == edit_seq:
            actor = "someone-else@example.org"
        if first_key is not None and action == audit.KEY_ACTION and seq == 1:
            data = {**data, "key_id": first_key.key_id, "public_key": first_key.public_key_hex}
        when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        real = datetime.fromisoformat(recorded).replace(tzinfo=UTC) if recorded else None
        payload = audit.canonical(seq, when, actor, action, incident, data, real)
        digest = audit.chain_hash(prev, payload)
        key_id, signature = sign(digest.encode())
        raw_sql(  # the stored canonical JSON (revision 0009) rewritten too, as the attacker would
            app,
            "UPDATE audit_event SET actor=?, data=?, prev_hash=?, hash=?, key_id=?, signature=?, canonical=? "
            "WHERE seq=?",
            (
                actor,
                json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                prev,
                digest,
                key_id,
                signature,
                payload.decode(),
                seq,
            ),  # data as hokoku stores it (compact): the column is checked as stored
        )
        prev = digest
    last = rows[-1][0]
    key_id, signature = (head_sign or sign)(audit.head_message(last, prev))
    raw_sql(app, "UPDATE audit_head SET seq=?, hash=?, key_id=?, signature=?", (last, prev, key_id, signature))


@pytest.fixture
def busy(demo_app, cli):
    """A demo database with one incident taken some way, and a checkpoint written."""
    pid = report(demo_app).public_id
    from hokoku.services.sweep import sweep
    from hokoku.services.transitions import acknowledge

    sweep(demo_app, now=T0 + minutes(15))
    acknowledge(demo_app, incident_id=pid, actor=PO, now=T0 + minutes(20))
    return pid


# -- anchoring ---------------------------------------------------------------------------------
def test_truncating_the_log_and_restoring_an_old_signed_head_fails_citing_the_checkpoint(demo_app, cli):
    """DELETE FROM audit_event WHERE seq > N, and audit_head set back to row N — even with the
    genuine signature the head had when the chain was at N — is caught by the checkpoint."""
    report(demo_app)
    n, hash_n, key_n, sig_n = _head(demo_app)  # an old head, validly signed (e.g. from a backup)
    from hokoku.services.transitions import acknowledge

    acknowledge(demo_app, incident_id="INC-2027-0001", actor=PO, now=T0 + minutes(5))
    cp = _checkpoint(cli)
    assert cp["seq"] > n
    code, out, _ = _verify(cli)
    assert code == 0 and out.startswith("OK") and f"checkpoint seq {cp['seq']}" in out

    raw_sql(demo_app, "DELETE FROM audit_event WHERE seq > ?", (n,))
    raw_sql(demo_app, "UPDATE audit_head SET seq=?, hash=?, key_id=?, signature=?", (n, hash_n, key_n, sig_n))
    code, out, _ = _verify(cli)
    assert code == 1
    assert f"the chain ends at seq {n}, before checkpoint checkpoints.jsonl" in out and "events were deleted" in out


def test_truncating_the_log_is_caught_by_a_checkpoint_kept_elsewhere(demo_app, cli, tmp_path):
    """With the local checkpoint file deleted too, a copy kept elsewhere (--checkpoint) still catches it."""
    report(demo_app)
    n, hash_n, key_n, sig_n = _head(demo_app)
    from hokoku.services.transitions import acknowledge

    acknowledge(demo_app, incident_id="INC-2027-0001", actor=PO, now=T0 + minutes(5))
    _checkpoint(cli)
    kept = tmp_path / "mailed-checkpoint.jsonl"
    local = demo_app.settings.checkpoint_dir / "checkpoints.jsonl"
    kept.write_text(local.read_text().splitlines()[-1] + "\n")

    raw_sql(demo_app, "DELETE FROM audit_event WHERE seq > ?", (n,))
    raw_sql(demo_app, "UPDATE audit_head SET seq=?, hash=?, key_id=?, signature=?", (n, hash_n, key_n, sig_n))
    local.unlink()
    code, out, _ = _verify(cli)
    assert code == 0  # nothing local left to compare with: this is why checkpoints leave the host
    code, out, _ = _verify(cli, "--checkpoint", str(kept))
    assert code == 1 and "before checkpoint mailed-checkpoint.jsonl:1" in out


def test_wiping_every_audit_row_and_the_head_fails(busy, demo_app, cli):
    """All audit rows and the head deleted: verify fails, naming the checkpoint; without any
    checkpoint it still fails because the head is missing."""
    _checkpoint(cli)
    raw_sql(demo_app, "DELETE FROM audit_event")
    raw_sql(demo_app, "DELETE FROM audit_head")
    code, out, _ = _verify(cli)
    assert code == 1 and "the chain ends at seq 0, before checkpoint" in out
    shutil.rmtree(demo_app.settings.checkpoint_dir)
    code, out, _ = _verify(cli)
    assert code == 1 and out == "FAILED: the audit head is missing and the log is empty (wiped?)"


def test_an_unsigned_head_fails(busy, demo_app, cli):
    """A head row without its signature (e.g. rewritten by hand) does not verify."""
    raw_sql(demo_app, "UPDATE audit_head SET signature=NULL")
    code, out, _ = _verify(cli)
    assert code == 1 and "the audit head is unsigned" in out


def test_editing_and_re_signing_with_the_data_key_fails(busy, demo_app, cli):
    """An attacker with keys/secret.key only (no audit key) edits an event, recomputes the
    chain and re-signs every event and the head with the key derived from the data key."""
    data_keys = parse_keyring(demo_app.settings.key_file.read_text(), source="stolen secret.key")
    assert data_keys.signer is None  # the data key alone: no audit signer
    _rewrite_chain(demo_app, data_keys.sign, edit_seq=3)
    code, out, _ = _verify(cli)
    assert code == 1 and out.startswith("FAILED at audit event seq 1 ")
    assert "not among the trusted public keys" in out
    # Even trusting the legacy derived key (as an upgraded database does), the head needs an audit key.
    keys = {**json.loads(demo_app.settings.public_keys_file.read_text()), **data_keys.legacy_public_keys()}
    with transaction(demo_app.engine) as session:
        result = audit.verify(session, keys)
    assert not result.ok and result.bad_seq == 2 and "the chain's active audit key is" in result.reason


def test_replacing_the_public_key_file_after_re_signing_history_fails(busy, demo_app, cli, tmp_path):
    """The attacker re-signs all history with a key of their own and writes its public key into
    audit-public-keys.json: the local checkpoints (signed by the real key) disagree, and an
    operator's public-key file kept elsewhere does not trust the attacker's key."""
    code, out, _ = cli("audit", "keys", "--json")
    operator_copy = tmp_path / "operator-public-keys.json"
    operator_copy.write_text(out)
    _checkpoint(cli)
    theirs = AuditKey(Ed25519PrivateKey.generate())
    _rewrite_chain(demo_app, lambda m: (theirs.key_id, theirs.private.sign(m).hex()), edit_seq=4, first_key=theirs)
    demo_app.settings.public_keys_file.write_text(json.dumps({theirs.key_id: theirs.public_key_hex}))

    code, out, _ = _verify(cli)
    assert code == 1 and "checkpoints.jsonl:" in out and "public-key file replaced?" in out
    code, out, _ = _verify(cli, "--public-keys", str(operator_copy))
    assert code == 1 and "FAILED at audit event seq 1 " in out and f"signed by key {theirs.key_id}" in out
    # And if they rewrote the local checkpoint file as well, a mailed copy still catches it.
    shutil.rmtree(demo_app.settings.checkpoint_dir)
    code, out, _ = _verify(cli)
    assert code == 0  # only the attacker's own material is left on the host
    code, out, _ = _verify(cli, "--public-keys", str(operator_copy))
    assert code == 1


def test_verify_with_public_keys_on_a_copy_needs_no_secret(busy, demo_app, cli, tmp_path, monkeypatch):
    """A copy of the database, no key file, no HOKOKU_SECRET_KEY, no audit key: OK when
    untouched, and the first bad event named once it is edited."""
    code, out, err = cli("audit", "keys", "--json")
    assert code == 0, err
    keys = json.loads(out)
    assert [k["status"] for k in keys["keys"]] == ["current"] and keys["current"] == keys["keys"][0]["key_id"]
    pub = tmp_path / "keys.json"
    pub.write_text(out)
    copy_dir = tmp_path / "elsewhere"
    copy_dir.mkdir()
    import sqlite3

    src, dst = sqlite3.connect(db_file(demo_app)), sqlite3.connect(copy_dir / "copy.db")
    src.backup(dst)  # a consistent copy (the WAL included)
    src.close()
    dst.close()
    monkeypatch.setenv("HOKOKU_HOME", str(copy_dir / "home"))
    monkeypatch.setenv("HOKOKU_DATABASE_URL", f"sqlite:///{copy_dir / 'copy.db'}")
    assert "HOKOKU_SECRET_KEY" not in os.environ and "HOKOKU_AUDIT_SIGNING_KEY" not in os.environ
    code, out, err = _verify(cli)  # no public keys at all here: refused in one line, never "OK"
    assert code == 2 and err.endswith("no public keys; pass --public-keys FILE (from `hokoku audit keys --json`)")
    code, out, err = _verify(cli, "--public-keys", str(pub))
    assert (code, err) == (0, "") and out.startswith("OK: ")
    from hokoku.store.db import get_engine

    with get_engine(f"sqlite:///{copy_dir / 'copy.db'}").begin() as conn:
        conn.exec_driver_sql("UPDATE audit_event SET actor='x' WHERE seq=4")
    code, out, _ = _verify(cli, "--public-keys", str(pub))
    assert code == 1 and out.startswith("FAILED at audit event seq 4 ") and "edited" in out


# -- keys ----------------------------------------------------------------------------------------
def test_the_audit_key_is_its_own_owner_only_file_not_derived_from_the_data_key(demo_app):
    """keys/audit-signing.key is 0600 and its public key is none of the data key's derived keys."""
    path = demo_app.settings.audit_key_file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    signer = demo_app.keyring.signer
    assert set(signer.public_keys().values()).isdisjoint(demo_app.keyring.legacy_public_keys().values())
    head = raw_sql(demo_app, "SELECT key_id FROM audit_head")[0][0]
    assert head == signer.current.key_id


def test_rotating_the_audit_key_is_recorded_in_the_chain_signed_by_the_old_key(busy, demo_app, cli):
    """`audit rotate-key`: an audit.key event naming the new key, signed by the old; both keys listed."""
    old = demo_app.keyring.signer.current.key_id
    code, out, err = cli("audit", "rotate-key", "--json")
    assert code == 0, err
    new = json.loads(out)["key_id"]
    assert new != old
    rows = raw_sql(demo_app, "SELECT key_id, data FROM audit_event WHERE action='audit.key' ORDER BY seq")
    assert [(k, json.loads(d)["key_id"]) for k, d in rows] == [(old, old), (old, new)]
    code, out, _ = cli("audit", "keys", "--json")
    assert [(k["key_id"], k["status"]) for k in json.loads(out)["keys"]] == [(old, "retired"), (new, "current")]
    code, out, _ = _verify(cli)
    assert code == 0, out
    # The old key may not sign after the rotation.
    from hokoku.app import open_app

    report(open_app(), now=T0 + minutes(30))
    raw_sql(demo_app, "UPDATE audit_event SET key_id=? WHERE seq=(SELECT max(seq) FROM audit_event)", (old,))
    code, out, _ = _verify(cli)
    assert code == 1 and f"signed by key {old}, but the chain's active audit key is {new}" in out


def test_a_wrong_data_key_is_refused_at_start_up(busy, demo_app, cli):
    """A HOKOKU_SECRET_KEY that is not this database's key: every verb refuses in one line."""
    code, out, err = cli("list", env={"HOKOKU_SECRET_KEY": new_key_entry("k1")})
    assert code == 2 and err.strip().splitlines() == [
        "hokoku: data key 'k1' (HOKOKU_SECRET_KEY or keys/secret.key) is not the key of this database: refusing to run"
    ]
    code, out, err = cli("list", env={"HOKOKU_SECRET_KEY": new_key_entry("k9")})
    assert code == 2 and "none of the data keys (k9) is a key of this database" in err
    from hokoku.app import open_app
    from hokoku.core.exceptions import ConfigError
    from hokoku.web import create_app

    os.environ["HOKOKU_SECRET_KEY"] = new_key_entry("k1")
    try:
        with pytest.raises(ConfigError, match="refusing to run"):
            create_app(open_app())
    finally:
        del os.environ["HOKOKU_SECRET_KEY"]
    assert cli("list")[0] == 0


# -- time ------------------------------------------------------------------------------------------
def test_a_backdated_now_is_refused(demo_app, cli):
    """`hokoku ack INC --now <before the report>` is refused in one line; nothing is recorded."""
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        "x",
        "--reporter",
        REPORTER,
        "--now",
        iso(T0),
        "--json",
    )
    assert code == 0, err
    pid = json.loads(out)["incident"]
    before = raw_sql(demo_app, "SELECT max(seq) FROM audit_event")[0][0]
    code, out, err = cli("ack", pid, "--as", PM, "--now", iso(T0 - timedelta(hours=1)))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"is before the latest recorded event of {pid}" in err
    assert raw_sql(demo_app, "SELECT max(seq) FROM audit_event")[0][0] == before
    code, out, err = cli("ack", pid, "--as", PM, "--now", iso(T0 + minutes(3)))
    assert code == 0, err


def test_simulated_time_is_refused_outside_a_demo_database(hokoku_home, cli, tmp_path):
    """A database made with --org: --now far from the real clock is refused unless
    HOKOKU_ALLOW_SIMULATED_TIME=1; --now near the real clock is accepted."""
    from hokoku.config.org import DEMO_ORG

    org = tmp_path / "our-org.yaml"
    org.write_text(DEMO_ORG.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = cli("init", "--org", str(org), "--now", iso(T0), "--lang", "en")
    assert code == 2 and "simulated time is only for demo databases" in err
    assert cli("init", "--org", str(org))[0] == 0
    args = ["report", "--division", DIVISION, "--category", "malware", "--summary", "x", "--reporter", REPORTER]
    code, out, err = cli(*args, "--now", iso(T0))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "more than 5 minutes from the real clock" in err
    code, out, err = cli(*args, "--now", iso(datetime.now(UTC) - timedelta(minutes=1)))
    assert code == 0, err
    code, out, err = cli(*args, "--now", iso(T0), env={"HOKOKU_ALLOW_SIMULATED_TIME": "1"})
    assert code == 0, err


def test_every_event_records_the_real_clock_beside_the_effective_time(demo_app):
    """Simulated `at`, real `recorded_at`; both are covered by the hash."""
    before = datetime.now(UTC)
    report(demo_app)
    rows = raw_sql(demo_app, "SELECT at, recorded_at FROM audit_event WHERE action='incident.reported'")
    at, recorded = (datetime.fromisoformat(v).replace(tzinfo=UTC) for v in rows[0])
    assert at == T0 and before - timedelta(seconds=1) <= recorded <= datetime.now(UTC)


# -- ciphertexts bound to their row ----------------------------------------------------------------
def test_a_ciphertext_copied_to_another_row_does_not_decrypt(demo_app, cli):
    """Incident 2's summary replaced by incident 1's ciphertext: reading it is an error naming the
    row, never incident 1's text."""
    report(demo_app, summary="first incident's secret text")
    report(demo_app, summary="second", now=T0 + minutes(1))
    raw_sql(
        demo_app,
        "UPDATE incident SET summary_enc=(SELECT summary_enc FROM incident WHERE public_id='INC-2027-0001') "
        "WHERE public_id='INC-2027-0002'",
    )
    from hokoku.services.queries import show_incident

    with pytest.raises(DecryptionError, match="incident.summary of row INC-2027-0002: .*belongs to another row"):
        show_incident(demo_app, "INC-2027-0002", now=T0 + minutes(2))
    code, out, err = cli("show", "INC-2027-0002")
    assert code == 2 and "first incident" not in out + err and "belongs to another row" in err
    assert show_incident(demo_app, "INC-2027-0001", now=T0 + minutes(2))["summary"] == "first incident's secret text"


def test_a_ciphertext_moved_to_another_column_of_the_same_row_does_not_decrypt(demo_app):
    """Field binding still holds: details moved into summary fail too."""
    report(demo_app, details="details text")
    raw_sql(demo_app, "UPDATE incident SET summary_enc=details_enc")
    from hokoku.models.incident import Incident

    with transaction(demo_app.engine) as session:
        inc = session.execute(select(Incident)).scalar_one()
        with pytest.raises(DecryptionError):
            demo_app.keyring.decrypt(inc.summary_enc, field="incident.summary", bind=inc.public_id)
        assert demo_app.keyring.decrypt(inc.details_enc, field="incident.details", bind=inc.public_id) == "details text"


# -- an existing database --------------------------------------------------------------------------
def _make_legacy(app) -> list[int]:
    """Turn ``app``'s database into one made by the code before 0003: schema just before it, unbound
    ciphertexts, events signed with the key derived from the data key, an unsigned head."""  # (schema before 0003)
    from alembic import command

    from hokoku.migrations import alembic_config

    ring = app.keyring
    from alembic.script import ScriptDirectory

    before = ScriptDirectory.from_config(alembic_config()).get_revision("0003").down_revision
    command.downgrade(alembic_config(app.engine), before)
    # The downgrade itself turns every ciphertext back into the unbound format of the revision before.
    blobs = [b for row in raw_sql(app, "SELECT summary_enc, details_enc FROM incident") for b in row]
    blobs += [b for row in raw_sql(app, "SELECT subject_enc, body_enc FROM notification") for b in row]
    assert blobs and all(bytes(b).startswith(b"h1") for b in blobs if b is not None)
    assert ring.decrypt_legacy(blobs[0], field="incident.summary") == "legacy summary"
    raw_sql(app, "DELETE FROM audit_event")
    raw_sql(app, "DELETE FROM audit_head")
    legacy = ring.current
    prev = audit.GENESIS
    for seq, (action, incident) in enumerate(
        [("org.loaded", None), ("incident.reported", "INC-2027-0001"), ("stage.started", "INC-2027-0001")], start=1
    ):
        at = T0 + minutes(seq)
        digest = audit.chain_hash(prev, audit.canonical(seq, at, "hokoku", action, incident, {}))
        raw_sql(
            app,
            "INSERT INTO audit_event (seq, at, actor, action, incident_public_id, data, prev_hash, hash, key_id, "
            "signature) VALUES (?, ?, 'hokoku', ?, ?, '{}', ?, ?, ?, ?)",
            (
                seq,
                at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" "),
                action,
                incident,
                prev,
                digest,
                legacy.key_id,
                legacy.signing_key.sign(digest.encode()).hex(),
            ),
        )
        prev = digest
    raw_sql(app, "INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, ?)", (prev,))
    app.settings.audit_key_file.unlink()
    shutil.rmtree(app.settings.checkpoint_dir)
    app.settings.public_keys_file.write_text(json.dumps({legacy.key_id: legacy.public_key_hex}))  # as old init wrote it


def test_an_existing_database_is_upgraded_and_still_verifies(demo_app, cli):
    """A database at the revision before 0003 (unbound ciphertexts, legacy-signed events, unsigned head): `db upgrade`
    re-encrypts every value bound to its row, makes the audit key, records the change in the
    chain signed by the legacy key; old events still verify; the data key can no longer sign."""
    report(demo_app, summary="legacy summary", details="legacy details")
    _make_legacy(demo_app)
    code, out, err = cli("db", "upgrade", "--json")
    assert code == 0, err
    from hokoku.store.schema_version import EXPECTED_HEAD

    assert json.loads(out)["to"] == EXPECTED_HEAD
    from hokoku.app import open_app
    from hokoku.services.queries import show_incident

    app = open_app()
    assert show_incident(app, "INC-2027-0001", now=T0 + minutes(5))["summary"] == "legacy summary"
    assert not any(bytes(b).startswith(b"h1") for (b,) in raw_sql(app, "SELECT body_enc FROM notification"))
    code, out, _ = cli("audit", "keys", "--json")
    keys = json.loads(out)["keys"]
    assert [(k["key_id"], k["status"]) for k in keys] == [
        ("k1", "legacy"),
        (app.keyring.signer.current.key_id, "current"),
    ]
    rotation = raw_sql(app, "SELECT key_id, data FROM audit_event WHERE action='audit.key'")
    assert [(k, json.loads(d)["previous"], json.loads(d)["legacy"]) for k, d in rotation] == [("k1", "k1", True)]
    code, out, _ = _verify(cli)
    assert code == 0 and out.startswith("OK: 5 audit events"), out
    assert cli("ack", "INC-2027-0001", "--as", PM, "--now", iso(T0 + minutes(30)))[0] == 0
    # The legacy (data-derived) key may not sign after the change.
    last = raw_sql(app, "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")[0]
    raw_sql(
        app,
        "UPDATE audit_event SET key_id='k1', signature=? WHERE seq=?",
        (app.keyring.get("k1").signing_key.sign(last[1].encode()).hex(), last[0]),
    )
    code, out, _ = _verify(cli)
    assert code == 1 and f"seq {last[0]}" in out and "active audit key" in out


# -- checkpoints at every sweep, daily to the audit officer ------------------------------------------
def test_each_sweep_appends_a_checkpoint_when_the_head_moved(demo_app):
    """A sweep that recorded something adds a signed line; a sweep that changed nothing adds none."""
    from hokoku.security.checkpoints import checkpoint_file, read_file
    from hokoku.services.sweep import sweep

    path = checkpoint_file(demo_app)
    first = read_file(path)  # init wrote the first one
    report(demo_app)
    sweep(demo_app, now=T0 + minutes(15))  # a reminder: the head moves
    lines = read_file(path)
    assert len(lines) == len(first) + 1
    assert lines[-1].seq == raw_sql(demo_app, "SELECT seq FROM audit_head")[0][0]
    sweep(demo_app, now=T0 + minutes(16))  # nothing due, nothing recorded
    assert len(read_file(path)) == len(lines)


def test_a_live_sweep_mails_the_checkpoint_to_the_audit_officer_once_a_day(demo_app):
    """The audit officer gets seq, hash, time and key id (no personal data) once per Japan date."""
    from hokoku.models.notification import Notification
    from hokoku.services.sweep import sweep

    report(demo_app, summary="secret summary text")
    now = datetime.now(UTC)
    sweep(demo_app, now=now, selfcheck=True)
    sweep(demo_app, now=now + timedelta(seconds=30), selfcheck=True)
    with transaction(demo_app.engine) as session:
        rows = session.execute(select(Notification).where(Notification.kind == "audit_checkpoint")).scalars().all()
    assert len(rows) == 1 and rows[0].recipient_email == "tanaka.audit@example.org" and rows[0].incident_id is None
    body = demo_app.keyring.decrypt(rows[0].body_enc, field="notification.body", bind=rows[0].idempotency_key)
    line = json.loads(body.strip().splitlines()[-1])
    assert line["seq"] >= 4 and line["key_id"] == demo_app.keyring.signer.current.key_id
    assert "secret summary" not in body and REPORTER not in body and "hokoku audit verify --checkpoint" in body


def test_the_mailed_checkpoint_line_verifies_with_checkpoint_file(demo_app, cli, tmp_path):
    """The JSON line in the audit officer's mail, saved to a file, is accepted by --checkpoint;
    the message exists in English too."""
    from hokoku.services import auditops

    report(demo_app)
    auditops.write_checkpoint(demo_app, force=True)
    auditops.queue_daily_checkpoint(demo_app, now=datetime.now(UTC))
    rows = raw_sql(demo_app, "SELECT idempotency_key, body_enc FROM notification WHERE kind='audit_checkpoint'")
    body = demo_app.keyring.decrypt(rows[0][1], field="notification.body", bind=rows[0][0])
    saved = tmp_path / "from-mail.jsonl"
    saved.write_text(body.strip().splitlines()[-1] + "\n")
    code, out, _ = _verify(cli, "--checkpoint", str(saved))
    assert code == 0 and "from-mail.jsonl" in out
    subject, text = demo_app.renderer.message(
        "audit_checkpoint",
        "en",
        recipient={"name": "A", "email": "a@x"},
        checkpoint={"seq": 9, "hash": "ab", "key_id": "a1"},
        line="{}",
        day="2027-02-01",
        written_at="-",
    )
    assert subject.startswith("[hokoku] Audit log checkpoint 2027-02-01") and "--checkpoint" in text


def test_rotating_a_key_given_in_the_environment_records_it_and_publishes_it(busy, demo_app, cli):
    """HOKOKU_AUDIT_SIGNING_KEY with a new seed first and the old after it: `audit rotate-key`
    records the change (signed by the old key) and rewrites the public-key file; verify is OK."""
    from hokoku.security.auditkeys import new_seed

    old_seed = [ln for ln in demo_app.settings.audit_key_file.read_text().splitlines() if not ln.startswith("#")][0]
    env = {"HOKOKU_AUDIT_SIGNING_KEY": f"{new_seed()},{old_seed}"}
    code, out, err = cli("audit", "rotate-key", "--json", env=env)
    assert code == 0, err
    assert json.loads(out)["key_id"] in json.loads(demo_app.settings.public_keys_file.read_text())
    assert _verify(cli)[0] == 0
    code, out, err = cli("audit", "rotate-key", env=env)
    assert code == 2 and "already the chain's key" in err
