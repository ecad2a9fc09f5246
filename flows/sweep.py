"""Sweep, every minute: due reminders, escalations and overdue marks as of ``now``."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, task

from hokoku.clock import utcnow
from hokoku.flows.common import app, emit, run_app


@task(name="sweep due stages", retries=2, retry_delay_seconds=5, persist_result=False)  # idempotent at a given now
def sweep_task(now: datetime) -> list[dict]:
    from hokoku.services.sweep import sweep

    return [e.to_json() for e in sweep(app(), now=now)]


@flow(name="sweep", log_prints=False, persist_result=False)
async def sweep_flow(now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    with run_app():
        events = sweep_task(now)
    for e in events:
        emit(f"stage.{e['kind']}", e["incident"], stage=e["stage"], recipients=len(e["recipients"]))
    return events
