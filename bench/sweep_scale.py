"""Sweep time against open incidents and due rows.

For each database: a demo organisation, one incident filed through the service at T0 (its
stages, tasks and policy snapshot are the template), then ``open - 1`` copies of it
bulk-inserted with SQL (incident rows with the full policy snapshot, all their stages and
playbook tasks), every next action in the future. The sweep at T0+16m is timed with 0 due
rows, then with 100 and 1,000 acknowledge stages made due (each sends a reminder: render,
encrypt, outbox row, signed audit event). The same at 1,000 open incidents, side by side:
the sweep's cost must follow the due rows, not the open incidents.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text

from bench.common import environment, median, ms, secs, table
from hokoku.core.timeutil import JST

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)
NOW = T0 + timedelta(minutes=16)
FUTURE = T0 + timedelta(days=365)
SERIES = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) "


def _cols(model, skip=("id",)):
    return [c.name for c in model.__table__.columns if c.name not in skip]


def populate(app, open_incidents: int) -> float:
    """File the template incident, then bulk-copy it to ``open_incidents`` in all; returns seconds."""
    from hokoku.models.casework import Task
    from hokoku.models.incident import Incident, Stage
    from hokoku.models.types import UTCDateTime
    from hokoku.services.intake import report_incident

    started = time.perf_counter()
    tid = None
    pid = report_incident(
        app,
        division="IDS-SURVEY",
        category="malware",
        summary="sweep benchmark template",
        reporter="yoshida@example.org",
        now=T0,
    ).public_id
    inc_cols = _cols(Incident, ("id", "public_id"))
    stage_cols = _cols(Stage, ("id", "incident_id"))
    task_cols = _cols(Task, ("id", "incident_id"))
    future = bindparam("future", type_=UTCDateTime())

    def pick(cols, alias):
        return ", ".join(
            f"CASE WHEN {alias}.{c} IS NULL THEN NULL ELSE :future END" if c == "next_action_at" else f"{alias}.{c}"
            for c in cols
        )

    with app.engine.begin() as conn:
        tid = conn.execute(text("SELECT id FROM incident WHERE public_id = :p"), {"p": pid}).scalar_one()
        conn.execute(
            text(
                SERIES + f"INSERT INTO incident (public_id, {', '.join(inc_cols)}) "
                f"SELECT 'B-' || s.n, {', '.join('t.' + c for c in inc_cols)} "
                "FROM s CROSS JOIN incident t WHERE t.id = :tid"
            ),
            {"n": open_incidents - 1, "tid": tid},
        )
        for table_name, cols in (("stage", stage_cols), ("task", task_cols)):
            conn.execute(
                text(
                    f"INSERT INTO {table_name} (incident_id, {', '.join(cols)}) "
                    f"SELECT i.id, {pick(cols, 'x')} FROM incident i JOIN {table_name} x ON x.incident_id = :tid "
                    "WHERE i.public_id LIKE 'B-%'"
                ).bindparams(future),
                {"tid": tid, "future": FUTURE},
            )
            conn.execute(
                text(
                    f"UPDATE {table_name} SET next_action_at = :future "
                    "WHERE incident_id = :tid AND next_action_at IS NOT NULL"
                ).bindparams(future),
                {"tid": tid, "future": FUTURE},
            )
    settle(app)
    return time.perf_counter() - started


def settle(app) -> None:
    """ANALYZE, and write the bulk load out now (SQLite: checkpoint the WAL; PostgreSQL:
    CHECKPOINT), so the timed sweeps do not pay for it."""
    from bench.common import checkpoint

    with app.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    if app.engine.dialect.name == "sqlite":
        raw = app.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        checkpoint()


def make_due(app, count: int, offset: int) -> None:
    """Make ``count`` acknowledge stages (of copies ``offset``...) due at T0+15m."""
    from hokoku.models.types import UTCDateTime

    due = bindparam("due", type_=UTCDateTime())
    with app.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE stage SET next_action_at = :due WHERE code = 'acknowledge' AND incident_id IN "
                "(SELECT id FROM incident WHERE public_id LIKE 'B-%' ORDER BY id LIMIT :count OFFSET :offset)"
            ).bindparams(due),
            {"due": T0 + timedelta(minutes=15), "count": count, "offset": offset},
        )
        # The copies carry the template's ciphertexts, which are bound to the template's row
        # (revision 0003): the incidents the sweep will render get their own.
        fields = [
            ("summary_enc", "incident.summary"),
            ("details_enc", "incident.details"),
            ("reported_data_items_enc", "incident.data_items"),
        ]
        cols = ", ".join(c for c, _ in fields)
        template = conn.execute(
            text(f"SELECT public_id, {cols} FROM incident WHERE public_id NOT LIKE 'B-%' ORDER BY id LIMIT 1")
        ).one()
        plain = {
            c: app.keyring.decrypt(template[i + 1], field=f, bind=template[0]) if template[i + 1] else None
            for i, (c, f) in enumerate(fields)
        }
        copies = conn.execute(
            text(
                "SELECT id, public_id FROM incident WHERE public_id LIKE 'B-%' ORDER BY id LIMIT :count OFFSET :offset"
            ),
            {"count": count, "offset": offset},
        ).all()
        conn.execute(
            text(f"UPDATE incident SET {', '.join(f'{c} = :{c}' for c, _ in fields)} WHERE id = :id"),
            [
                {
                    "id": row_id,
                    **{
                        c: app.keyring.encrypt(plain[c], field=f, bind=pid) if plain[c] is not None else None
                        for c, f in fields
                    },
                }
                for row_id, pid in copies
            ],
        )


def timed_sweep(app) -> tuple[float, int]:
    from hokoku.services.sweep import sweep

    started = time.perf_counter()
    events = sweep(app, now=NOW)
    return time.perf_counter() - started, len(events)


def measure(db: str, open_incidents: int) -> dict:
    with environment(db, init_at=T0 - timedelta(days=1)) as env:
        app = env.app
        setup = populate(app, open_incidents)
        idle = [timed_sweep(app)[0] for _ in range(7)]
        out = {"setup": setup, 0: (median(idle), 0)}
        offset = 0
        for due in (100, 1000):
            make_due(app, due, offset)
            offset += due
            out[due] = timed_sweep(app)
        return out


def run(dbs: list[str], *, quick: bool) -> str:
    big = 10_000 if quick else 100_000
    small = 2_000  # > 1,100: the 100 and the 1,000 due stages are different incidents
    lines = [f"### 2. Sweep time: {small:,} and {big:,} open incidents, 0 / 100 / 1,000 due\n"]
    rows, ratios = [], []
    for db in dbs:
        results = {n: measure(db, n) for n in (small, big)}
        for n, r in results.items():
            for due in (0, 100, 1000):
                t, events = r[due]
                rows.append(
                    [db, f"{n:,}", f"{due:,}", events, secs(t), "-" if not due else ms(t / due), f"{r['setup']:.1f} s"]
                )
        b, s = results[big], results[small]
        ratios.append(
            [
                db,
                f"{b[0][0] / s[0][0]:.2f}×",
                f"{b[100][0] / s[100][0]:.2f}×",
                f"{b[1000][0] / s[1000][0]:.2f}×",
                f"{b[1000][0] / b[100][0]:.1f}×",
                f"{b[100][0] / b[0][0]:.0f}×",
            ]
        )
    lines.append(
        table(
            ["database", "open incidents", "due stages", "sweep events", "sweep time", "per due stage", "bulk set-up"],
            rows,
        )
    )
    lines.append("")
    lines.append(f"Ratios ({big:,} open vs {small:,} open at the same due count; due 1,000 vs 100 at {big:,} open):\n")
    lines.append(
        table(
            [
                "database",
                "0 due: big/small",
                "100 due: big/small",
                "1,000 due: big/small",
                "1,000 due / 100 due",
                "100 due / 0 due",
            ],
            ratios,
        )
    )
    lines.append("")
    return "\n".join(lines)
