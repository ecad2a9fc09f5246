"""Two workers, one truth: the attacks of issue 12, in separate processes on PostgreSQL.

* sweep ‖ dispatch ‖ acknowledgement in separate processes: no deadlock (``bench.soak``, fast);
* the acceptance run, short: two workers against a Slack stub taking 1 s per post, with
  acknowledgements arriving: 0 deadlocks, 0 posted twice, 0 lost (``bench.soak``; the ten-minute
  run is ``python -m bench.soak --minutes 10``);
* a lease that runs out mid-batch with a slow Slack peer: the row is taken over, and the old
  owner neither sends nor records it;
* two dispatchers whose simulated clocks (``tick --now``) are minutes apart: no live lease expires;
* a worker killed mid-batch: its rows are delivered within 90 s of the kill;
* repeated crashes between claim and send, then one transient provider error: retried, not failed.

Deadlines in these tests follow progress (generous polling), not a loaded machine's speed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hokoku.models.notification import Notification
from hokoku.notifiers.base import DeliveryError, DeliveryResult
from hokoku.services.dispatch import MAX_ATTEMPTS, dispatch
from hokoku.store.db import transaction
from tests import pgscratch  # reads HOKOKU_TEST_DATABASE_URL at import (the fixtures clear HOKOKU_*)
from tests.channel_helpers import configure
from tests.helpers import T0, report, wait_for_leases
from tests.slack_stub import SlackStub

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).with_name("lease_worker.py")
T1 = T0 + timedelta(minutes=1)  # the dispatchers' simulated time: every report below is due


def _rows(app) -> list[Notification]:
    with transaction(app.engine) as session:
        return list(session.execute(select(Notification).order_by(Notification.id)).scalars())


def _posted(stub: SlackStub) -> Counter:
    return Counter(
        r.body["metadata"]["event_payload"]["idempotency_key"]
        for r in stub.calls("chat.postMessage")
        if r.body.get("metadata")
    )


def _know_everyone(app, stub: SlackStub) -> None:
    with transaction(app.engine) as session:
        for n, email in enumerate(sorted(app.organisation(session).people())):
            stub.add_user(email, f"U0TEST{n:04d}")


def _slack_app(monkeypatch, stub: SlackStub, **extra: str):
    app = configure(monkeypatch, slack_url=stub.base_url, **extra)
    _know_everyone(app, stub)
    return app


def _start(mode: str, workdir: Path, now, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, "--now", now.isoformat(), "--dir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=open(workdir / f"{name}.err", "ab"),
    )


def _wait_until(predicate, *, what: str, stalled_after: float = 120.0, progress=None):
    """Poll ``predicate``; fail only when ``progress()`` has not changed for ``stalled_after`` s."""
    last, changed = None, time.monotonic()
    while not predicate():
        value = progress() if progress else None
        if value != last:
            last, changed = value, time.monotonic()
        if time.monotonic() - changed > stalled_after:
            raise AssertionError(f"no progress towards: {what} (last {last!r})")
        time.sleep(0.2)


def _sent(app) -> int:
    with transaction(app.engine) as session:
        return session.execute(
            select(func.count()).select_from(Notification).where(Notification.status == "sent")
        ).scalar_one()


def _stop(procs, workdir: Path) -> None:
    (workdir / "stop").write_text("")
    for p in procs:
        try:
            p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _soak(*args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKOKU_")}
    env["HOKOKU_TEST_DATABASE_URL"] = pgscratch.base_url()
    out = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--json", *args],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert out.stdout.strip(), out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nsoak {' '.join(args)}: {result}")
    return result


def _assert_clean(result: dict) -> None:
    assert result["deadlocks_postgres"] == 0 and result["deadlock_errors"] == 0, result
    assert result["posted_twice"] == 0 and result["extra_updates"] == 0, result
    assert result["lost"] == 0 and result["audit_ok"], result
    assert not result["other_errors"], result
    assert result["messages"] > 0


# -- lock order ------------------------------------------------------------------------------
def test_sweep_dispatch_and_acknowledgements_in_separate_processes_never_deadlock(pg_url):
    """Two workers (sweep + dispatch in a tight loop, fast Slack stub, business clock x600 so
    reminders and escalations fall due all the time, the second worker's clock 7 minutes ahead)
    and a process filing reports and acknowledging stages, each followed by a dispatch of that
    incident: PostgreSQL counts 0 deadlocks, no process caught an error, nothing posted twice or lost.

    The volume follows progress, not the wall clock: 40 s rounds (one is enough on an idle
    machine) until 20 incidents and 100 sent messages in all; every round must be clean."""
    incidents = sent = rounds = 0
    while incidents < 20 or sent < 100:
        assert rounds < 12, f"{rounds} rounds made only {incidents} incidents, {sent} sent messages"
        result = _soak(
            "--seconds",
            "40",
            "--post-seconds",
            "0",
            "--interval",
            "0.1",
            "--speed",
            "600",
            "--report-every",
            "0.5",
            "--people-interval",
            "0.1",
            "--ack-chance",
            "0.3",
            "--skew-minutes",
            "7",
            "--seed",
            str(12 + rounds),
        )
        _assert_clean(result)
        incidents, sent, rounds = incidents + result["incidents"], sent + result["statuses"].get("sent", 0), rounds + 1


def test_two_workers_with_a_slack_stub_taking_one_second_per_post_short_acceptance_run(pg_url):
    """The acceptance run, short (``HOKOKU_SOAK_SECONDS``, default 75 s): two worker processes,
    sweep and dispatch every 3 s in real time, Slack taking 1 s per post and per update,
    acknowledgements arriving: 0 deadlocks, 0 messages posted twice, 0 lost."""
    seconds = os.environ.get("HOKOKU_SOAK_SECONDS") or _SOAK_SECONDS or "75"
    result = _soak("--seconds", seconds, "--post-seconds", "1")
    _assert_clean(result)


_SOAK_SECONDS = os.environ.get("HOKOKU_SOAK_SECONDS")  # read at import: the fixtures clear HOKOKU_*


# -- leases ----------------------------------------------------------------------------------
def test_a_lease_that_runs_out_mid_batch_with_a_slow_slack_peer_sends_nothing_twice(pg_app, monkeypatch, tmp_path):
    """Slack takes 1 s per post, the lease is 3 s and a claimed batch takes ~10 s: the other
    dispatcher takes over the rows whose lease ran out, and the old owner, checking its claim id
    before sending, skips them. Every message is posted exactly once."""
    with SlackStub() as stub:
        stub.slow("chat.postMessage", seconds=1, times=None)
        app = _slack_app(monkeypatch, stub, outbox_lease_seconds="3")
        for i in range(15):
            report(app, now=T0 + timedelta(seconds=i))
        total = len(_rows(app))
        procs = [_start("loop", tmp_path, T1, f"w{i}") for i in range(2)]
        try:
            _wait_until(lambda: _sent(app) == total, what="every message sent", progress=lambda: _sent(app))
        finally:
            _stop(procs, tmp_path)
        posted = _posted(stub)
    rows = _rows(app)
    assert {r.status for r in rows} == {"sent"}
    assert set(posted) == {r.idempotency_key for r in rows}
    assert set(posted.values()) == {1}, {k: n for k, n in posted.items() if n > 1}
    assert all(r.attempts == 1 for r in rows)
    taken_over = sum((tmp_path / f"w{i}.err").read_text().count("taken over before sending") for i in range(2))
    assert taken_over > 0, "no lease ran out: the attack did not happen"
    print(f"\n{total} messages, {taken_over} rows taken over from a dispatcher whose lease ran out")


def test_dispatchers_whose_simulated_clocks_are_minutes_apart_cannot_expire_a_live_lease(pg_app, monkeypatch, tmp_path):
    """One dispatcher works at ``--now`` T0+1min through a Slack peer taking 2 s per post; meanwhile
    `hokoku tick --now T0+10min` runs three times (two `tick --now` loops that disagree by more than
    the old five-minute lease). Leases are on the database's clock, so the tick never takes the
    live rows over: nothing is posted twice."""
    with SlackStub() as stub:
        stub.slow("chat.postMessage", seconds=2, times=None)
        app = _slack_app(monkeypatch, stub)
        for i in range(5):
            report(app, now=T0 + timedelta(seconds=i))
        slow = _start("loop", tmp_path, T1, "slow")
        hokoku = Path(sys.executable).with_name("hokoku")
        later = (T0 + timedelta(minutes=10)).isoformat()  # before the first reminder (15 min)
        try:
            _wait_until(lambda: len(stub.calls("chat.postMessage")) >= 1, what="the first post")
            for _ in range(3):
                tick = subprocess.run(
                    [str(hokoku), "tick", "--now", later], capture_output=True, text=True, timeout=900
                )
                assert tick.returncode == 0, tick.stderr[-2000:]
        finally:
            _stop([slow], tmp_path)
        stub.normal("chat.postMessage", times=1)
        while dispatch(app, now=T0 + timedelta(minutes=10), notifiers=_notifiers(app)):
            pass
        posted = _posted(stub)
    rows = _rows(app)
    assert {r.status for r in rows} <= {"sent", "cancelled"}
    assert set(posted.values()) == {1}, {k: n for k, n in posted.items() if n > 1}


def _notifiers(app):
    from hokoku.notifiers.registry import build_notifiers

    return build_notifiers(app.settings)


def test_a_row_claimed_by_a_killed_worker_is_delivered_within_90_seconds(pg_app, monkeypatch, tmp_path):
    """A dispatcher is SIGKILLed while its first post of a batch is in flight; another dispatcher is
    running. With the default lease (60 s, database clock) every row of the abandoned batch is
    delivered within 90 s of the kill; only the message in flight at the kill may arrive twice."""
    with SlackStub() as stub:
        stub.slow("chat.postMessage", seconds=3600, times=1)  # the first post hangs: in flight
        app = _slack_app(monkeypatch, stub)
        for i in range(4):
            report(app, now=T0 + timedelta(seconds=i))
        victim = _start("loop", tmp_path, T1, "victim")
        try:
            _wait_until(lambda: len(stub.calls("chat.postMessage")) >= 1, what="the victim's first post")
            with transaction(app.engine) as session:
                abandoned = set(
                    session.execute(select(Notification.id).where(Notification.status == "sending")).scalars()
                )
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            killed_at = time.monotonic()
        finally:
            _stop([victim], tmp_path)
        (tmp_path / "stop").unlink()
        rescuer = _start("loop", tmp_path, T1, "rescuer")
        try:

            def abandoned_sent():
                with transaction(app.engine) as session:
                    return session.execute(
                        select(func.count())
                        .select_from(Notification)
                        .where(Notification.id.in_(abandoned), Notification.status == "sent")
                    ).scalar_one()

            _wait_until(
                lambda: abandoned_sent() == len(abandoned),
                what="the abandoned rows sent",
                stalled_after=180,
                progress=abandoned_sent,
            )
            recovered = time.monotonic() - killed_at
        finally:
            _stop([rescuer], tmp_path)
        posted = _posted(stub)
    print(f"\n{len(abandoned)} rows abandoned by the killed worker, all delivered {recovered:.1f} s after the kill")
    assert len(abandoned) >= 2
    assert recovered <= 90
    rows = _rows(app)
    assert {r.status for r in rows} == {"sent"}
    twice = {k for k, n in posted.items() if n > 1}
    assert len(twice) <= 1 and sum(posted.values()) - len(posted) <= 1  # the one in flight at the kill


# -- attempts --------------------------------------------------------------------------------
class _TransientOnce:
    """An outbox channel: the first call per key fails transiently, later calls deliver."""

    channel = "outbox"

    def __init__(self):
        self.calls: Counter = Counter()

    def send(self, message):
        self.calls[message.idempotency_key] += 1
        if self.calls[message.idempotency_key] == 1:
            raise DeliveryError("provider hiccup (503)")
        return DeliveryResult(provider_id=f"ok:{message.idempotency_key}")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_repeated_crashes_between_claim_and_send_then_a_transient_error_is_retried_not_failed(
    db, request, tmp_path, monkeypatch
):
    """MAX_ATTEMPTS + 4 dispatcher processes claim the outbox and die (SIGKILL) before sending;
    then the provider answers one transient error: every row is retried (attempts 1), not failed,
    and delivered on the next pass (attempts 2)."""
    app = request.getfixturevalue("demo_app" if db == "sqlite" else "pg_app")
    monkeypatch.setenv("HOKOKU_OUTBOX_LEASE_SECONDS", "1")
    app.settings.outbox_lease_seconds = 1
    for i in range(3):
        report(app, now=T0 + timedelta(seconds=i))
    total = len(_rows(app))
    for _ in range(MAX_ATTEMPTS + 4):
        proc = _start("claim-and-die", tmp_path, T1, "crash")
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == -signal.SIGKILL and int(out) == total
        assert {(r.status, r.attempts) for r in _rows(app)} == {("sending", 0)}
        wait_for_leases(app)
    channel = _TransientOnce()
    events = dispatch(app, now=T1, notifiers={"outbox": channel})
    assert [e.outcome for e in events] == ["retry"] * total
    assert {(r.status, r.attempts) for r in _rows(app)} == {("pending", 1)}
    events = dispatch(app, now=T0 + timedelta(hours=2), notifiers={"outbox": channel})
    assert [e.outcome for e in events] == ["sent"] * total
    assert {(r.status, r.attempts) for r in _rows(app)} == {("sent", 2)}
