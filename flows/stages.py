"""One Prefect flow per Chapter 9 stage, named for its article, runs tagged with the incident id.

Each run performs one transition of its stage (acknowledge, complete, skip) through the
services and emits events for it and for the stages it started. Waiting between stages is
rows in the database, never a sleeping or paused flow.
"""

from __future__ import annotations

from datetime import datetime

from prefect import Flow, flow, tags, task

from flows.common import app, emit, through_flow, with_input
from hokoku.policy import load_policy


@task(name="apply transition", persist_result=False)  # not retried: transitions are not idempotent once committed
def apply_transition(action: str, incident_id: str, stage: str, now: datetime, channel: str, input_id: str) -> dict:
    """One transition; who acts and what they wrote come from the stashed input, never from Prefect."""
    from hokoku.services import transitions

    def work(a, given: dict) -> dict:
        if action == "ack":
            return transitions.acknowledge(a, incident_id=incident_id, actor=given["actor"], now=now, stage=stage,
                                           channel=channel).to_json()
        return transitions.advance(a, incident_id=incident_id, stage=stage, actor=given["actor"], now=now,
                                   note=given.get("note"), skip_reason=given.get("skip_reason"),
                                   channel=channel).to_json()

    return with_input("transition", input_id, work)


def _make_stage_flow(code: str, name: str) -> Flow:
    async def stage_run(incident_id: str, action: str, input_id: str, now: datetime, channel: str = "cli") -> dict:
        """``action``: ack, advance or skip; ``input_id``: a ``transition`` flow input holding the
        actor's address and any note or skip reason."""
        result = apply_transition(action, incident_id, code, now, channel, input_id)
        event = {"ack": "stage.acknowledged", "advance": "stage.done", "skip": "stage.skipped"}[action]
        emit(event, result["incident"], stage=code, channel=channel)
        for started in result["started"]:
            emit("stage.started", result["incident"], stage=started)
        if result["closed"]:
            emit("incident.closed", result["incident"])
        return result

    stage_run.__name__ = f"stage_{code.replace('-', '_')}"
    return flow(name=name, log_prints=False, persist_result=False)(stage_run)


#: code → flow, from the shipped policy (stages of custom policies use the generic flow).
STAGE_FLOWS: dict[str, Flow] = {
    sp.code: _make_stage_flow(sp.code, sp.flow) for sp in load_policy().stages if sp.completed_by != "intake"
}


def stage_flow(code: str) -> Flow:
    return STAGE_FLOWS.get(code) or _make_stage_flow(code, f"stage {code}")


def _canonical(a, incident_id: str) -> str:
    """The incident's public id as stored (a typed id that names no incident never reaches Prefect)."""
    from hokoku.db import transaction
    from hokoku.services.transitions import get_incident

    with transaction(a.engine) as session:
        return get_incident(session, incident_id).public_id


async def _run_stage(a, *, incident_id: str, code: str, action: str, now: datetime, channel: str, given: dict) -> dict:
    with tags(incident_id, code):
        return await through_flow(a, kind="transition", payload=given, start=lambda input_id: stage_flow(code)(
            incident_id, action, input_id, now, channel=channel))


async def run_ack(*, incident_id: str, actor: str, now: datetime, stage: str | None = None, channel: str = "cli"):
    """Acknowledge through the stage flows; Prefect gets the incident id and stage code, not the actor."""
    from hokoku.services.transitions import TransitionResult, acknowledgeable, resolve_stage_code

    a = app()
    incident_id = _canonical(a, incident_id)
    if stage:
        codes = [resolve_stage_code(a, incident_id=incident_id, stage=stage)]
    else:
        codes = acknowledgeable(a, incident_id=incident_id, actor=actor)
    results = [await _run_stage(a, incident_id=incident_id, code=code, action="ack", now=now, channel=channel,
                                given={"actor": actor}) for code in codes]
    return TransitionResult(
        results[0]["incident"], [s for r in results for s in r["stages"]],
        [s for r in results for s in r["started"]], any(r["closed"] for r in results),
    )


async def run_advance(*, incident_id: str, stage: str, actor: str, now: datetime, note: str | None = None,
                      skip_reason: str | None = None, channel: str = "cli"):
    """Complete or skip through the stage flow; the note and the skip reason stay in hokoku."""
    from hokoku.services.transitions import TransitionResult, resolve_stage_code

    a = app()
    incident_id = _canonical(a, incident_id)
    code = resolve_stage_code(a, incident_id=incident_id, stage=stage)
    action = "skip" if skip_reason is not None else "advance"
    r = await _run_stage(a, incident_id=incident_id, code=code, action=action, now=now, channel=channel,
                         given={"actor": actor, "note": note, "skip_reason": skip_reason})
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
