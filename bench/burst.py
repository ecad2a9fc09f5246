"""A burst: 1,000 reports in 60 seconds, each delivered at once as the web app does.

Arrivals are open-loop: report *i* is due at ``i × 60 s / 1,000`` whether or not the earlier
ones have finished. Request threads take them (like a web server's workers), file each through
the intake service and deliver that incident's messages immediately (``dispatch(incident=…)``,
what ``hokoku.web`` does after a report) to the Slack stub on loopback. Latency is from the
report's scheduled arrival to its first delivered message, so queueing under load is included.

Two shapes per database: one process with 8 threads (bound by one Python interpreter's GIL),
and 2 processes × 4 threads (a web server with two workers; report *i* goes to process
*i mod 2*). Afterwards: every report persisted, every message delivered exactly once (the
stub's ``chat.postMessage`` calls per idempotency key), nothing pending.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context

from bench.common import environment, ms, pct, table
from bench.latency import BOT_TOKEN, FirstDelivery

SHAPES = ((1, 8), (2, 4))  # (processes, threads per process)


def _share(part: int, parts: int, threads: int, reports: int, seconds: float, start: float) -> dict:
    """File and deliver reports ``part, part + parts, ...``; start at monotonic ``start``."""
    from hokoku.app import open_app
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import dispatch
    from hokoku.services.intake import report_incident

    app = open_app()
    app.playbooks, app.policy  # noqa: B018  (load before the clock starts)
    local = threading.local()
    mine = list(range(part, reports, parts))
    latencies: dict[int, float] = {}
    errors: list[str] = []

    def one(i: int) -> None:
        if not hasattr(local, "slack"):
            local.slack = build_notifiers(app.settings)["slack"]
        arrival = start + i * seconds / reports
        delay = arrival - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            now = datetime.now(UTC)
            pid = report_incident(
                app,
                division="IDS-SURVEY",
                category="lost-device",
                summary=f"burst report {i}",
                reporter="yoshida@example.org",
                now=now,
            ).public_id
            timed = FirstDelivery(local.slack)
            dispatch(app, now=now, notifiers={"slack": timed}, incident=pid)
            latencies[i] = timed.first - arrival
        except Exception as exc:
            errors.append(f"{i}: {type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, mine))
    return {"latencies": latencies, "errors": errors, "end": time.monotonic()}


def _burst(app, stub, reports: int, seconds: float, processes: int, threads: int) -> dict:
    from sqlalchemy import func, select

    from hokoku.models.incident import Incident
    from hokoku.models.notification import Notification
    from hokoku.store.db import transaction

    if processes == 1:
        start = time.monotonic() + 0.5
        parts = [_share(0, 1, threads, reports, seconds, start)]
    else:
        with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
            start = time.monotonic() + 8  # the workers import and load before the first arrival
            futures = [pool.submit(_share, k, processes, threads, reports, seconds, start) for k in range(processes)]
            parts = [f.result() for f in futures]
    latencies = [v for p in parts for v in p["latencies"].values()]
    with transaction(app.engine) as session:
        incidents = session.execute(select(func.count()).select_from(Incident)).scalar_one()
        statuses = Counter(session.execute(select(Notification.status)).scalars())
        keys = set(session.execute(select(Notification.idempotency_key)).scalars())
    posted = Counter(
        r.body["metadata"]["event_payload"]["idempotency_key"]
        for r in stub.calls("chat.postMessage")
        if r.body.get("metadata")
    )
    return {
        "latencies": latencies,
        "errors": [e for p in parts for e in p["errors"]],
        "wall": max(p["end"] for p in parts) - start,
        "incidents": incidents,
        "statuses": statuses,
        "keys": keys,
        "posted": posted,
    }


def run(dbs: list[str], *, quick: bool) -> str:
    from bench.common import record
    from tests.slack_stub import SlackStub

    reports, seconds = (100, 6.0) if quick else (1000, 60.0)
    lines = [
        f"### 3. Burst: {reports:,} reports in {seconds:.0f} s ({reports / seconds:.1f}/s, open loop), "
        "each delivered at once\n"
    ]
    rows, checks = [], []
    for db in dbs:
        for processes, threads in SHAPES:
            shape = f"{processes} process{'es' if processes > 1 else ''} × {threads} threads"
            with SlackStub() as stub, environment(db, slack_bot_token=BOT_TOKEN, slack_api_url=stub.base_url) as env:
                r = _burst(env.app, stub, reports, seconds, processes, threads)
            lat = r["latencies"] or [float("nan")]
            once = set(r["posted"]) == r["keys"] and set(r["posted"].values()) == {1}
            rows.append(
                [
                    db,
                    shape,
                    ms(pct(lat, 50)),
                    ms(pct(lat, 90)),
                    ms(pct(lat, 99)),
                    ms(max(lat)),
                    f"{r['wall']:.1f} s",
                    f"{len(lat) / r['wall']:.1f}/s",
                ]
            )
            checks.append(
                [
                    db,
                    shape,
                    f"{r['incidents']:,} / {reports:,}",
                    dict(r["statuses"]),
                    len(r["keys"]),
                    "yes" if once else "NO",
                    len(r["errors"]),
                ]
            )
            record(
                f"burst {reports} reports / {seconds:.0f} s, {shape}: p99 intake",
                db=db,
                figure=pct(lat, 99),
                unit="s",
                ratio=pct(lat, 99),
                baseline="1 s",
                target=1.0,
                all_persisted=r["incidents"] == reports,
                delivered_once=once,
            )
            for e in r["errors"][:5]:
                print("  error:", e)
    lines.append(
        table(
            [
                "database",
                "request workers",
                "p50",
                "p90",
                "p99",
                "max",
                f"wall time (arrivals: {seconds:.0f} s)",
                "throughput",
            ],
            rows,
        )
    )
    lines.append("")
    lines.append(
        table(
            [
                "database",
                "request workers",
                "incidents persisted",
                "outbox rows by status",
                "messages",
                "each delivered exactly once",
                "errors",
            ],
            checks,
        )
    )
    lines.append("")
    return "\n".join(lines)
