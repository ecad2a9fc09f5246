"""Between ``Stage`` rows and the pure core's ``StageState``; starting stages; messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.chain import LadderLevel, StageState
from hokoku.core.jpcalendar import end_of_japan_day, japan_date
from hokoku.core.policy import Policy, StagePolicy
from hokoku.core.roles import Role
from hokoku.core.statuses import IncidentStatus
from hokoku.core.statutory import ppc_deadlines
from hokoku.core.timeutil import as_utc, fmt_jst, iso
from hokoku.models.casework import Triage
from hokoku.models.incident import Incident, Stage
from hokoku.security import audit
from hokoku.services.incidents import incident_policy
from hokoku.services.notifications import MessageContext, enqueue
from hokoku.services.tasks import cancel_open_tasks
from hokoku.store.locking import for_update

_STATE_FIELDS = (
    "status",
    "activated_at",
    "due_at",
    "next_reminder_at",
    "next_escalation_at",
    "escalation_level",
    "reminders_sent",
    "acknowledged_at",
    "acknowledged_by",
    "overdue_at",
    "completed_at",
    "completed_by",
    "next_warning_at",
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


def load_stages(session: Session, incident: Incident, *, lock: bool = False) -> list[Stage]:
    query = select(Stage).where(Stage.incident_id == incident.id).order_by(Stage.seq)
    if lock:
        query = for_update(query)  # lock order: hokoku.store.locking
    return list(session.execute(query).scalars())


def resolve_people(
    app: App, session: Session, incident: Incident, roles: tuple[str, ...] | list[str], owner_role: str
) -> tuple[str, ...]:
    org = app.organisation(session)
    emails: list[str] = []
    for role in roles:
        if role == Role.REPORTER:
            emails.append(incident.reporter_email)
            continue
        emails.extend(p.email for p in org.resolve(role, incident.division_code, owner_role=owner_role))
    return tuple(dict.fromkeys(emails))


def ladder_for(
    app: App, session: Session, incident: Incident, sp: StagePolicy, start: datetime
) -> tuple[LadderLevel, ...]:
    timings = sp.timings(incident.serious)
    people: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        ((sp.owner,), resolve_people(app, session, incident, (sp.owner,), sp.owner))
    ]
    for _after, roles in timings.ladder:
        people.append((roles, resolve_people(app, session, incident, roles, sp.owner)))
    return chain.build_ladder(timings, start, people)


def state_for_decision(
    app: App, session: Session, incident: Incident, sp: StagePolicy, row: Stage, now: datetime
) -> StageState:
    """The row's state; a pending stage gets the ladder it would have, for entitlement checks."""
    state = to_state(row)
    if not state.ladder:
        from dataclasses import replace

        state = replace(state, ladder=ladder_for(app, session, incident, sp, now))
    return state


def latest_triage(session: Session, incident: Incident):
    return session.execute(
        select(Triage).where(Triage.incident_id == incident.id).order_by(Triage.id.desc()).limit(1)
    ).scalar_one_or_none()


def stage_due(session: Session, incident: Incident, policy: Policy, sp: StagePolicy, start: datetime) -> datetime:
    """A stage's due time if it starts (or started) at ``start``.

    Statutory report stages follow the counting rule from the awareness time with the facts in
    force (an unknown unauthorised purpose counts the shorter 30 days); ``deadline_from:
    awareness`` counts the policy's deadline from the awareness time; ``deadline_end_of_day``
    moves the result to the end of its day in Japan.
    """
    if sp.deadline_rule is not None:
        triage = latest_triage(session, incident)
        deadlines = ppc_deadlines(
            incident.aware_at,
            unauthorized_purpose=bool(triage and triage.unauthorized_purpose),
            preliminary_days=policy.statutory.preliminary_days,
        )
        return deadlines.preliminary_target_at if sp.deadline_rule == "ppc_preliminary" else deadlines.final_due_at
    timings = sp.timings(incident.serious)
    due = timings.deadline.after(incident.aware_at if sp.deadline_from == "awareness" else start)
    if sp.deadline_end_of_day:
        due = end_of_japan_day(japan_date(due))
    return due


def follows_facts(sp: StagePolicy) -> bool:
    """A stage whose due time depends on facts that can be corrected later."""
    return sp.deadline_rule is not None or sp.deadline_from == "awareness"


def recompute_dues(
    app: App,
    session: Session,
    incident: Incident,
    rows: list[Stage],
    *,
    now: datetime,
    actor: str,
    ctx: MessageContext,
    cause: str,
) -> list[dict]:
    """Move every running stage whose due time follows the facts to its due time under the facts
    now in force; each move is an audit event with the old and new times and a message to the
    people the stage has reached."""
    policy = incident_policy(incident)
    moved = []
    for row in rows:
        sp = policy.stage(row.code)
        if row.status not in chain.ACTIVE or not follows_facts(sp) or row.activated_at is None:
            continue
        new_due = stage_due(session, incident, policy, sp, row.activated_at)
        if row.due_at is not None and as_utc(row.due_at) == as_utc(new_due):
            continue
        old_due = row.due_at
        state = chain.reschedule(to_state(row), sp.timings(incident.serious), new_due, now)
        apply_state(row, state)
        session.add(row)
        change = {"stage": row.code, "old_due_at": iso(old_due), "new_due_at": iso(new_due), "cause": cause}
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="stage.due_changed",
            incident=incident.public_id,
            data=change,
        )
        for email in state.current_recipients():
            enqueue(
                session,
                app,
                ctx,
                kind="due_changed",
                stage=row,
                recipient=email,
                now=now,
                key=f"{incident.public_id}:{row.code}:due_changed:{iso(new_due)}:{email}",
                old_due_at=fmt_jst(old_due),
                cause=cause,
            )
        moved.append(change)
    return moved


def _tell_statutory_owners(
    app: App, session: Session, incident: Incident, rows: list[Stage], *, now: datetime, ctx: MessageContext
) -> None:
    """One message per owner for the statutory duties that just started (not one per duty):
    which clocks run, their due times, and why (the incident is or may be reportable)."""
    if not rows:
        return
    owners: dict[str, list[Stage]] = {}
    for row in rows:
        for email in to_state(row).ladder[0].emails:
            owners.setdefault(email, []).append(row)
    for email, duties in owners.items():
        enqueue(
            session,
            app,
            ctx,
            kind="statutory_started",
            recipient=email,
            now=now,
            key=f"{incident.public_id}:statutory_started:{iso(now)}:{email}",
            duties=[ctx.stage_vars(r) for r in duties],
        )


def start_ready_stages(
    app: App, session: Session, incident: Incident, rows: list[Stage], *, now: datetime, actor: str, ctx: MessageContext
) -> list[Stage]:
    """Start every pending stage whose requirements are met; tell each owner; close if all done."""
    policy = incident_policy(incident)
    applicable = [policy.stage(r.code) for r in rows]
    started = []
    while True:
        statuses = {r.code: r.status for r in rows}
        for code in chain.not_applicable(applicable, statuses):
            row = next(r for r in rows if r.code == code)
            apply_state(row, chain.set_aside(to_state(row), by="hokoku:chain", now=now))
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=actor,
                action="stage.not_applicable",
                incident=incident.public_id,
                data={
                    "stage": code,
                    "because_skipped": [
                        r for r in policy.stage(code).requires_done if statuses.get(r) == chain.SKIPPED
                    ],
                },
            )
        statuses = {r.code: r.status for r in rows}
        ready = chain.ready_to_start(applicable, statuses)
        if not ready:
            break
        for code in ready:
            row = next(r for r in rows if r.code == code)
            sp = policy.stage(code)
            state = chain.activate(
                to_state(row),
                sp.timings(incident.serious),
                ladder_for(app, session, incident, sp, now),
                now,
                due_at=stage_due(session, incident, policy, sp, now),
            )
            if sp.completed_by == "intake":
                state = chain.received(state, actor=actor, now=now)
            apply_state(row, state)
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=actor,
                action="stage.started",
                incident=incident.public_id,
                data={"stage": code, "due_at": iso(state.due_at), "owner": row.owner_email},
            )
            if state.status == chain.NOTIFIED and not sp.statutory:
                for email in state.ladder[0].emails:
                    enqueue(
                        session,
                        app,
                        ctx,
                        kind="notify",
                        stage=row,
                        recipient=email,
                        key=f"{incident.public_id}:{code}:notify:{email}",
                        now=now,
                    )
            started.append(row)
    _tell_statutory_owners(
        app, session, incident, [r for r in started if policy.stage(r.code).statutory], now=now, ctx=ctx
    )
    if all(r.status in chain.CLOSED for r in rows) and incident.status != IncidentStatus.CLOSED:
        incident.status, incident.closed_at = IncidentStatus.CLOSED, now
        session.add(incident)

        cancelled = cancel_open_tasks(session, incident, now=now)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="incident.closed",
            incident=incident.public_id,
            data={"tasks_cancelled": cancelled} if cancelled else None,
        )
    return started
