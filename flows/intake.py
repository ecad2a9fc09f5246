"""Intake: validate, persist, route to the protection manager, start the first stage (27-1).

The report itself (summary, details, reporter) never is a parameter of the flow: the caller
stashes it encrypted in hokoku's database (:func:`run_report` does) and passes the input's id.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from prefect import flow, get_client, task
from prefect.runtime import flow_run

from hokoku.flows.common import emit, run_app, through_flow, with_input


@task(name="persist report", persist_result=False)  # not retried: a retry after a commit would file it twice
def persist_report(input_id: str, now: datetime) -> dict:
    """File the stashed report; return what Prefect may see (the id, codes and counts)."""
    from hokoku.services.intake import report_incident

    codes = {}

    def work(a, report: dict) -> dict:
        codes.update({k: report.get(k) for k in ("division", "category", "serious", "entry")})
        return report_incident(a, now=now, **report).to_json()

    result = with_input("report", input_id, work)
    return {
        "incident": result["incident"],
        "notified": len(result["notified"]),
        "immediate_actions": len(result["immediate_actions"]),
        **codes,
    }


@flow(name="27-1 report received", log_prints=False, persist_result=False)
async def intake_flow(input_id: str, now: datetime) -> dict:
    """``input_id``: a ``report`` flow input (:func:`hokoku.services.flowinput.stash`)."""
    with run_app():
        result = persist_report(input_id, now)
    incident = result["incident"]
    run_id = flow_run.get_id()
    if run_id:
        async with get_client() as client:
            await client.update_flow_run(
                UUID(run_id), name=f"{incident} · {intake_flow.name}", tags=[*flow_run.get_tags(), incident, "intake"]
            )
    emit(
        "incident.reported",
        incident,
        division=result["division"],
        category=result["category"],
        serious=bool(result["serious"]),
        entry=result["entry"] or "staff",
    )
    emit("stage.started", incident, stage="acknowledge")
    return result


async def run_report(a, *, now: datetime, **report):
    """File a report through :func:`intake_flow`, passing Prefect only the input's id; returns the
    service's :class:`~hokoku.services.intake.IntakeResult` (or raises its refusal)."""
    from hokoku.services.intake import IntakeResult

    data = await through_flow(
        a, kind="report", payload=report, start=lambda input_id: intake_flow(input_id=input_id, now=now)
    )
    return IntakeResult(data["incident"], data["notified"], data["immediate_actions"])
