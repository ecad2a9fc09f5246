"""The worker the crash-safety test kills: intake, sweep and dispatch in a loop, for ever.

Run as ``python tests/crash_worker.py --dir DIR --epoch E --seed S`` with ``HOKOKU_HOME`` (and
``HOKOKU_DATABASE_URL``) set. Files in ``DIR``:

* ``phase`` — the phase the worker is in (``intake`` / ``sweep`` / ``dispatch``; ``importing`` and
  ``opening`` while it starts, so the parent sees progress), overwritten in place at each change (no fsync: the parent reads the same page cache) so the parent can kill
  it inside a chosen phase;
* ``intents`` / ``filed`` — a line per report before it is filed and after it returned (with the
  incident id), each fsynced: what a reporter did and what they were told;
* ``deliveries`` — the channel: :class:`FileChannel` appends the idempotency key of every
  message it is handed, with fsync, *outside* hokoku's transactions, like a real provider that
  cannot deduplicate. A kill between that append and the commit that marks the row sent is
  exactly the case that may deliver a message twice.

Time is simulated and survives restarts: ``now = T0 + (wall clock - epoch) * SPEED``.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hokoku.core.timeutil import JST

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)
#: Simulated seconds per real second (one real second is ten minutes of the chain).
SPEED = 600
PHASES = ("intake", "sweep", "dispatch")


def sim_now(epoch: float) -> datetime:
    return T0 + timedelta(seconds=(time.time() - epoch) * SPEED)


def append_line(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class FileChannel:
    """A delivering channel: each message is one fsynced line in ``deliveries``."""

    channel = "outbox"

    def __init__(self, path: Path):
        self.path = path

    def send(self, message):
        from hokoku.notifiers.base import DeliveryResult

        append_line(self.path, message.idempotency_key)
        return DeliveryResult(provider_id=f"file:{message.idempotency_key}")


class Phase:
    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __call__(self, name: str) -> None:
        os.pwrite(self.fd, name.ljust(12).encode(), 0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--epoch", type=float, required=True)
    ap.add_argument("--seed", type=int, required=True)
    args = ap.parse_args()
    phase = Phase(args.dir / "phase")  # start-up steps are progress too (tests/test_crash_safety.py)
    phase("importing")

    from hokoku.app import open_app
    from hokoku.services.dispatch import dispatch
    from hokoku.services.intake import report_incident
    from hokoku.services.sweep import sweep

    phase("opening")
    app = open_app()
    app.check_ready()
    rng = random.Random(args.seed)
    channel = {"outbox": FileChannel(args.dir / "deliveries")}
    while True:
        phase("intake")
        if rng.random() < 0.6:
            token = f"r{args.seed}-{rng.randrange(10**9)}"
            append_line(args.dir / "intents", token)
            result = report_incident(
                app,
                division="IDS-SURVEY",
                category=rng.choice(["malware", "lost-device"]),
                summary=f"crash test report {token}",
                reporter="yoshida@example.org",
                now=sim_now(args.epoch),
                serious=rng.random() < 0.2,
            )
            append_line(args.dir / "filed", f"{token} {result.public_id}")
        phase("sweep")
        sweep(app, now=sim_now(args.epoch), batch_size=rng.choice([5, 50, 200]))
        phase("dispatch")
        dispatch(app, now=sim_now(args.epoch), notifiers=channel, limit=rng.choice([5, 50, 500]), rng=rng)


if __name__ == "__main__":
    sys.exit(main())
