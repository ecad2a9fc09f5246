"""Crash safety: SIGKILL the worker at random points of intake, sweep and dispatch, many times.

``tests/crash_worker.py`` files reports, sweeps and dispatches in a loop on a simulated clock,
delivering through a channel that appends each idempotency key to a file with fsync outside
hokoku's transactions. This test starts it, waits until it is inside a phase chosen at random,
kills it with SIGKILL after a random delay, and starts it again — ``TRIALS`` times (the seed
is printed; ``HOKOKU_CRASH_SEED`` replays a run). Then it runs recovery ticks to completion
and checks, on SQLite and on PostgreSQL:

* every message was delivered; the duplicates are bounded by the kills that landed between a
  send and the transaction recording it (found after each kill: a ``sending`` row whose message
  is already in the channel as many times as attempts were counted), and only those keys repeat;
* a crash between claim and send costs no attempt: attempts never exceed deliveries + kills;
* an unkilled control run on the same simulated clock (the same reports at the same times, then
  a sweep at the final time, in a fresh database) queues the same first notifications,
  escalations and overdue notices as the killed run;
* nothing is stuck: no stage, task or notification due before the recovery is left unprocessed;
* every report whose filing returned is in the database with its whole chain (stages, outbox
  rows, audit event) — a report killed mid-filing is there completely or not at all;
* the audit hash chain and signatures verify.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hokoku.models.audit import AuditEvent
from hokoku.models.casework import Task
from hokoku.models.incident import Incident, Stage
from hokoku.models.notification import Notification
from hokoku.security import audit
from hokoku.services.dispatch import dispatch
from hokoku.services.sweep import sweep
from hokoku.store.db import transaction
from tests.crash_worker import PHASES, FileChannel, sim_now
from tests.helpers import T0, wait_for_leases

pytestmark = pytest.mark.slow

# Read at import: the hokoku_home fixture clears HOKOKU_* variables before each test.
TRIALS = int(os.environ.get("HOKOKU_CRASH_TRIALS", "32"))
SEED = os.environ.get("HOKOKU_CRASH_SEED")
WORKER = Path(__file__).with_name("crash_worker.py")
#: The outbox lease in these runs (database clock): short, so a killed worker's rows come back soon.
LEASE_SECONDS = 1
#: Waiting for the worker to reach a phase follows its progress, not the wall clock: the limit
#: applies only while the phase file does not change (the worker reports its start-up steps too),
#: so a slow, loaded run keeps going as long as the worker moves; only a hung worker fails.
STALL_SECONDS = 300


def _phase(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def run_trials(app, workdir: Path, *, trials: int, seed: int) -> dict:
    rng = random.Random(seed)
    epoch = time.time()
    kills: Counter = Counter()
    in_flight: set[tuple[str, int]] = set()  # (key, trial)
    delivered = 0
    for trial in range(trials):
        proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "--dir",
                str(workdir),
                "--epoch",
                repr(epoch),
                "--seed",
                str(seed * 1000 + trial),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "worker.err", "ab"),
        )
        target = rng.choice(PHASES)
        (workdir / "phase").write_text("start")
        seen, progress_at = "start", time.monotonic()
        while (current := _phase(workdir / "phase")) != target:
            if proc.poll() is not None:
                raise AssertionError(
                    f"worker exited with {proc.returncode}: {(workdir / 'worker.err').read_text()[-2000:]}"
                )
            if current != seen:  # the worker moved on (imported, opened the app, finished a phase)
                seen, progress_at = current, time.monotonic()
            elif time.monotonic() - progress_at > STALL_SECONDS:
                proc.kill()
                raise AssertionError(f"worker stuck in phase {current!r} for {STALL_SECONDS} s (waiting for {target})")
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, 0.04))
        at = _phase(workdir / "phase")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills[at] += 1
        lines = _lines(workdir / "deliveries")
        in_flight |= {(key, trial) for key in _sent_unrecorded(app, lines[delivered:])}
        delivered = len(lines)
    return {"kills": kills, "epoch": epoch, "in_flight": in_flight}


def _sent_unrecorded(app, new_lines: list[str]) -> set[str]:
    """Keys the killed worker handed to the channel whose rows are still ``sending``: the kill landed
    between their send and the commit recording it (each such kill may add one copy)."""
    if not new_lines:
        return set()
    with transaction(app.engine) as session:
        return set(
            session.execute(
                select(Notification.idempotency_key).where(
                    Notification.status == "sending", Notification.idempotency_key.in_(set(new_lines))
                )
            ).scalars()
        )


def recover(app, workdir: Path, epoch: float):
    """What the next worker does on start: sweep and dispatch until nothing is due."""
    final = sim_now(epoch)
    channel = {"outbox": FileChannel(workdir / "deliveries")}
    while sweep(app, now=final):
        pass
    wait_for_leases(app)  # interrupted deliveries are claimed again once their lease ran out
    while dispatch(app, now=final, notifiers=channel, rng=random.Random(0)):
        pass
    return final, final


def check(app, workdir: Path, result: dict, final, later, label: str) -> None:
    kills, in_flight = result["kills"], result["in_flight"]
    deliveries = Counter(_lines(workdir / "deliveries"))
    intents = _lines(workdir / "intents")
    filed = dict(line.split() for line in _lines(workdir / "filed"))
    with transaction(app.engine) as session:
        rows = list(session.execute(select(Notification)).scalars())
        stuck_stages = session.execute(
            select(func.count()).select_from(Stage).where(Stage.next_action_at <= final)
        ).scalar_one()
        stuck_tasks = session.execute(
            select(func.count()).select_from(Task).where(Task.next_action_at <= final)
        ).scalar_one()
        incidents = {i.public_id: i for i in session.execute(select(Incident)).scalars()}
        summaries = {
            app.keyring.decrypt(i.summary_enc, field="incident.summary", bind=pid).split()[-1]: pid
            for pid, i in incidents.items()
        }
        stage_counts = dict(session.execute(select(Stage.incident_id, func.count()).group_by(Stage.incident_id)).all())
        notified = {r.incident_id for r in rows if r.kind == "notify"}
        reported = set(
            session.execute(
                select(AuditEvent.incident_public_id).where(AuditEvent.action == "incident.reported")
            ).scalars()
        )
        verified = audit.verify(session, app.keyring.public_keys())
    statuses = Counter(r.status for r in rows)
    duplicates = sum(n - 1 for n in deliveries.values())
    total_kills = sum(kills.values())
    _show(
        f"\n[{label}] trials {total_kills}, kills per phase {dict(sorted(kills.items()))}; "
        f"reports filed {len(filed)} (+{len(summaries) - len(filed)} committed but killed before the reply, "
        f"{len(intents) - len(summaries)} killed before commit); incidents {len(incidents)}; "
        f"messages {len(rows)} {dict(statuses)}; deliveries {sum(deliveries.values())}, duplicates {duplicates}; "
        f"audit events {verified.events}"
    )
    assert total_kills >= 30 and all(kills[p] for p in PHASES), kills
    # delivered exactly once per key, at most one duplicate each (and no more than the kills)
    assert statuses == Counter({"sent": len(rows)}), statuses
    assert set(deliveries) == {r.idempotency_key for r in rows}
    # A kill can land between a delivery and the commit that records it: that message is sent
    # again after its lease. Only such kills (found after each kill) can cause a duplicate.
    attempts = {r.idempotency_key: r.attempts for r in rows}
    repeated = {k: (n, attempts[k]) for k, n in deliveries.items() if n > 1}
    _show(
        f"[{label}] kills between a send and its record: {len(in_flight)}; "
        f"keys delivered more than once (deliveries, attempts): {repeated}"
    )
    assert duplicates <= len(in_flight) <= kills["dispatch"]
    assert set(repeated) <= {key for key, _ in in_flight}
    assert all(n <= attempts[k] for k, n in deliveries.items())  # never delivered without an attempt counted
    # a crash between claim and send costs no attempt: an attempt is counted only just before a
    # send, so the attempts beyond the deliveries are bounded by the kills in dispatch
    assert sum(attempts.values()) - sum(deliveries.values()) <= kills["dispatch"]
    # nothing stuck
    assert stuck_stages == 0 and stuck_tasks == 0
    assert not [r for r in rows if r.status in ("pending", "sending") and r.next_attempt_at <= later]
    # intake: what was acknowledged to the reporter is there, whole; nothing half-filed
    assert set(filed) <= set(summaries) <= set(intents)
    assert all(summaries[token] == pid for token, pid in filed.items())
    assert all(stage_counts.get(i.id, 0) >= 8 and i.id in notified for i in incidents.values())
    assert reported == set(incidents)
    assert verified.ok, verified.message()
    # what should exist: the same reports, unkilled, on the same simulated clock
    first = {_control_id(r.idempotency_key) for r in rows if r.kind in CONTROL_KINDS}
    expected = {_control_id(key) for key in control_run(app, workdir / "control", final)}
    _show(
        f"[{label}] control run: {len(expected)} first notifications, escalations and overdue notices; "
        f"killed run {len(first)}"
    )
    assert first == expected, (sorted(first - expected)[:10], sorted(expected - first)[:10])


#: The messages whose set does not depend on how often the sweep ran (reminders do: one per sweep).
CONTROL_KINDS = ("notify", "escalation", "overdue")


def _control_id(key: str) -> str:
    """A message's identity for the comparison: the key; for an overdue notice, incident and stage
    only (it goes to whoever the ladder had reached when the sweep marked it, which depends on when
    that sweep ran)."""
    parts = key.split(":")
    return ":".join(parts[:3]) if parts[2] == "overdue" else key


def control_run(app, home: Path, final) -> set[str]:
    """File the killed run's reports, in order and at their times, in a fresh (SQLite) database with
    nobody killed, sweep at ``final``; the idempotency keys of :data:`CONTROL_KINDS` it queued."""
    from hokoku.app import open_app
    from hokoku.services.intake import report_incident
    from hokoku.services.setup import init

    with transaction(app.engine) as session:
        reports = [
            (
                i.public_id,
                i.division_code,
                i.category,
                i.reporter_email,
                i.reported_at,
                i.aware_at,
                i.serious,
                app.keyring.decrypt(i.summary_enc, field="incident.summary", bind=i.public_id),
            )
            for i in session.execute(select(Incident).order_by(Incident.id)).scalars()
        ]
    control = open_app(home=str(home), database_url=f"sqlite:///{home / 'control.db'}")
    init(control, org_file=None, demo=True, now=T0)
    control = open_app(home=str(home), database_url=f"sqlite:///{home / 'control.db'}")
    for pid, division, category, reporter, reported_at, aware_at, serious, summary in reports:
        result = report_incident(
            control,
            division=division,
            category=category,
            summary=summary,
            reporter=reporter,
            now=reported_at,
            aware_at=aware_at,
            serious=serious,
        )
        assert result.public_id == pid
    while sweep(control, now=final):
        pass
    with transaction(control.engine) as session:
        return set(
            session.execute(select(Notification.idempotency_key).where(Notification.kind.in_(CONTROL_KINDS))).scalars()
        )


_CAPSYS: list = []


@pytest.fixture(autouse=True)
def _counts_on_the_terminal(capsys):
    """The seed and the counts are part of the result: ``_show`` prints them past pytest's capture."""
    _CAPSYS[:] = [capsys]
    yield
    _CAPSYS.clear()


def _show(text: str) -> None:
    if _CAPSYS:
        with _CAPSYS[0].disabled():
            print(text, flush=True)
    else:
        print(text)


def _seed() -> int:
    seed = int(SEED or random.SystemRandom().randrange(10**6))
    _show(f"\ncrash test seed {seed} (replay with HOKOKU_CRASH_SEED={seed})")
    return seed


def _short_lease(app, monkeypatch):
    monkeypatch.setenv("HOKOKU_OUTBOX_LEASE_SECONDS", str(LEASE_SECONDS))  # the worker processes
    app.settings.outbox_lease_seconds = LEASE_SECONDS
    return app


def test_sigkill_at_random_points_sqlite(demo_app, tmp_path, monkeypatch):
    """SQLite: 30+ SIGKILLs across intake, sweep and dispatch; every message delivered, duplicates
    only from kills between a send and its record, nothing stuck, the control run's messages."""
    app = _short_lease(demo_app, monkeypatch)
    seed = _seed()
    result = run_trials(app, tmp_path, trials=TRIALS, seed=seed)
    final, later = recover(app, tmp_path, result["epoch"])
    check(app, tmp_path, result, final, later, f"sqlite seed {seed}")


@pytest.mark.postgres
def test_sigkill_at_random_points_postgres(pg_app, tmp_path, monkeypatch):
    """PostgreSQL: the same, against the server (the killed client's transactions are rolled back)."""
    app = _short_lease(pg_app, monkeypatch)
    seed = _seed()
    result = run_trials(app, tmp_path, trials=TRIALS, seed=seed)
    final, later = recover(app, tmp_path, result["epoch"])
    check(app, tmp_path, result, final, later, f"postgresql seed {seed}")
