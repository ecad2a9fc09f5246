"""Intake: validate, persist, route to the protection manager, start the first stage (27-1)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_client, task
from prefect.runtime import flow_run

from flows.common import app, emit


@task(name="persist report")  # not retried: a retry after a commit would file the report twice
def persist_report(params: dict) -> dict:
    from hokoku.services.intake import report_incident

    return report_incident(app(), **params).to_json()


@flow(name="27-1 report received", log_prints=False)
async def intake_flow(
    division: str, category: str, summary: str, reporter: str, now: datetime,
    aware_at: datetime | None = None, serious: bool = False, entry: str = "staff", source: str = "cli",
    details: str | None = None, occurred_at: datetime | None = None, data_items: str | None = None,
    individuals: int | None = None,
) -> dict:
    params = dict(division=division, category=category, summary=summary, reporter=reporter, now=now,
                  aware_at=aware_at, serious=serious, entry=entry, source=source, details=details,
                  occurred_at=occurred_at, data_items=data_items, individuals=individuals)
    result = persist_report(params)
    incident = result["incident"]
    run_id = flow_run.get_id()
    if run_id:
        async with get_client() as client:
            await client.update_flow_run(run_id, tags=[*flow_run.get_tags(), incident, "intake"])
    emit("incident.reported", incident, division=division, category=category, serious=serious, entry=entry)
    emit("stage.started", incident, stage="acknowledge")
    return result
