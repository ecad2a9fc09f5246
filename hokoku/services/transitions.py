"""Acknowledging and advancing stages; refusals are audited, nothing is half-written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.exceptions import InputError, NotFound, TransitionRefused
from hokoku.core.statuses import IncidentStatus
from hokoku.core.timeutil import fmt_jst
from hokoku.models.incident import Acknowledgement, Incident, Stage
from hokoku.security import audit
from hokoku.services.docdata import filed_items
from hokoku.services.incidents import get_incident, incident_policy
from hokoku.services.notifications import MessageContext, enqueue
from hokoku.services.records import snapshot_items
from hokoku.services.slackops import enqueue_ack_updates
from hokoku.services.stagerows import (
    apply_state,
    load_stages,
    resolve_people,
    start_ready_stages,
    state_for_decision,
    to_state,
)
from hokoku.services.tasks import open_blocking_steps
from hokoku.store.db import saved_id, transaction

MAX_NOTE = 20_000


@dataclass
class TransitionResult:
    incident: str
    stages: list[str]
    started: list[str]
    closed: bool

    def to_json(self) -> dict:
        return {"incident": self.incident, "stages": self.stages, "started": self.started, "closed": self.closed}


def _known_actor(app: App, session: Session, actor: str) -> str:
    actor = actor.strip().lower()
    if actor not in app.organisation(session).people():
        raise NotFound(f"unknown person {actor!r}: not in the organisation file")
    return actor


def _record_refusal(
    app: App,
    incident_id: str,
    stage_code: str | None,
    actor: str,
    channel: str,
    reason: str,
    action: str,
    now: datetime,
) -> None:
    """A refused acknowledgement or transition is itself a fact worth keeping (own transaction)."""
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        stage = None
        if stage_code:
            stage = session.execute(
                select(Stage).where(Stage.incident_id == incident.id, Stage.code == stage_code)
            ).scalar_one_or_none()
        if action == "ack.refused" and stage is not None:
            session.add(
                Acknowledgement(
                    incident_id=saved_id(incident),
                    stage_id=stage.id,
                    person_email=actor,
                    at=now,
                    channel=channel,
                    accepted=False,
                    reason=reason[:500],
                )
            )
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action=action,
            incident=incident.public_id,
            data={"stage": stage_code, "channel": channel, "reason": reason[:500]},
        )


def acknowledge(
    app: App,
    *,
    incident_id: str,
    actor: str,
    now: datetime,
    stage: str | None = None,
    channel: str = "cli",
    within: Callable[[Session], None] | None = None,
) -> TransitionResult:
    """Acknowledge the started, unacknowledged stages the actor may acknowledge (or one named stage).

    ``within`` runs inside the same transaction after the acknowledgement (e.g. to record a used
    acknowledgement-link token): if it raises, nothing is acknowledged.
    """
    refused_stage = None
    try:
        with transaction(app.engine) as session:
            actor = _known_actor(app, session, actor)
            incident = get_incident(session, incident_id, lock=True)
            policy = incident_policy(incident)
            rows = load_stages(session, incident, lock=True)
            if stage is not None:
                code = policy.stage(stage).code
                targets = [r for r in rows if r.code == code]
                if not targets:
                    raise NotFound(f"stage {code!r} does not apply to {incident.public_id}")
            else:
                open_ = [r for r in rows if r.status in chain.ACTIVE and r.acknowledged_at is None]
                targets = [r for r in open_ if actor in chain.StageState(r.code, ladder=_ladder(r)).entitled()]
                if not targets:
                    if not open_:
                        raise TransitionRefused(f"{incident.public_id} has no started stage awaiting acknowledgement")
                    targets = open_[:1]  # let the core say why this actor is refused
            ctx = MessageContext.for_incident(app, session, incident)
            acked = []
            for row in targets:
                refused_stage = row.code
                sp = policy.stage(row.code)
                state = chain.acknowledge(
                    sp, state_for_decision(app, session, incident, sp, row, now), actor=actor, now=now
                )
                apply_state(row, state)
                session.add(row)
                session.add(
                    Acknowledgement(
                        incident_id=saved_id(incident),
                        stage_id=saved_id(row),
                        person_email=actor,
                        at=now,
                        channel=channel,
                        accepted=True,
                    )
                )
                audit.append(
                    session,
                    app.keyring,
                    at=now,
                    actor=actor,
                    action="stage.acknowledged",
                    incident=incident.public_id,
                    data={"stage": row.code, "channel": channel},
                )
                enqueue_ack_updates(session, incident, row, actor=actor, now=now, keyring=app.keyring)
                if state.status == chain.DONE:
                    _on_done(app, session, ctx, incident, row, actor, now, note=None)
                acked.append(row.code)
            if within is not None:
                within(session)
            started = start_ready_stages(app, session, incident, rows, now=now, actor=actor, ctx=ctx)
            return TransitionResult(
                incident.public_id, acked, [r.code for r in started], incident.status == IncidentStatus.CLOSED
            )
    except TransitionRefused as exc:
        _record_refusal(app, incident_id, refused_stage, actor.strip().lower(), channel, str(exc), "ack.refused", now)
        raise


def advance(
    app: App,
    *,
    incident_id: str,
    stage: str,
    actor: str,
    now: datetime,
    note: str | None = None,
    skip_reason: str | None = None,
    channel: str = "cli",
) -> TransitionResult:
    """Complete a stage (or skip it with a reason); start the stages that now may start."""
    if note is not None and len(note) > MAX_NOTE:
        raise InputError(f"--note: too long ({len(note)} characters; at most {MAX_NOTE})")
    skip = skip_reason is not None
    code = None
    try:
        with transaction(app.engine) as session:
            actor = _known_actor(app, session, actor)
            incident = get_incident(session, incident_id, lock=True)
            policy = incident_policy(incident)
            code = policy.stage(stage).code
            rows = load_stages(session, incident, lock=True)
            row = next((r for r in rows if r.code == code), None)
            if row is None:
                raise NotFound(f"stage {code!r} does not apply to {incident.public_id}")
            sp = policy.stage(code)
            statuses = {r.code: r.status for r in rows}
            if sp.requires_step_phases and not skip:
                blocking = open_blocking_steps(session, incident, sp.requires_step_phases)
                if blocking:
                    raise TransitionRefused(
                        f"stage {code} cannot be completed while mandatory steps are open: "
                        + ", ".join(t.ref for t in blocking)
                        + " (hokoku step done ...)"
                    )
            state = chain.complete(
                sp,
                state_for_decision(app, session, incident, sp, row, now),
                statuses,
                actor=actor,
                now=now,
                skip_reason=skip_reason,
                skip=skip,
            )
            apply_state(row, state)
            if note:
                row.note_enc = app.keyring.encrypt(note, field="stage.note", bind=row.id)
            if skip and skip_reason:  # chain.complete refuses a skip without a reason
                row.skip_reason_enc = app.keyring.encrypt(skip_reason, field="stage.skip_reason", bind=row.id)
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=actor,
                action="stage.skipped" if skip else "stage.done",
                incident=incident.public_id,
                data={"stage": code, "channel": channel, "with_note": bool(note)},
            )
            ctx = MessageContext.for_incident(app, session, incident)
            if not skip:
                enqueue_ack_updates(
                    session, incident, row, actor=row.acknowledged_by or actor, now=now, keyring=app.keyring
                )
                _on_done(app, session, ctx, incident, row, actor, now, note=note)
            started = start_ready_stages(app, session, incident, rows, now=now, actor=actor, ctx=ctx)
            return TransitionResult(
                incident.public_id, [code], [r.code for r in started], incident.status == IncidentStatus.CLOSED
            )
    except TransitionRefused as exc:
        _record_refusal(app, incident_id, code, actor.strip().lower(), channel, str(exc), "stage.refused", now)
        raise


def _on_done(
    app: App,
    session: Session,
    ctx: MessageContext,
    incident: Incident,
    row: Stage,
    actor: str,
    now: datetime,
    note: str | None,
) -> None:
    """Reports the regulation attaches to a completed stage (27-3 → managers, 27-4 → DG)."""
    sp = incident_policy(incident).stage(row.code)
    if row.code == "ppc-preliminary":  # keep the nine items as filed, to diff the final against
        session.flush()
        items = filed_items(app, session, incident, now=now, lang=app.settings.lang)
        snapshot_items(app, session, incident, kind="ppc-preliminary", items=items, now=now)
    people = app.organisation(session).people()
    who = people[actor].name if actor in people else actor
    for email in resolve_people(app, session, incident, sp.on_done_notify, sp.owner):
        enqueue(
            session,
            app,
            ctx,
            kind="stage_done",
            stage=row,
            recipient=email,
            key=f"{incident.public_id}:{row.code}:done:{email}",
            now=now,
            completed_by=who,
            completed_at=fmt_jst(now),
            note=note,
        )


def resolve_stage_code(app: App, *, incident_id: str, stage: str) -> str:
    """A stage name (code or article) as the incident's own policy knows it."""
    with transaction(app.engine) as session:
        return incident_policy(get_incident(session, incident_id)).stage(stage).code


def acknowledgeable(app: App, *, incident_id: str, actor: str) -> list[str]:
    """Codes of the started, unacknowledged stages ``actor`` may acknowledge (or the first one,
    so that the refusal names the reason)."""
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        open_ = [r for r in load_stages(session, incident) if r.status in chain.ACTIVE and r.acknowledged_at is None]
        mine = [
            r.code for r in open_ if actor.strip().lower() in chain.StageState(r.code, ladder=_ladder(r)).entitled()
        ]
        if not mine and not open_:
            raise TransitionRefused(f"{incident.public_id} has no started stage awaiting acknowledgement")
        return mine or [open_[0].code]


def _ladder(row: Stage):
    return to_state(row).ladder


def stage_permissions(app: App, *, incident_id: str, actor: str, now: datetime) -> dict[str, frozenset[str]]:
    """For each stage of the incident, what ``actor`` may do to it now (``chain.permitted_actions``:
    the same rules :func:`acknowledge` and :func:`advance` apply when the form is sent)."""
    actor = actor.strip().lower()
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        policy = incident_policy(incident)
        rows = load_stages(session, incident)
        statuses = {r.code: r.status for r in rows}
        out: dict[str, frozenset[str]] = {}
        for row in rows:
            if row.status in chain.CLOSED:
                out[row.code] = frozenset()
                continue
            sp = policy.stage(row.code)
            out[row.code] = chain.permitted_actions(
                sp, state_for_decision(app, session, incident, sp, row, now), statuses, actor=actor, now=now
            )
        return out
