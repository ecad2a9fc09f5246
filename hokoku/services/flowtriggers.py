"""Every transition a flow run: committed stage transitions become runs of the stage's flow.

Whatever the entry point (CLI, web, API, Slack button, email link, sweep), a stage that starts,
is acknowledged, is done or is skipped appends an audit event; :func:`hokoku.store.triggers.note`
(called by :func:`hokoku.security.audit.append`, in the same transaction) writes a ``flow_trigger`` row beside it
(incident id, stage code, kind — no personal data). :func:`pump` (in ``hokoku serve`` every
second, and in ``hokoku tick`` through the flows) turns the rows into runs of the stage's flow,
in row order, named "<incident> · <article>" and tagged with the incident id; the run records
the already-committed transition and never performs it again. While Prefect is unreachable the
rows wait (nothing is lost, and reminders do not depend on it: the sweep is a database job).

Rows are written when a Prefect server is configured (``PREFECT_API_URL`` in the environment)
or ``HOKOKU_FLOW_TRIGGERS=1``; ``HOKOKU_FLOW_TRIGGERS=0`` turns them off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from hokoku.clock import utcnow
from hokoku.models.flowtrigger import FlowTrigger
from hokoku.store.db import rows_changed, transaction

LEASE = timedelta(minutes=2)

#: ``record(app, *, incident, stage, kind, at, channel) -> run id``: runs the stage's flow for one row
Recorder = Callable[..., Awaitable[str]]


def pending(app) -> list[FlowTrigger]:
    with transaction(app.engine) as session:
        rows = (
            session.execute(select(FlowTrigger).where(FlowTrigger.run_at.is_(None)).order_by(FlowTrigger.id))
            .scalars()
            .all()
        )
        session.expunge_all()
        return list(rows)


def _claim(app, row_id: int, now: datetime) -> bool:
    with transaction(app.engine) as session:
        claimed = rows_changed(
            session,
            update(FlowTrigger)
            .where(
                FlowTrigger.id == row_id,
                FlowTrigger.run_at.is_(None),
                or_(FlowTrigger.next_try_at.is_(None), FlowTrigger.next_try_at <= now),
            )
            .values(next_try_at=now + LEASE, attempts=FlowTrigger.attempts + 1),
        )
        return claimed == 1


def _finish(app, row_id: int, *, run_id: str | None, now: datetime, failed: bool) -> None:
    with transaction(app.engine) as session:
        row = session.get_one(FlowTrigger, row_id)
        if failed:
            row.next_try_at = now + min(timedelta(seconds=2 ** min(row.attempts, 6)), timedelta(minutes=1))
        else:
            row.run_at, row.flow_run_id = now, run_id
        session.add(row)


async def pump(app, *, record: Recorder, limit: int = 200) -> dict:
    """Turn waiting rows into flow runs with ``record`` (:func:`hokoku.flows.stages.record_transition`),
    oldest first; stop at the first failure (Prefect down: the rows wait, in order, for the next
    pump). Returns counts."""

    now = utcnow()

    with transaction(app.engine) as session:
        rows = (
            session.execute(
                select(FlowTrigger)
                .where(
                    FlowTrigger.run_at.is_(None), or_(FlowTrigger.next_try_at.is_(None), FlowTrigger.next_try_at <= now)
                )
                .order_by(FlowTrigger.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
        todo = [(r.id, r.incident, r.stage, r.kind, r.channel, r.at) for r in rows]
    done = 0
    for row_id, incident, stage, kind, channel, at in todo:
        if not _claim(app, row_id, now):
            continue
        try:
            run_id = await record(app, incident=incident, stage=stage, kind=kind, at=at, channel=channel or "")
        except Exception:
            _finish(app, row_id, run_id=None, now=utcnow(), failed=True)
            return {"ran": done, "waiting": len(todo) - done, "failed": True}
        _finish(app, row_id, run_id=run_id, now=utcnow(), failed=False)
        done += 1
    return {"ran": done, "waiting": len(todo) - done, "failed": False}
