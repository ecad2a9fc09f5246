"""Round trips through the services on a real SQLite file: rows, ids, policy snapshots, encryption
at rest, the audit chain, the sweep's index, and the outbox's delivery guarantees."""

from __future__ import annotations

import json
import os
import random
import stat
from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from hokoku.app import open_app
from hokoku.config.policyfile import DEFAULT_POLICY
from hokoku.models.incident import Incident, Stage
from hokoku.models.notification import Notification
from hokoku.notifiers.base import DeliveryError, DeliveryResult
from hokoku.security import audit
from hokoku.services.dispatch import claim, dispatch
from hokoku.services.queries import outbox, show_incident
from hokoku.services.stagerows import load_stages
from hokoku.services.sweep import sweep
from hokoku.services.transitions import acknowledge, advance
from hokoku.store.db import transaction
from tests.helpers import (
    GM,
    PM,
    PO,
    REPORTER,
    STAFF_STAGES,
    STATUTORY_STAGES,
    T0,
    audit_actions,
    last_seq,
    minutes,
    raw_sql,
    report,
    short_lease,
    wait_for_leases,
)

UTC = UTC


# -- test doubles --------------------------------------------------------------------------
class FailingNotifier:
    """Raises DeliveryError for every message (transient or permanent) and records the attempts."""

    channel = "outbox"

    def __init__(self, *, permanent: bool):
        self.permanent = permanent
        self.attempted: list[str] = []

    def send(self, message):
        self.attempted.append(message.idempotency_key)
        raise DeliveryError("relay answered 451 4.3.0 try again later", permanent=self.permanent)


class RecordingNotifier:
    """Accepts every message and records its idempotency key."""

    channel = "outbox"

    def __init__(self):
        self.sent: list[str] = []

    def send(self, message):
        self.sent.append(message.idempotency_key)
        return DeliveryResult(provider_id=f"fake:{len(self.sent)}")


def notifications(app, *kinds: str) -> list[Notification]:
    """Outbox rows in id order (only those of ``kinds`` if given)."""
    with transaction(app.engine) as session:
        query = select(Notification).order_by(Notification.id)
        if kinds:
            query = query.where(Notification.kind.in_(kinds))
        return list(session.execute(query).scalars())


#: The two messages a report queues: the protection manager's notice and the reporter's receipt.
REPORT_KINDS = ("notify", "statutory_started", "receipt")


# -- rows and ids --------------------------------------------------------------------------
def test_report_creates_the_incident_and_its_stage_rows(demo_app):
    """A report is one Incident row plus one Stage row per applicable stage; report done, acknowledge started."""
    result = report(demo_app)
    with transaction(demo_app.engine) as session:
        incident = session.execute(select(Incident)).scalar_one()
        rows = load_stages(session, incident)
    assert result.public_id == incident.public_id == "INC-2027-0001"
    assert (incident.division_code, incident.institute_code, incident.category, incident.status) == (
        "IDS-SURVEY",
        "IDS",
        "malware",
        "open",
    )
    assert incident.reported_at == incident.aware_at == T0
    assert [r.code for r in rows] == STAFF_STAGES
    by_code = {r.code: r for r in rows}
    assert (by_code["report"].status, by_code["report"].owner_email) == ("done", REPORTER)
    ack = by_code["acknowledge"]
    assert (ack.status, ack.owner_email, ack.due_at, ack.next_action_at) == (
        "notified",
        PM,
        T0 + minutes(60),
        T0 + minutes(15),
    )
    statutory = [r for r in rows if r.code in STATUTORY_STAGES]
    assert {(r.status, r.owner_email) for r in statutory} == {("notified", GM)}  # clocks run from the report
    rest = [r for r in rows[2:] if r.code not in STATUTORY_STAGES]
    assert {r.status for r in rest} == {"pending"}
    assert all(r.next_action_at is None for r in rest)


def test_incident_ids_count_per_japan_year(demo_app):
    """Ids are INC-<Japan year>-<nnnn>: 2026-12-31T16:00Z is already 2027 in Japan."""
    ids = [
        report(demo_app, now=datetime(2026, 12, 31, 14, 0, tzinfo=UTC)).public_id,  # 23:00 JST Dec 31
        report(demo_app, now=datetime(2026, 12, 31, 16, 0, tzinfo=UTC)).public_id,  # 01:00 JST Jan 1
        report(demo_app, now=T0).public_id,
    ]
    assert ids == ["INC-2026-0001", "INC-2027-0001", "INC-2027-0002"]


def test_policy_is_snapshotted_onto_each_incident(demo_app, tmp_path, monkeypatch):
    """Editing the policy file changes new incidents only: incident 1 keeps its 1h acknowledge deadline."""
    first = report(demo_app)
    doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    ack = next(st for st in doc["stages"] if st["code"] == "acknowledge")
    ack["deadline"] = "3h"
    edited = tmp_path / "policy.yaml"
    edited.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HOKOKU_POLICY_FILE", str(edited))
    app2 = open_app()
    second = report(app2, now=T0 + minutes(5))

    shown = {pid: show_incident(app2, pid, now=T0) for pid in (first.public_id, second.public_id)}
    due = {pid: next(s["due_at"] for s in d["stages"] if s["code"] == "acknowledge") for pid, d in shown.items()}
    assert due[first.public_id] == (T0 + minutes(60)).astimezone(UTC).isoformat()
    assert due[second.public_id] == (T0 + minutes(185)).astimezone(UTC).isoformat()
    assert shown[first.public_id]["policy_sha256"] != shown[second.public_id]["policy_sha256"]
    overdue = [e.incident for e in sweep(app2, now=T0 + minutes(61)) if e.kind == "overdue"]
    assert overdue == [first.public_id]


# -- encryption at rest --------------------------------------------------------------------
def test_personal_text_is_encrypted_at_rest_but_show_decrypts_it(demo_app, cli):
    """The summary, a note and rendered messages are not in the database file; `hokoku show` reads them."""
    summary = "PC SV-0042 encrypted by ransomware; 312 respondents incl. 山田花子 exposed"
    note = "LAN cable pulled at 10:05 by Sato; image taken, hash 9f8e7d"
    pid = report(demo_app, summary=summary).public_id
    acknowledge(demo_app, incident_id=pid, actor=PM, now=T0 + minutes(5))
    advance(demo_app, incident_id=pid, stage="immediate-measures", actor=PM, now=T0 + minutes(10), note=note)
    advance(demo_app, incident_id=pid, stage="investigation-report", actor=PM, now=T0 + minutes(20), note=note)
    bodies = [row["body"] for row in outbox(demo_app)]
    assert any(summary in b for b in bodies) and any(note in b for b in bodies)  # rendered with the text

    home = demo_app.settings.home
    raw = b"".join(p.read_bytes() for p in (home / "hokoku.db", home / "hokoku.db-wal") if p.exists())
    assert pid.encode() in raw  # we are reading the right file
    for secret in [summary, "312 respondents", "山田花子", note, "hash 9f8e7d", *bodies]:
        assert secret.encode("utf-8") not in raw, secret

    code, out, _err = cli("show", pid, "--json", "--now", (T0 + minutes(30)).isoformat())
    shown = json.loads(out)
    assert code == 0
    assert shown["summary"] == summary
    assert {s["code"]: s["note"] for s in shown["stages"]}["immediate-measures"] == note
    code, out, _err = cli("outbox", "--json")
    assert sorted(r["body"] for r in json.loads(out)) == sorted(bodies)


def test_key_file_is_owner_only(demo_app):
    """`init` creates the key file with mode 0600 inside a 0700 directory."""
    key_file = demo_app.settings.key_file
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_file.parent).st_mode) == 0o700


# -- the audit log -------------------------------------------------------------------------
def chain_events(app, after_seq: int) -> list[tuple[str, str | None]]:
    """(action, stage) of the chain's own audit events (incident.*, stage.*) after ``after_seq``."""
    return [
        (a, d.get("stage"))
        for a, d in audit_actions(app, after_seq=after_seq)
        if a.split(".")[0] in ("incident", "stage")
    ]


def test_every_state_change_appends_an_audit_event(demo_app):
    """Report, sweep, delivery, acknowledgement, advance and a refusal each leave their events."""
    assert [a for a, _ in audit_actions(demo_app)] == ["audit.key", "org.loaded"]  # the first key, then the org
    seq = last_seq(demo_app)
    pid = report(demo_app).public_id
    assert chain_events(demo_app, seq) == [
        ("incident.reported", None),
        ("stage.started", "report"),
        ("stage.started", "acknowledge"),
        ("stage.started", "ppc-preliminary"),
        ("stage.started", "ppc-final"),
        ("stage.started", "individual-notice"),
    ]

    seq = last_seq(demo_app)
    sweep(demo_app, now=T0 + minutes(15))
    assert chain_events(demo_app, seq) == [("stage.reminder", "acknowledge")]

    seq = last_seq(demo_app)
    delivered = dispatch(demo_app, now=T0 + minutes(15), notifiers={"outbox": RecordingNotifier()})
    assert [a for a, _ in audit_actions(demo_app, after_seq=seq)] == ["notification.sent"] * len(delivered)
    assert {
        f"{pid}:acknowledge:notify:{PM}:outbox",
        f"{pid}:receipt:{REPORTER}:outbox",
        f"{pid}:acknowledge:reminder:1:{PM}:outbox",
    } <= {e.key for e in delivered}

    seq = last_seq(demo_app)
    acknowledge(demo_app, incident_id=pid, actor=PO, now=T0 + minutes(20))
    assert chain_events(demo_app, seq) == [
        ("stage.acknowledged", "acknowledge"),
        ("stage.started", "triage"),
        ("stage.started", "immediate-measures"),
    ]

    seq = last_seq(demo_app)
    advance(demo_app, incident_id=pid, stage="immediate-measures", actor=PM, now=T0 + minutes(25))
    assert chain_events(demo_app, seq) == [
        ("stage.done", "immediate-measures"),
        ("stage.started", "containment"),
        ("stage.started", "investigation-report"),
    ]

    seq = last_seq(demo_app)
    with pytest.raises(Exception, match="cannot be completed before investigation-report"):
        advance(demo_app, incident_id=pid, stage="root-cause", actor=PM, now=T0 + minutes(26))
    assert [(a, d["stage"]) for a, d in audit_actions(demo_app, after_seq=seq)] == [("stage.refused", "root-cause")]
    assert last_seq(demo_app) == seq + 1


def verify(app):
    with transaction(app.engine) as session:
        return audit.verify(session, app.keyring.public_keys())


def test_audit_chain_verifies(demo_app):
    """An untouched log verifies: chain and signatures, every event counted."""
    report(demo_app)
    events = last_seq(demo_app)
    assert events >= 4
    result = verify(demo_app)
    assert (result.ok, result.events) == (True, events)
    assert result.message() == f"OK: {events} audit events, chain and signatures verified"


def test_audit_edit_is_detected_at_its_seq(demo_app):
    """Changing one row's actor with plain SQL fails verification at that seq."""
    report(demo_app)
    raw_sql(demo_app, "UPDATE audit_event SET actor='x' WHERE seq=3")
    result = verify(demo_app)
    assert (result.ok, result.bad_seq) == (False, 3)
    assert "edited" in result.reason
    assert result.message().startswith("FAILED at audit event seq 3 ")


def test_audit_deletion_is_detected_as_a_gap(demo_app):
    """Deleting one row fails verification naming the missing seq."""
    report(demo_app)
    raw_sql(demo_app, "DELETE FROM audit_event WHERE seq=3")
    result = verify(demo_app)
    assert (result.ok, result.bad_seq) == (False, 4)
    assert result.reason == "event seq 3 is missing (deleted?)"


def test_audit_deleting_the_last_event_is_detected_by_the_head(demo_app):
    """Deleting the newest row leaves a valid-looking chain, but the head no longer matches."""
    report(demo_app)
    raw_sql(demo_app, "DELETE FROM audit_event WHERE seq=(SELECT max(seq) FROM audit_event)")
    result = verify(demo_app)
    assert result.ok is False
    assert "head does not match" in result.reason


def test_audit_forged_signature_is_detected(demo_app):
    """A re-hashed edit (attacker recomputes the hash chain) still fails on the signature: the
    head's, which covers every event through the chain (events carry none of their own since issue 14)."""
    report(demo_app)
    rows = raw_sql(
        demo_app,
        "SELECT seq, at, actor, action, incident_public_id, data, prev_hash, recorded_at FROM audit_event ORDER BY seq",
    )
    prev = audit.GENESIS
    for seq, at, actor, action, incident, data, _prev, recorded in rows:
        actor = "x" if seq == 3 else actor
        when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        real = datetime.fromisoformat(recorded).replace(tzinfo=UTC)
        digest = audit.chain_hash(prev, audit.canonical(seq, when, actor, action, incident, json.loads(data), real))
        raw_sql(demo_app, "UPDATE audit_event SET actor=?, prev_hash=?, hash=? WHERE seq=?", (actor, prev, digest, seq))
        prev = digest
    raw_sql(demo_app, "UPDATE audit_head SET hash=?", (prev,))
    result = verify(demo_app)
    assert (result.ok, result.bad_seq, result.reason) == (
        False,
        len(rows),
        "the audit head's signature does not verify",
    )


# -- the sweep reads due rows only ---------------------------------------------------------
def _capture_selects(app, fn):
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(app.engine, "before_cursor_execute", listener)
    return statements


def test_sweep_query_uses_the_next_action_at_index(demo_app):
    """The sweep's SELECT is an index range search on ix_stage_next_action_at, never a table scan."""
    report(demo_app)
    statements = _capture_selects(demo_app, lambda: sweep(demo_app, now=T0 + minutes(15)))
    statement, params = statements[0]
    assert "FROM stage" in statement and "next_action_at <=" in statement
    plan = [row[3] for row in raw_sql(demo_app, "EXPLAIN QUERY PLAN " + statement, tuple(params))]
    assert any("USING INDEX ix_stage_next_action_at" in step for step in plan), plan
    assert not any(step.startswith("SCAN stage") for step in plan), plan


def test_sweep_with_nothing_due_reads_no_incident(demo_app):
    """With five open incidents and nothing due the sweep only runs its due-row queries, loading no incident."""
    for i in range(5):
        report(demo_app, now=T0 + minutes(i))
    statements = [s for s, _ in _capture_selects(demo_app, lambda: sweep(demo_app, now=T0 + minutes(10)))]
    # Besides the due-row queries, the checkpoint reads the one audit head row (by primary key).
    head_reads = [s for s in statements if "FROM audit_head" in s and "WHERE audit_head.id = " in s]
    assert len(head_reads) <= 1, head_reads
    statements = [s for s in statements if s not in head_reads]
    assert any("FROM stage" in s for s in statements)
    assert all("next_action_at <=" in s for s in statements), statements
    assert not any("FROM incident" in s for s in statements), statements


def test_sweep_twice_at_the_same_now_queues_nothing_more(demo_app):
    """Re-running the sweep at the same instant writes no second reminder or escalation."""
    report(demo_app)
    first = sweep(demo_app, now=T0 + minutes(31))
    count = len(notifications(demo_app))
    assert [(e.stage, e.kind) for e in first if e.kind in ("reminder", "escalation", "overdue")] == [
        ("acknowledge", "escalation")
    ]
    assert sweep(demo_app, now=T0 + minutes(31)) == []
    assert len(notifications(demo_app)) == count


# -- the outbox ----------------------------------------------------------------------------
def test_transient_delivery_failure_is_retried_later_not_marked_sent(demo_app):
    """A transient DeliveryError leaves the message pending, attempts=1, next attempt in the future."""
    report(demo_app)
    failing = FailingNotifier(permanent=False)
    events = dispatch(demo_app, now=T0, notifiers={"outbox": failing}, rng=random.Random(7))
    assert [e.outcome for e in events] == ["retry"] * 3
    rows = notifications(demo_app, *REPORT_KINDS)
    assert [(r.status, r.attempts, r.sent_at, r.provider_id) for r in rows] == [("pending", 1, None, None)] * 3
    assert all(r.next_attempt_at > T0 for r in rows)
    assert all("451" in r.last_error for r in rows)
    assert "notification.sent" not in [a for a, _ in audit_actions(demo_app)]
    assert dispatch(demo_app, now=T0 + timedelta(seconds=1), notifiers={"outbox": failing}) == []
    assert len(failing.attempted) == 3


def test_permanent_delivery_failure_is_failed_and_shown(demo_app):
    """A permanent DeliveryError marks the message failed; show_incident lists it under delivery_failures."""
    pid = report(demo_app).public_id
    events = dispatch(demo_app, now=T0, notifiers={"outbox": FailingNotifier(permanent=True)})
    assert [e.outcome for e in events] == ["failed"] * 3
    assert [(r.status, r.sent_at, r.provider_id) for r in notifications(demo_app, *REPORT_KINDS)] == [
        ("failed", None, None)
    ] * 3
    failures = show_incident(demo_app, pid, now=T0)["delivery_failures"]
    assert sorted(f["recipient"] for f in failures) == sorted([PM, GM, REPORTER])
    assert all("451" in f["error"] for f in failures)
    assert [a for a, _ in audit_actions(demo_app, incident=pid)].count("notification.failed") == 3


def test_claimed_row_left_sending_is_reclaimed_after_the_lease_and_sent_once(demo_app):
    """A crash between claim and send leaves rows `sending`; the lease runs on the database's clock
    (a later simulated `now` cannot end it); after it they are delivered once, and the crash cost
    no attempt."""
    short_lease(demo_app, 0.5)
    report(demo_app)
    claimed = claim(demo_app, now=T0, limit=500)  # ...and the process dies here
    assert len(claimed.ids) == 3
    assert [(r.status, r.attempts) for r in notifications(demo_app)] == [("sending", 0)] * 3
    notifier = RecordingNotifier()
    assert dispatch(demo_app, now=T0 + timedelta(days=3), notifiers={"outbox": notifier}) == []
    wait_for_leases(demo_app)
    events = dispatch(demo_app, now=T0, notifiers={"outbox": notifier})
    assert [e.outcome for e in events] == ["sent"] * 3
    assert dispatch(demo_app, now=T0 + timedelta(days=3), notifiers={"outbox": notifier}) == []
    assert sorted(notifier.sent) == sorted(r.idempotency_key for r in notifications(demo_app))
    assert [(r.status, r.attempts, r.claim_id, r.lease_until) for r in notifications(demo_app)] == [
        ("sent", 1, None, None)
    ] * 3


def test_idempotency_key_is_unique_in_the_database(demo_app):
    """Inserting a second outbox row with an existing idempotency key raises IntegrityError."""
    report(demo_app)
    original = notifications(demo_app)[0]
    with pytest.raises(IntegrityError):
        with transaction(demo_app.engine) as session:
            session.add(
                Notification(
                    idempotency_key=original.idempotency_key,
                    incident_id=original.incident_id,
                    kind=original.kind,
                    channel=original.channel,
                    recipient_email=original.recipient_email,
                    subject_enc=original.subject_enc,
                    body_enc=original.body_enc,
                    created_at=T0,
                )
            )
    with transaction(demo_app.engine) as session:
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 3


def test_refused_transition_writes_no_stage_change(demo_app):
    """An out-of-order advance leaves every Stage row exactly as it was."""
    report(demo_app)

    def snapshot():
        with transaction(demo_app.engine) as session:
            return [
                (s.code, s.status, s.completed_at, s.next_action_at)
                for s in session.execute(select(Stage).order_by(Stage.id)).scalars()
            ]

    before = snapshot()
    with pytest.raises(Exception, match="cannot be completed before"):
        advance(demo_app, incident_id="INC-2027-0001", stage="root-cause", actor=PM, now=T0 + minutes(1))
    assert snapshot() == before
