"""One Prefect flow per Chapter 9 stage, named for its article, runs tagged with the incident id.

Each run performs one transition of its stage (acknowledge, complete, skip) through the
services and emits events for it and for the stages it started. Waiting between stages is
rows in the database, never a sleeping or paused flow.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from prefect import Flow, flow, tags, task

from hokoku.app import open_app
from hokoku.config.policyfile import load_policy
from hokoku.flows.common import app, emit, run_app, through_flow, with_input
from hokoku.store.db import transaction

if TYPE_CHECKING:
    from prefect.states import State

#: A stage's flow: ``await run(incident_id, action, input_id, now, channel=...)`` gives the transition's JSON.
StageFlow = Flow[..., Coroutine[Any, Any, dict[str, Any]]]


@task(name="apply transition", persist_result=False)  # not retried: transitions are not idempotent once committed
def apply_transition(action: str, incident_id: str, stage: str, now: datetime, channel: str, input_id: str) -> dict:
    """One transition; who acts and what they wrote come from the stashed input, never from Prefect."""
    from hokoku.services import transitions

    def work(a, given: dict) -> dict:
        if action == "ack":
            return transitions.acknowledge(
                a, incident_id=incident_id, actor=given["actor"], now=now, stage=stage, channel=channel
            ).to_json()
        return transitions.advance(
            a,
            incident_id=incident_id,
            stage=stage,
            actor=given["actor"],
            now=now,
            note=given.get("note"),
            skip_reason=given.get("skip_reason"),
            channel=channel,
        ).to_json()

    return with_input("transition", input_id, work)


def _make_stage_flow(code: str, name: str) -> StageFlow:
    async def stage_run(incident_id: str, action: str, input_id: str, now: datetime, channel: str = "cli") -> dict:
        """``action``: ack, advance or skip; ``input_id``: a ``transition`` flow input holding the
        actor's address and any note or skip reason. ``record-<kind>`` (started, acknowledged, done,
        skipped) records a transition already committed by another entry point (a ``flow_trigger``
        row): nothing is performed again."""
        if action.startswith("record-"):
            kind = action.removeprefix("record-")
            emit(f"stage.{kind}", incident_id, stage=code, channel=channel)
            return {"incident": incident_id, "stage": code, "recorded": kind}
        from hokoku.store.triggers import performing

        with run_app(), performing(incident_id, code):
            result = apply_transition(action, incident_id, code, now, channel, input_id)
        event = {"ack": "stage.acknowledged", "advance": "stage.done", "skip": "stage.skipped"}[action]
        emit(event, result["incident"], stage=code, channel=channel)
        for started in result["started"]:
            emit("stage.started", result["incident"], stage=started)
        if result["closed"]:
            emit("incident.closed", result["incident"])
        return result

    stage_run.__name__ = f"stage_{code.replace('-', '_')}"
    # runs are named for the incident and the article ("INC-2027-0001 · 27-3 report to managers")
    run_name = "{incident_id} · " + name.replace("{", "{{").replace("}", "}}")
    return flow(name=name, flow_run_name=run_name, log_prints=False, persist_result=False)(stage_run)


#: code → flow for the shipped policy's stages (prefect.yaml's entrypoints name these).
STAGE_FLOWS: dict[str, StageFlow] = {
    sp.code: _make_stage_flow(sp.code, sp.flow) for sp in load_policy().stages if sp.completed_by != "intake"
}
_MADE: dict[tuple[str, str], StageFlow] = {}


def stage_flow(code: str, name: str | None = None) -> StageFlow:
    """The flow of stage ``code`` named ``name`` (the article, from the policy in force or the
    incident's snapshot); the shipped flow when the names agree, else one made for it."""
    shipped = STAGE_FLOWS.get(code)
    if shipped is not None and name in (None, shipped.name):
        return shipped
    name = name or f"stage {code}"
    if (code, name) not in _MADE:
        _MADE[code, name] = _make_stage_flow(code, name)
    return _MADE[code, name]


def policy_stage_flows(policy) -> dict[str, StageFlow]:
    """code → flow for every stage a person completes under ``policy`` (e.g. ``HOKOKU_POLICY_FILE``)."""
    return {sp.code: stage_flow(sp.code, sp.flow) for sp in policy.stages if sp.completed_by != "intake"}


def _canonical(a, incident_id: str) -> tuple[str, dict[str, str]]:
    """The incident's public id as stored (a typed id that names no incident never reaches Prefect)
    and its snapshot's stage code → flow name."""
    from hokoku.services.incidents import get_incident, incident_policy

    with transaction(a.engine) as session:
        incident = get_incident(session, incident_id)
        return incident.public_id, {sp.code: sp.flow for sp in incident_policy(incident).stages}


async def _run_stage(
    a,
    *,
    incident_id: str,
    code: str,
    action: str,
    now: datetime,
    channel: str,
    given: dict,
    names: dict[str, str] | None = None,
) -> dict:
    run = stage_flow(code, (names or {}).get(code))
    with tags(incident_id, code):
        return await through_flow(
            a,
            kind="transition",
            payload=given,
            start=lambda input_id: run(incident_id, action, input_id, now, channel=channel),
        )


async def record_transition(a, *, incident: str, stage: str, kind: str, at: datetime, channel: str = "") -> str:
    """A run of ``stage``'s flow recording a committed transition (a ``flow_trigger`` row), named for
    the incident and the article, tagged with the incident id; returns the run's id. Raises when
    Prefect is unreachable or the run did not complete (the row then waits)."""
    _public, names = _canonical(a, incident)
    run = stage_flow(stage, names.get(stage))
    with tags(incident, stage, kind):
        # Prefect's overloads pick the result type for a Flow[..., Coroutine] even with return_state=True
        state = cast(
            "State[dict[str, Any]]",
            await run(incident, f"record-{kind}", "", at, channel=channel or "cli", return_state=True),
        )
    if not state.is_completed():
        raise RuntimeError(f"the run recording {kind} of {stage} for {incident} ended {state.type.value}")
    return str(state.state_details.flow_run_id)


async def run_ack(*, incident_id: str, actor: str, now: datetime, stage: str | None = None, channel: str = "cli"):
    """Acknowledge through the stage flows; Prefect gets the incident id and stage code, not the actor."""
    from hokoku.services.transitions import TransitionResult, acknowledgeable, resolve_stage_code

    a = app()
    incident_id, names = _canonical(a, incident_id)
    if stage:
        codes = [resolve_stage_code(a, incident_id=incident_id, stage=stage)]
    else:
        codes = acknowledgeable(a, incident_id=incident_id, actor=actor)
    results = [
        await _run_stage(
            a,
            incident_id=incident_id,
            code=code,
            action="ack",
            now=now,
            channel=channel,
            given={"actor": actor},
            names=names,
        )
        for code in codes
    ]
    return TransitionResult(
        results[0]["incident"],
        [s for r in results for s in r["stages"]],
        [s for r in results for s in r["started"]],
        any(r["closed"] for r in results),
    )


async def run_advance(
    *,
    incident_id: str,
    stage: str,
    actor: str,
    now: datetime,
    note: str | None = None,
    skip_reason: str | None = None,
    channel: str = "cli",
):
    """Complete or skip through the stage flow; the note and the skip reason stay in hokoku."""
    from hokoku.services.transitions import TransitionResult, resolve_stage_code

    a = app()
    incident_id, names = _canonical(a, incident_id)
    code = resolve_stage_code(a, incident_id=incident_id, stage=stage)
    action = "skip" if skip_reason is not None else "advance"
    r = await _run_stage(
        a,
        incident_id=incident_id,
        code=code,
        action=action,
        now=now,
        channel=channel,
        given={"actor": actor, "note": note, "skip_reason": skip_reason},
        names=names,
    )
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


def __getattr__(attr: str) -> Flow:
    """``<code>_flow`` for a stage of the policy in force (``HOKOKU_POLICY_FILE``) that the shipped
    policy lacks, so a deployment's entrypoint can name it."""
    if attr.endswith("_flow") and not attr.startswith("_"):
        code = attr.removesuffix("_flow").replace("_", "-")
        for sp in open_app().policy.stages:
            if sp.code == code and sp.completed_by != "intake":
                return stage_flow(code, sp.flow)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
