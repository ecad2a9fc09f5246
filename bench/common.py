"""What the benchmarks share: scratch environments (SQLite file or PostgreSQL scratch database),
percentiles, the machine description and Markdown tables."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def pg_base_url() -> str | None:
    return os.environ.get("HOKOKU_BENCH_DATABASE_URL") or os.environ.get("HOKOKU_TEST_DATABASE_URL") or None


@dataclass
class Env:
    """One benchmark environment: a HOKOKU_HOME, a database, the initialised App."""

    name: str  # "sqlite" | "postgresql"
    home: Path
    url: str
    app: object = None
    extra: dict = field(default_factory=dict)


@contextmanager
def environment(db: str, *, init_at: datetime | None = None, **settings: str) -> Iterator[Env]:
    """A throw-away HOKOKU_HOME on SQLite or on a scratch PostgreSQL database, initialised with
    the demo organisation; ``settings`` are extra HOKOKU_* variables (``slack_api_url=...``)."""
    from hokoku.app import open_app
    from hokoku.services.setup import init
    from hokoku.store.db import dispose_engines

    saved = {k: v for k, v in os.environ.items() if k.startswith("HOKOKU_") or k in PROXY_VARS}
    for k in saved:
        if (
            k.startswith("HOKOKU_")
            and k not in ("HOKOKU_TEST_DATABASE_URL", "HOKOKU_BENCH_DATABASE_URL")
            or k in PROXY_VARS
        ):
            os.environ.pop(k)
    tmp = tempfile.TemporaryDirectory(prefix=f"hokoku-bench-{db}-")
    home = Path(tmp.name) / "home"
    os.environ["HOKOKU_HOME"] = str(home)
    for key, value in settings.items():
        os.environ[f"HOKOKU_{key.upper()}"] = value
    scratch = None
    try:
        if db == "postgresql":
            from tests import pgscratch

            scratch = pgscratch.create_database(pg_base_url(), prefix="hokoku_bench")
            os.environ["HOKOKU_DATABASE_URL"] = scratch
            checkpoint()
        init(open_app(), org_file=None, demo=True, now=init_at or datetime.now(UTC))
        app = open_app()
        yield Env(db, home, app.settings.effective_database_url, app)
    finally:
        dispose_engines()
        if scratch:
            from tests import pgscratch

            pgscratch.drop_database(scratch)
        tmp.cleanup()
        for k in [k for k in os.environ if k.startswith("HOKOKU_")]:
            os.environ.pop(k)
        os.environ.update(saved)


def checkpoint() -> None:
    """Flush PostgreSQL's dirty buffers now (``CHECKPOINT``), so that a benchmark does not pay
    for the writes of the one before it (a bulk load is otherwise written out over the next
    minutes by the spread checkpoint, competing with every commit)."""
    try:
        import psycopg

        from tests.pgscratch import libpq

        with psycopg.connect(libpq(pg_base_url()), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except Exception as exc:
        print(f"(CHECKPOINT not possible: {type(exc).__name__}: {exc})")


def databases(requested: str) -> list[str]:
    dbs = ["sqlite"]
    if requested in ("both", "postgresql"):
        if pg_base_url():
            dbs.append("postgresql")
        else:
            print("(PostgreSQL skipped: set HOKOKU_TEST_DATABASE_URL or HOKOKU_BENCH_DATABASE_URL)")
    if requested == "postgresql":
        dbs.remove("sqlite")
    return dbs


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), q in 0..100."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else ms(seconds)


def median(values: list[float]) -> float:
    return statistics.median(values)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def machine() -> str:
    """nproc, memory, CPU model, OS, Python and library versions, database servers."""
    import sqlite3
    from importlib.metadata import version

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "?",
        )
        if Path("/proc/cpuinfo").exists()
        else "?"
    )
    mem = "?"
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    pg = "-"
    if pg_base_url():
        try:
            import psycopg

            from tests.pgscratch import libpq

            with psycopg.connect(libpq(pg_base_url())) as conn:
                pg = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:
            pg = f"unavailable ({type(exc).__name__})"
    rows = [
        ["CPUs (nproc)", os.cpu_count()],
        ["CPU model", cpu],
        ["memory", mem],
        ["OS", f"{platform.system()} {platform.release()}"],
        ["Python", platform.python_version()],
        ["Prefect", version("prefect")],
        ["SQLAlchemy", version("sqlalchemy")],
        ["psycopg", version("psycopg")],
        ["cryptography", version("cryptography")],
        ["SQLite", sqlite3.sqlite_version],
        ["PostgreSQL server", pg],
    ]
    return table(["", ""], rows)


def quiet_prefect_console() -> None:
    """Keep Prefect's run logs off the terminal (they still go to the API, as in production)."""
    import logging

    from prefect.logging.configuration import setup_logging
    from prefect.logging.handlers import PrefectConsoleHandler

    setup_logging()  # now, so that the engine finds it done and keeps our levels

    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.ERROR)


def drain_prefect() -> None:
    """Send the logs and events still queued before the server goes away."""
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)
        EventsWorker.drain_all(timeout=5)
    except Exception:
        pass


#: Every figure a benchmark measured with its ratio and the issue's target, for ``--json``.
FIGURES: list[dict] = []


def record(
    name: str,
    *,
    figure: float,
    unit: str,
    ratio: float | None = None,
    target: float | None = None,
    baseline: str | None = None,
    db: str | None = None,
    **extra,
) -> None:
    """Keep one figure (``ratio`` is figure / baseline; ``target`` the largest ratio the issue accepts)."""
    FIGURES.append(
        {
            "name": name,
            "db": db,
            "figure": round(figure, 6),
            "unit": unit,
            "ratio": None if ratio is None else round(ratio, 3),
            "baseline": baseline,
            "target": target,
            "meets_target": None if ratio is None or target is None else ratio <= target,
            **extra,
        }
    )
