"""Crash safety: SIGKILL the worker at random points of intake, sweep and dispatch, many times.

``tests/crash_worker.py`` files reports, sweeps and dispatches in a loop on a simulated clock,
delivering through a channel that appends each idempotency key to a file with fsync outside
hokoku's transactions. This test starts it, waits until it is inside a phase chosen at random,
kills it with SIGKILL after a random delay, and starts it again — ``TRIALS`` times (the seed
is printed; ``HOKOKU_CRASH_SEED`` replays a run). Then it runs recovery ticks to completion
and checks, on SQLite and on PostgreSQL:

* every message was delivered, once per idempotency key — at most one duplicate per key (the
  file channel cannot deduplicate), and no more duplicates than kills;
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

from hokoku import audit
from hokoku.db import transaction
from hokoku.services.dispatch import LEASE, dispatch
from hokoku.services.sweep import sweep
from models.audit import AuditEvent
from models.casework import Task
from models.incident import Incident, Stage
from models.notification import Notification
from tests.crash_worker import PHASES, FileChannel, sim_now

pytestmark = pytest.mark.slow

# Read at import: the hokoku_home fixture clears HOKOKU_* variables before each test.
TRIALS = int(os.environ.get("HOKOKU_CRASH_TRIALS", "32"))
SEED = os.environ.get("HOKOKU_CRASH_SEED")
WORKER = Path(__file__).with_name("crash_worker.py")


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
    for trial in range(trials):
        proc = subprocess.Popen([sys.executable, str(WORKER), "--dir", str(workdir), "--epoch", repr(epoch),
                                 "--seed", str(seed * 1000 + trial)], stdout=subprocess.DEVNULL,
                                stderr=open(workdir / "worker.err", "ab"))
        target = rng.choice(PHASES)
        deadline = time.monotonic() + 30
        (workdir / "phase").write_text("start")
        while _phase(workdir / "phase") != target:
            if proc.poll() is not None:
                raise AssertionError(f"worker exited with {proc.returncode}: {(workdir / 'worker.err').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"worker never reached phase {target}")
            time.sleep(0.0005)
        time.sleep(rng.uniform(0, 0.04))
        at = _phase(workdir / "phase")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills[at] += 1
    return {"kills": kills, "epoch": epoch}


def recover(app, workdir: Path, epoch: float):
    """What the next worker does on start: sweep and dispatch until nothing is due."""
    final = sim_now(epoch)
    channel = {"outbox": FileChannel(workdir / "deliveries")}
    while sweep(app, now=final):
        pass
    later = final + LEASE  # interrupted deliveries are claimed again once their lease ran out
    while dispatch(app, now=later, notifiers=channel, rng=random.Random(0)):
        pass
    return final, later


def check(app, workdir: Path, kills: Counter, final, later, label: str) -> None:
    deliveries = Counter(_lines(workdir / "deliveries"))
    intents = _lines(workdir / "intents")
    filed = dict(line.split() for line in _lines(workdir / "filed"))
    with transaction(app.engine) as session:
        rows = list(session.execute(select(Notification)).scalars())
        stuck_stages = session.execute(select(func.count()).select_from(Stage).where(Stage.next_action_at <= final)).scalar_one()
        stuck_tasks = session.execute(select(func.count()).select_from(Task).where(Task.next_action_at <= final)).scalar_one()
        incidents = {i.public_id: i for i in session.execute(select(Incident)).scalars()}
        summaries = {app.keyring.decrypt(i.summary_enc, field="incident.summary", bind=pid).split()[-1]: pid
                     for pid, i in incidents.items()}
        stage_counts = dict(session.execute(select(Stage.incident_id, func.count()).group_by(Stage.incident_id)).all())
        notified = {r.incident_id for r in rows if r.kind == "notify"}
        reported = set(session.execute(select(AuditEvent.incident_public_id)
                                       .where(AuditEvent.action == "incident.reported")).scalars())
        verified = audit.verify(session, app.keyring.public_keys())
    statuses = Counter(r.status for r in rows)
    duplicates = sum(n - 1 for n in deliveries.values())
    total_kills = sum(kills.values())
    _show(f"\n[{label}] trials {total_kills}, kills per phase {dict(sorted(kills.items()))}; "
          f"reports filed {len(filed)} (+{len(summaries) - len(filed)} committed but killed before the reply, "
          f"{len(intents) - len(summaries)} killed before commit); incidents {len(incidents)}; "
          f"messages {len(rows)} {dict(statuses)}; deliveries {sum(deliveries.values())}, duplicates {duplicates}; "
          f"audit events {verified.events}")
    assert total_kills >= 30 and all(kills[p] for p in PHASES), kills
    # delivered exactly once per key, at most one duplicate each (and no more than the kills)
    assert statuses == Counter({"sent": len(rows)}), statuses
    assert set(deliveries) == {r.idempotency_key for r in rows}
    # A kill can land between a delivery and the commit that records it: that message is sent
    # again after its lease. Only one message is in flight at a time, so each kill adds at most
    # one duplicate; a key is duplicated more than once only when several kills hit it in flight.
    attempts = {r.idempotency_key: r.attempts for r in rows}
    repeated = {k: (n, attempts[k]) for k, n in deliveries.items() if n > 1}
    _show(f"[{label}] keys delivered more than once (deliveries, attempts): {repeated}")
    assert duplicates <= total_kills
    assert all(n <= attempts[k] for k, n in deliveries.items())  # never delivered without a claim
    # nothing stuck
    assert stuck_stages == 0 and stuck_tasks == 0
    assert not [r for r in rows if r.status in ("pending", "sending") and r.next_attempt_at <= later]
    # intake: what was acknowledged to the reporter is there, whole; nothing half-filed
    assert set(filed) <= set(summaries) <= set(intents)
    assert all(summaries[token] == pid for token, pid in filed.items())
    assert all(stage_counts.get(i.id, 0) >= 8 and i.id in notified for i in incidents.values())
    assert reported == set(incidents)
    assert verified.ok, verified.message()


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


def test_sigkill_at_random_points_sqlite(demo_app, tmp_path):
    """SQLite: 30+ SIGKILLs across intake, sweep and dispatch; exactly-once delivery per key, nothing stuck."""
    seed = _seed()
    result = run_trials(demo_app, tmp_path, trials=TRIALS, seed=seed)
    final, later = recover(demo_app, tmp_path, result["epoch"])
    check(demo_app, tmp_path, result["kills"], final, later, f"sqlite seed {seed}")


@pytest.mark.postgres
def test_sigkill_at_random_points_postgres(pg_app, tmp_path):
    """PostgreSQL: the same, against the server (the killed client's transactions are rolled back)."""
    seed = _seed()
    result = run_trials(pg_app, tmp_path, trials=TRIALS, seed=seed)
    final, later = recover(pg_app, tmp_path, result["epoch"])
    check(pg_app, tmp_path, result["kills"], final, later, f"postgresql seed {seed}")
