"""CLI verbs against a floor script: ``hokoku report``, ``ack``, ``tick`` and ``show`` (direct
path, no Prefect), each a fresh process, against a floor script that imports SQLModel, opens the
same database and runs one query. Medians of ``reps`` runs, measured alternately.

hokoku's own modules are byte-compiled first (``compileall``), as installing the wheel does: in
a checkout with ``PYTHONDONTWRITEBYTECODE=1`` every CLI call would otherwise compile ~50 modules
from source (~0.15 s) while the floor script's libraries are compiled in site-packages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from bench.common import ROOT, environment, median, record, table

FLOOR = (
    "import sqlmodel, sys\n"
    "from sqlalchemy import text\n"
    "engine = sqlmodel.create_engine(sys.argv[1])\n"
    "with engine.connect() as c:\n"
    "    c.execute(text('SELECT count(*) FROM incident')).scalar()\n"
)
PM = "nakamura.pm@example.org"


def _time(argv: list[str], env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"{argv[3:]} failed: {out.stderr[-500:]}")
    return elapsed, out.stdout


def compile_package() -> None:
    """Write hokoku's bytecode, as ``pip install`` of the wheel does."""
    import compileall

    for folder in ("hokoku", "models", "flows", "notifiers"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)


def run(dbs: list[str], *, quick: bool) -> str:
    reps = 5 if quick else 20
    compile_package()
    lines = [f"### 5. CLI verbs vs a floor script (median of {reps} fresh processes each)\n"]
    rows = []
    for db in dbs:
        with environment(db) as e:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
            cli = [sys.executable, "-m", "hokoku.cli"]
            floor, times = [], {"report": [], "ack": [], "tick": [], "show": []}
            for _ in range(reps):
                floor.append(_time([sys.executable, "-c", FLOOR, e.url], env)[0])
                t, out = _time(
                    cli
                    + [
                        "report",
                        "--division",
                        "IDS-SURVEY",
                        "--category",
                        "malware",
                        "--summary",
                        "bench report",
                        "--reporter",
                        "yoshida@example.org",
                        "--json",
                    ],
                    env,
                )
                times["report"].append(t)
                incident = re.search(r'"incident": "(INC-\d{4}-\d{4})"', out).group(1)
                times["ack"].append(_time(cli + ["ack", incident, "--as", PM, "--json"], env)[0])
                times["tick"].append(_time(cli + ["tick", "--json"], env)[0])
                times["show"].append(_time(cli + ["show", incident, "--json"], env)[0])
            f = median(floor)
            for verb, ts in times.items():
                m = median(ts)
                rows.append([db, verb, f"{m * 1000:.0f} ms", f"{f * 1000:.0f} ms", f"{m / f:.2f}×"])
                record(
                    f"CLI {verb}",
                    db=db,
                    figure=m,
                    unit="s",
                    ratio=m / f,
                    baseline="floor script: import SQLModel, open the database, one query",
                    target=1.5,
                )
    lines.append(table(["database", "verb", "median", "floor script", "ratio"], rows))
    lines.append("")
    return "\n".join(lines)
