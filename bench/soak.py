"""``python -m bench.soak [--minutes 10 | --seconds 75] [--workers 2] [--post-seconds 1] [--json]``

Two workers, one truth: worker processes on one PostgreSQL database, each running a sweep and a
dispatch every few seconds in real time, against the loopback Slack stub answering each
``chat.postMessage`` / ``chat.update`` after ``--post-seconds`` (1 s), while a third process
files reports and acknowledges stages (and, like the web app after a click, dispatches that
incident's messages at once). The business clock runs ``--speed`` times faster than the wall
clock (one clock for every process) so reminders, escalations and overdue marks happen during
the run; leases run on the database's clock. ``--skew-minutes`` puts the second worker's
business clock that far ahead (two ``tick --now`` loops that disagree).

After the run the business clock stops, the workers drain the outbox, and the script prints:

* **deadlocks** — PostgreSQL's own count for the database (``pg_stat_database.deadlocks``) and
  the ``DeadlockDetected`` errors the processes caught;
* **posted twice** — idempotency keys the stub received in more than one ``chat.postMessage``
  (and ``chat.update`` calls beyond one per delivered update);
* **lost** — outbox rows not delivered (neither ``sent`` nor ``cancelled``) once drained, and
  ``sent`` rows the stub never received;
* other errors, message counts, and whether the audit chain verifies.

Exit status 0 when deadlocks, duplicates and lost are all zero. Needs ``HOKOKU_TEST_DATABASE_URL``
(or ``HOKOKU_BENCH_DATABASE_URL``): a scratch database is created beside it and dropped after.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hokoku.core.timeutil import JST  # noqa: E402

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)
BOT_TOKEN = "xoxb-0000-soak-bot-token"
DIVISIONS = ("IDS-SURVEY",)


# -- the shared business clock ---------------------------------------------------------------
class SimClock:
    """``T0 + (wall - epoch) * speed``, frozen once the file ``freeze`` exists (its content: wall time)."""

    def __init__(self, epoch: float, speed: float, workdir: Path, skew: timedelta = timedelta(0)):
        self.epoch, self.speed, self.freeze, self.skew = epoch, speed, workdir / "freeze", skew

    def __call__(self) -> datetime:
        wall = time.time()
        try:
            wall = min(wall, float(self.freeze.read_text()))
        except (FileNotFoundError, ValueError):
            pass
        return T0 + timedelta(seconds=(wall - self.epoch) * self.speed) + self.skew


def _log_error(path: Path, who: str, what: str, exc: BaseException) -> None:
    orig = getattr(exc, "orig", None)
    line = {
        "who": who,
        "what": what,
        "type": type(exc).__name__,
        "orig": type(orig).__name__ if orig else None,
        "error": str(exc)[:500],
        "at": time.time(),
    }
    if not isinstance(exc, Exception) or (orig is None and what != "ack"):
        line["trace"] = traceback.format_exc()[-2000:]
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


# -- the processes -----------------------------------------------------------------------------
def worker(args) -> int:
    from hokoku.app import open_app
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import dispatch
    from hokoku.services.sweep import sweep

    workdir = Path(args.dir)
    clock = SimClock(args.epoch, args.speed, workdir, timedelta(minutes=args.skew_minutes))
    app = open_app()
    notifiers = build_notifiers(app.settings)
    errors = workdir / "errors.jsonl"
    who = f"worker{args.index}"
    while not (workdir / "stop").exists():
        started = time.monotonic()
        for what, step in (
            ("sweep", lambda: sweep(app, now=clock())),
            ("dispatch", lambda: dispatch(app, now=clock(), notifiers=notifiers)),
        ):
            try:
                step()
            except Exception as exc:
                _log_error(errors, who, what, exc)
        time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    return 0


def people(args) -> int:
    """Reporters and acknowledgers: a report every ``--report-every`` s; acknowledgements of the
    stages that are waiting, some at once and some after reminders; half of them followed by an
    immediate dispatch of that incident (as the web app does after a click)."""
    from sqlalchemy import select

    from hokoku.app import open_app
    from hokoku.core import chain
    from hokoku.core.exceptions import HokokuError
    from hokoku.models.incident import Incident, Stage
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import dispatch
    from hokoku.services.intake import report_incident
    from hokoku.services.transitions import acknowledge
    from hokoku.store.db import transaction

    workdir = Path(args.dir)
    clock = SimClock(args.epoch, args.speed, workdir)
    app = open_app()
    notifiers = build_notifiers(app.settings)
    errors = workdir / "errors.jsonl"
    rng = random.Random(args.seed)
    next_report = time.monotonic()
    while not (workdir / "stop-people").exists():
        now = clock()
        try:
            if time.monotonic() >= next_report:
                next_report += args.report_every
                report_incident(
                    app,
                    division=rng.choice(DIVISIONS),
                    category=rng.choice(["malware", "lost-device"]),
                    summary=f"soak report {rng.randrange(10**9)}",
                    reporter="yoshida@example.org",
                    now=now,
                    serious=rng.random() < 0.2,
                )
            with transaction(app.engine) as session:
                waiting = session.execute(
                    select(Incident.public_id, Stage.code, Stage.owner_email, Stage.activated_at)
                    .join(Stage, Stage.incident_id == Incident.id)
                    .where(
                        Stage.status.in_(tuple(chain.ACTIVE)),
                        Stage.acknowledged_at.is_(None),
                        Stage.owner_email.is_not(None),
                    )
                ).all()
        except Exception as exc:
            _log_error(errors, "people", "report", exc)
            time.sleep(1)
            continue
        for pid, code, owner, _activated in waiting:
            if rng.random() > args.ack_chance:
                continue
            try:
                acknowledge(app, incident_id=pid, actor=owner, now=clock(), stage=code, channel="slack")
            except HokokuError:
                continue  # e.g. not entitled any more, or the stage moved on: a person's refused click
            except Exception as exc:
                _log_error(errors, "people", "ack", exc)
                continue
            if rng.random() < 0.5:
                try:
                    dispatch(app, now=clock(), notifiers=notifiers, incident=pid)
                except Exception as exc:
                    _log_error(errors, "people", "dispatch", exc)
        time.sleep(args.people_interval)
    return 0


# -- the run -----------------------------------------------------------------------------------
def _pg_deadlocks(url: str) -> int:
    from sqlalchemy import text

    from hokoku.store.db import get_engine

    with get_engine(url).connect() as conn:
        return int(
            conn.execute(text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")).scalar_one()
        )


def _spawn(role: str, args, workdir: Path, epoch: float, **extra) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "bench.soak",
        "--role",
        role,
        "--dir",
        str(workdir),
        "--epoch",
        repr(epoch),
        "--speed",
        str(args.speed),
    ]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return subprocess.Popen(
        cmd,
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / f"{role}{extra.get('index', '')}.err", "ab"),
    )


def run(args) -> dict:
    import tempfile

    from sqlalchemy import func, select

    from bench.common import environment, pg_base_url
    from hokoku.models.notification import Notification
    from hokoku.security import audit
    from hokoku.store.db import transaction
    from tests.slack_stub import SlackStub

    if not pg_base_url():
        raise SystemExit("bench.soak needs PostgreSQL: set HOKOKU_TEST_DATABASE_URL (or HOKOKU_BENCH_DATABASE_URL)")
    duration = args.seconds if args.seconds is not None else args.minutes * 60
    with SlackStub() as stub, tempfile.TemporaryDirectory(prefix="hokoku-soak-") as tmp:
        workdir = Path(tmp)
        stub.slow("chat.postMessage", seconds=args.post_seconds, times=None)
        stub.slow("chat.update", seconds=args.post_seconds, times=None)
        settings = {"slack_bot_token": BOT_TOKEN, "slack_api_url": stub.base_url, "public_url": "http://soak.test"}
        if args.lease_seconds:
            settings["outbox_lease_seconds"] = str(args.lease_seconds)
        with environment("postgresql", init_at=T0, **settings) as env:
            app, url = env.app, env.url
            with transaction(app.engine) as session:  # everyone has a Slack account the stub knows
                for n, email in enumerate(sorted(app.organisation(session).people())):
                    stub.add_user(email, f"U0SOAK{n:04d}")
            deadlocks_before = _pg_deadlocks(url)
            epoch = time.time()
            procs = [
                _spawn(
                    "worker",
                    args,
                    workdir,
                    epoch,
                    index=i,
                    interval=args.interval,
                    skew_minutes=args.skew_minutes if i == 1 else 0,
                )
                for i in range(args.workers)
            ]
            procs.append(
                _spawn(
                    "people",
                    args,
                    workdir,
                    epoch,
                    seed=args.seed,
                    report_every=args.report_every,
                    ack_chance=args.ack_chance,
                    people_interval=args.people_interval,
                )
            )
            t_start = time.monotonic()
            try:
                while time.monotonic() - t_start < duration:
                    dead = [p for p in procs if p.poll() is not None]
                    if dead:
                        raise RuntimeError(f"a process exited early ({dead[0].args[3:5]}): see {workdir}")
                    time.sleep(1)
                (workdir / "stop-people").write_text("")
                procs[-1].wait(timeout=120)
                (workdir / "freeze").write_text(repr(time.time()))  # no new business time: drain
                drain_start = time.monotonic()
                while time.monotonic() - drain_start < args.drain_timeout:
                    with transaction(app.engine) as session:
                        open_rows = session.execute(
                            select(func.count())
                            .select_from(Notification)
                            .where(Notification.status.in_(("pending", "sending")))
                        ).scalar_one()
                    if not open_rows:
                        break
                    time.sleep(2)
                drained = time.monotonic() - drain_start
            finally:
                (workdir / "stop").write_text("")
                (workdir / "stop-people").write_text("")
                for p in procs:
                    try:
                        p.wait(timeout=300)
                    except subprocess.TimeoutExpired:
                        p.send_signal(signal.SIGKILL)
                        p.wait()
            deadlocks = _pg_deadlocks(url) - deadlocks_before
            with transaction(app.engine) as session:
                rows = list(session.execute(select(Notification)).scalars())
                verified = audit.verify(session, app.keyring.public_keys())
            errors = (
                [json.loads(line) for line in (workdir / "errors.jsonl").read_text().splitlines()]
                if (workdir / "errors.jsonl").exists()
                else []
            )
    posts = Counter(
        r.body["metadata"]["event_payload"]["idempotency_key"]
        for r in stub.calls("chat.postMessage")
        if r.body.get("metadata")
    )
    updates = Counter((r.body.get("channel"), r.body.get("ts")) for r in stub.calls("chat.update"))
    statuses = Counter(r.status for r in rows)
    sent_posts = {r.idempotency_key for r in rows if r.status == "sent" and r.kind != "ack_update"}
    sent_updates = [r for r in rows if r.status == "sent" and r.kind == "ack_update"]
    deadlock_errors = [e for e in errors if "deadlock" in (e.get("orig") or "").lower() + e["error"].lower()]
    result = {
        "seconds": duration,
        "workers": args.workers,
        "post_seconds": args.post_seconds,
        "speed": args.speed,
        "skew_minutes": args.skew_minutes,
        "incidents": len({r.incident_id for r in rows if r.incident_id}),
        "messages": len(rows),
        "statuses": dict(statuses),
        "drain_seconds": round(drained, 1),
        "deadlocks_postgres": deadlocks,
        "deadlock_errors": len(deadlock_errors),
        "posted_twice": sum(1 for n in posts.values() if n > 1),
        "extra_posts": sum(n - 1 for n in posts.values()),
        "extra_updates": max(0, sum(updates.values()) - len(sent_updates)),
        "lost": sum(1 for r in rows if r.status not in ("sent", "cancelled")) + len(sent_posts - set(posts)),
        "posts": sum(posts.values()),
        "updates": sum(updates.values()),
        "max_attempts": max((r.attempts for r in rows), default=0),
        "other_errors": Counter(
            f"{e['who']}:{e['what']}:{e.get('orig') or e['type']}" for e in errors if e not in deadlock_errors
        ),
        "audit_ok": verified.ok,
        "audit_events": verified.events,
    }
    result["ok"] = (
        result["deadlocks_postgres"] == 0
        and result["deadlock_errors"] == 0
        and result["posted_twice"] == 0
        and result["extra_updates"] == 0
        and result["lost"] == 0
        and result["audit_ok"]
    )
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[2])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seconds", type=float, help="run length in seconds (overrides --minutes)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--post-seconds", type=float, default=1.0, help="the Slack stub's time per post/update")
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between a worker's ticks")
    ap.add_argument("--speed", type=float, default=60.0, help="business seconds per real second")
    ap.add_argument("--skew-minutes", type=float, default=0.0, help="the second worker's business clock is ahead")
    ap.add_argument("--report-every", type=float, default=3.0, help="real seconds between reports")
    ap.add_argument(
        "--ack-chance", type=float, default=0.15, help="chance per look that a waiting stage is acknowledged"
    )
    ap.add_argument("--people-interval", type=float, default=2.0)
    ap.add_argument("--lease-seconds", type=float, default=None, help="HOKOKU_OUTBOX_LEASE_SECONDS (default: hokoku's)")
    ap.add_argument("--drain-timeout", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON line")
    # internal: the child processes
    ap.add_argument("--role", choices=["run", "worker", "people"], default="run", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--epoch", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.role == "worker":
        return worker(args)
    if args.role == "people":
        return people(args)
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("prefect").setLevel(logging.ERROR)
    started = time.monotonic()
    result = run(args)
    if args.json:
        print(json.dumps(result, default=dict))
    else:
        print(
            f"soak: {result['workers']} workers, {result['seconds']:g} s, Slack stub {result['post_seconds']:g} s/post, "
            f"business clock x{result['speed']:g} (skew {result['skew_minutes']:g} min)"
        )
        print(
            f"  incidents {result['incidents']}, messages {result['messages']} {result['statuses']}, "
            f"posts {result['posts']}, updates {result['updates']}, drained in {result['drain_seconds']} s, "
            f"max attempts {result['max_attempts']}"
        )
        print(f"  deadlocks: {result['deadlocks_postgres']} (PostgreSQL), {result['deadlock_errors']} caught")
        print(
            f"  posted twice: {result['posted_twice']} keys ({result['extra_posts']} extra posts, "
            f"{result['extra_updates']} extra updates)"
        )
        print(f"  lost: {result['lost']}")
        print(
            f"  other errors: {dict(result['other_errors']) or 0}; audit chain "
            f"{'verified' if result['audit_ok'] else 'BROKEN'} ({result['audit_events']} events)"
        )
        print(f"  {'OK' if result['ok'] else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
