"""One Prefect flow per Chapter 9 stage, named for its article, runs tagged with the incident id.

Each run performs one transition of its stage (acknowledge, complete, skip) through the
services and emits events for it and for the stages it started. Waiting between stages is
rows in the database, never a sleeping or paused flow.
"""

from __future__ import annotations

from datetime import datetime

from prefect import Flow, flow, tags, task

from flows.common import app, emit
from hokoku.policy import load_policy


@task(name="apply transition")  # not retried: transitions are not idempotent once committed
def apply_transition(action: str, params: dict) -> dict:
    from hokoku.services import transitions

    if action == "ack":
        return transitions.acknowledge(app(), **params).to_json()
    return transitions.advance(app(), **params).to_json()


def _make_stage_flow(code: str, name: str) -> Flow:
    async def stage_run(incident_id: str, action: str, actor: str, now: datetime, note: str | None = None,
                        skip_reason: str | None = None, channel: str = "cli") -> dict:
        if action == "ack":
            params = dict(incident_id=incident_id, actor=actor, now=now, stage=code, channel=channel)
        else:
            params = dict(incident_id=incident_id, stage=code, actor=actor, now=now, note=note,
                          skip_reason=skip_reason, channel=channel)
        result = apply_transition(action, params)
        event = {"ack": "stage.acknowledged", "advance": "stage.done", "skip": "stage.skipped"}[action]
        emit(event, result["incident"], stage=code, channel=channel)
        for started in result["started"]:
            emit("stage.started", result["incident"], stage=started)
        if result["closed"]:
            emit("incident.closed", result["incident"])
        return result

    stage_run.__name__ = f"stage_{code.replace('-', '_')}"
    return flow(name=name, log_prints=False)(stage_run)


#: code → flow, from the shipped policy (stages of custom policies use the generic flow).
STAGE_FLOWS: dict[str, Flow] = {
    sp.code: _make_stage_flow(sp.code, sp.flow) for sp in load_policy().stages if sp.completed_by != "intake"
}


def stage_flow(code: str) -> Flow:
    return STAGE_FLOWS.get(code) or _make_stage_flow(code, f"stage {code}")


async def run_ack(*, incident_id: str, actor: str, now: datetime, stage: str | None = None, channel: str = "cli"):
    from hokoku.services.transitions import TransitionResult, acknowledgeable, resolve_stage_code

    a = app()
    if stage:
        codes = [resolve_stage_code(a, incident_id=incident_id, stage=stage)]
    else:
        codes = acknowledgeable(a, incident_id=incident_id, actor=actor)
    results = []
    for code in codes:
        with tags(incident_id.upper(), code):
            results.append(await stage_flow(code)(incident_id, "ack", actor, now, channel=channel))
    return TransitionResult(
        results[0]["incident"], [s for r in results for s in r["stages"]],
        [s for r in results for s in r["started"]], any(r["closed"] for r in results),
    )


async def run_advance(*, incident_id: str, stage: str, actor: str, now: datetime, note: str | None = None,
                      skip_reason: str | None = None, channel: str = "cli"):
    from hokoku.services.transitions import TransitionResult, resolve_stage_code

    code = resolve_stage_code(app(), incident_id=incident_id, stage=stage)
    action = "skip" if skip_reason is not None else "advance"
    with tags(incident_id.upper(), code):
        r = await stage_flow(code)(incident_id, action, actor, now, note=note, skip_reason=skip_reason, channel=channel)
    return TransitionResult(r["incident"], r["stages"], r["started"], r["closed"])

# Module-level names so prefect.yaml entrypoints can point at each stage's flow.
acknowledge_flow = STAGE_FLOWS["acknowledge"]
contractor_report_flow = STAGE_FLOWS["contractor-report"]
immediate_measures_flow = STAGE_FLOWS["immediate-measures"]
containment_flow = STAGE_FLOWS["containment"]
investigation_report_flow = STAGE_FLOWS["investigation-report"]
dg_report_flow = STAGE_FLOWS["dg-report"]
root_cause_flow = STAGE_FLOWS["root-cause"]
triage_flow = STAGE_FLOWS["triage"]
publication_flow = STAGE_FLOWS["publication"]
commission_information_flow = STAGE_FLOWS["commission-information"]
ppc_preliminary_flow = STAGE_FLOWS["ppc-preliminary"]
ppc_final_flow = STAGE_FLOWS["ppc-final"]
individual_notice_flow = STAGE_FLOWS["individual-notice"]
