"""A dispatcher process for the lease and lock-order tests (``tests/test_two_workers.py``).

``python tests/lease_worker.py MODE --now ISO [--dir DIR]`` with ``HOKOKU_HOME`` / ``HOKOKU_DATABASE_URL``
and the channel variables set:

* ``loop`` — dispatch at the simulated ``--now`` again and again until ``DIR/stop`` exists, each
  pass's outcomes appended to ``DIR/<pid>.events``; a dispatcher noticing that its claim was
  taken over logs it on stderr ("taken over");
* ``claim-and-die`` — claim a batch, then SIGKILL itself before sending anything (a crash between
  claim and send).
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["loop", "claim-and-die"])
    ap.add_argument("--now", required=True)
    ap.add_argument("--dir", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(message)s")
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack on stderr

    from hokoku.app import open_app
    from hokoku.core.timeutil import parse_instant
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import claim, dispatch

    app = open_app()
    now = parse_instant(args.now, what="--now")
    if args.mode == "claim-and-die":
        batch = claim(app, now=now)
        print(len(batch.ids), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    notifiers = build_notifiers(app.settings)
    events = args.dir / f"{os.getpid()}.events"
    while not (args.dir / "stop").exists():
        out = dispatch(app, now=now, notifiers=notifiers)
        with open(events, "a", encoding="utf-8") as f:
            f.writelines(f"{e.key} {e.outcome}\n" for e in out)
        if not out:
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
