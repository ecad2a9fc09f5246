"""``python -m bench [--quick] [--only NAME ...] [--db sqlite|postgresql|both] [--markdown FILE]``

Runs the four benchmarks, each printing its figures and ratios measured side by side in one
run, on SQLite and (with ``HOKOKU_TEST_DATABASE_URL`` or ``HOKOKU_BENCH_DATABASE_URL``) on
PostgreSQL. ``--quick`` shrinks every size (a smoke run of a minute or two).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCHES = ("latency", "sweep", "burst", "audit", "cli")


def _load() -> str:
    import os

    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--only", nargs="+", choices=BENCHES, help="run only these")
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--markdown", metavar="FILE", help="also write the report (Markdown) to FILE")
    ap.add_argument("--json", metavar="FILE", help="also write every figure, its ratio and its target (JSON) to FILE")
    args = ap.parse_args(argv)

    warnings.filterwarnings("ignore")
    logging.getLogger("prefect").setLevel(logging.ERROR)
    from bench import audit_verify, burst, cli_speed, common, latency, sweep_scale

    modules = {"latency": latency, "sweep": sweep_scale, "burst": burst, "audit": audit_verify, "cli": cli_speed}
    dbs = common.databases(args.db)
    started = time.perf_counter()
    parts = [
        f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — `python -m bench{' --quick' if args.quick else ''}`\n",
        "### Machine\n",
        common.machine(),
        "",
    ]
    print("\n".join(parts), flush=True)
    for name in args.only or BENCHES:
        t, load_before = time.perf_counter(), _load()
        section = modules[name].run(dbs, quick=args.quick)
        section += (
            f"\n_({name}: {time.perf_counter() - t:.0f} s; 1-minute load average {load_before} before, "
            f"{_load()} after — the machine may be shared)_\n"
        )
        print(section, flush=True)
        parts.append(section)
        _write_json(args, started, partial=True)  # after each section: a long run cut short keeps its figures
    tail = f"Total {time.perf_counter() - started:.0f} s."
    print(tail)
    parts.append(tail)
    _write_json(args, started)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(parts) + "\n", encoding="utf-8")
    return 0


def _write_json(args, started: float, *, partial: bool = False) -> None:
    """Every figure so far, its ratio and its target (``partial``: the run has not finished)."""
    if not args.json:
        return
    import json

    from bench import common

    Path(args.json).write_text(
        json.dumps(
            {
                "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "quick": args.quick,
                "benches": list(args.only or BENCHES),
                "complete": not partial,
                "seconds": round(time.perf_counter() - started, 1),
                "figures": common.FIGURES,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.exit(main())
