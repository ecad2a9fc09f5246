"""Between ``Stage`` rows and the pure core's ``StageState``; starting stages; messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku import audit, chain
from hokoku.app import App
from hokoku.chain import LadderLevel, StageState
from hokoku.locking import for_update
from hokoku.policy import Policy, StagePolicy, policy_from_snapshot
from hokoku.roles import Role
from hokoku.services.outbox import MessageContext, enqueue
from hokoku.timeutil import as_utc, iso
from models.incident import Incident, Stage

_STATE_FIELDS = (
    "status", "activated_at", "due_at", "next_reminder_at", "next_escalation_at", "escalation_level",
    "reminders_sent", "acknowledged_at", "acknowledged_by", "overdue_at", "completed_at", "completed_by",
)


def to_state(row: Stage) -> StageState:
    ladder = tuple(
        LadderLevel(lvl["level"], as_utc(datetime.fromisoformat(lvl["at"])), tuple(lvl["roles"]), tuple(lvl["emails"]))
        for lvl in row.ladder or []
    )
    return StageState(code=row.code, ladder=ladder, **{f: getattr(row, f) for f in _STATE_FIELDS})


def apply_state(row: Stage, state: StageState) -> None:
    for f in _STATE_FIELDS:
        setattr(row, f, getattr(state, f))
    row.ladder = [
        {"level": lvl.level, "at": iso(lvl.at), "roles": list(lvl.roles), "emails": list(lvl.emails)}
        for lvl in state.ladder
    ]
    if state.ladder and state.ladder[0].emails:
        row.owner_email = state.ladder[0].emails[0]
    row.next_action_at = state.next_action_at


_policy_cache: dict[str, Policy] = {}


def incident_policy(incident: Incident) -> Policy:
    """The policy snapshotted onto the incident (never the current file)."""
    policy = _policy_cache.get(incident.policy_sha256)
    if policy is None:
        policy = _policy_cache[incident.policy_sha256] = policy_from_snapshot(incident.policy_snapshot)
    return policy


def load_stages(session: Session, incident: Incident, *, lock: bool = False) -> list[Stage]:
    query = select(Stage).where(Stage.incident_id == incident.id).order_by(Stage.seq)
    if lock:
        query = for_update(query)  # lock order: hokoku.locking
    return list(session.execute(query).scalars())


def resolve_people(app: App, session: Session, incident: Incident, roles: tuple[str, ...] | list[str], owner_role: str) -> tuple[str, ...]:
    org = app.organisation(session)
    emails: list[str] = []
    for role in roles:
        if role == Role.REPORTER:
            emails.append(incident.reporter_email)
            continue
        emails.extend(p.email for p in org.resolve(role, incident.division_code, owner_role=owner_role))
    return tuple(dict.fromkeys(emails))


def ladder_for(app: App, session: Session, incident: Incident, sp: StagePolicy, start: datetime) -> tuple[LadderLevel, ...]:
    timings = sp.timings(incident.serious)
    people = [((sp.owner,), resolve_people(app, session, incident, (sp.owner,), sp.owner))]
    for _after, roles in timings.ladder:
        people.append((roles, resolve_people(app, session, incident, roles, sp.owner)))
    return chain.build_ladder(timings, start, people)


def state_for_decision(app: App, session: Session, incident: Incident, sp: StagePolicy, row: Stage, now: datetime) -> StageState:
    """The row's state; a pending stage gets the ladder it would have, for entitlement checks."""
    state = to_state(row)
    if not state.ladder:
        from dataclasses import replace

        state = replace(state, ladder=ladder_for(app, session, incident, sp, now))
    return state


def latest_triage(session: Session, incident: Incident):
    from models.casework import Triage

    return session.execute(
        select(Triage).where(Triage.incident_id == incident.id).order_by(Triage.id.desc()).limit(1)
    ).scalar_one_or_none()


def statutory_due(session: Session, incident: Incident, policy: Policy, sp: StagePolicy) -> datetime | None:
    """End of the statutory due day (Japan time) for the PPC report stages; None otherwise."""
    if sp.deadline_rule is None:
        return None
    from hokoku.statutory import ppc_deadlines

    triage = latest_triage(session, incident)
    deadlines = ppc_deadlines(incident.aware_at, unauthorized_purpose=bool(triage and triage.unauthorized_purpose),
                              preliminary_days=policy.statutory.preliminary_days)
    return deadlines.preliminary_target_at if sp.deadline_rule == "ppc_preliminary" else deadlines.final_due_at


def start_ready_stages(app: App, session: Session, incident: Incident, rows: list[Stage], *, now: datetime, actor: str, ctx: MessageContext) -> list[Stage]:
    """Start every pending stage whose requirements are met; tell each owner; close if all done."""
    policy = incident_policy(incident)
    applicable = [policy.stage(r.code) for r in rows]
    started = []
    while True:
        statuses = {r.code: r.status for r in rows}
        ready = chain.ready_to_start(applicable, statuses)
        if not ready:
            break
        for code in ready:
            row = next(r for r in rows if r.code == code)
            sp = policy.stage(code)
            state = chain.activate(to_state(row), sp.timings(incident.serious), ladder_for(app, session, incident, sp, now),
                                   now, due_at=statutory_due(session, incident, policy, sp))
            if sp.completed_by == "intake":
                state = chain.received(state, actor=actor, now=now)
            apply_state(row, state)
            session.add(row)
            audit.append(session, app.keyring, at=now, actor=actor, action="stage.started", incident=incident.public_id,
                         data={"stage": code, "due_at": iso(state.due_at), "owner": row.owner_email})
            if state.status == chain.NOTIFIED:
                for email in state.ladder[0].emails:
                    enqueue(session, app, ctx, kind="notify", stage=row, recipient=email,
                            key=f"{incident.public_id}:{code}:notify:{email}", now=now)
            started.append(row)
    if all(r.status in chain.CLOSED for r in rows) and incident.status != "closed":
        incident.status, incident.closed_at = "closed", now
        session.add(incident)
        audit.append(session, app.keyring, at=now, actor=actor, action="incident.closed", incident=incident.public_id)
    return started
