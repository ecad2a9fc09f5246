"""Tasks on an incident: playbook steps (assigned by role) and recurrence-prevention actions.

Their deadlines drive "due soon" reminders and overdue marks through the same sweep and
outbox as the chain stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from hokoku.app import App
from hokoku.config.playbooks import step_deadlines
from hokoku.core import taskrules
from hokoku.core.exceptions import InputError, NotFound, TransitionRefused
from hokoku.core.roles import Role
from hokoku.core.statuses import OPEN_TASKS, IncidentStatus
from hokoku.core.timeutil import fmt_jst, iso
from hokoku.i18n import in_lang
from hokoku.models.casework import Task
from hokoku.models.incident import Incident
from hokoku.security import audit
from hokoku.services.incidents import get_incident
from hokoku.services.notifications import MessageContext, enqueue
from hokoku.store.db import saved_id, transaction
from hokoku.store.locking import for_update

MAX_TEXT = 20_000
#: Roles that manage an incident's casework (assign, complete any task, record findings).
MANAGER_ROLES = (Role.PROTECTION_MANAGER, Role.PROTECTION_OFFICER, Role.INSTITUTE_MANAGER, Role.GENERAL_MANAGER)


def managers(app: App, session: Session, incident: Incident) -> set[str]:
    """The division's protection manager (and deputy) and officers, the institute manager
    (and deputy) and the general manager (and deputy)."""
    org = app.organisation(session)
    out: set[str] = set()
    for role in MANAGER_ROLES:
        for holder in org.holders(role, incident.division_code):
            out.add(holder.email)
            if holder.deputy:
                out.add(holder.deputy.email)
    return out


def require_manager(app: App, session: Session, incident: Incident, actor: str, verb: str) -> str:
    actor = actor.strip().lower()
    if actor not in app.organisation(session).people():
        raise NotFound(f"unknown person {actor!r}: not in the organisation file")
    if actor not in managers(app, session, incident):
        raise TransitionRefused(
            f"{actor} may not {verb} on {incident.public_id}: only the division's protection manager, "
            "protection officers, the institute manager or the general manager (or their deputies) may"
        )
    return actor


def _owner_for(app: App, session: Session, incident: Incident, role: str) -> str | None:
    if role == Role.REPORTER:
        return incident.reporter_email
    people = app.organisation(session).resolve(role, incident.division_code, owner_role=role)
    return people[0].email if people else None


def create_step_tasks(app: App, session: Session, incident: Incident, *, now: datetime, actor: str) -> list[Task]:
    """Turn the category's playbook steps into tasks (replacing open steps of another category)."""
    playbook = app.playbooks.get(incident.category)
    existing = list(session.execute(select(Task).where(Task.incident_id == incident.id, Task.kind == "step")).scalars())
    for task in existing:
        if task.category != incident.category and task.status not in taskrules.CLOSED:
            task.status, task.next_reminder_at, task.next_action_at = taskrules.SKIPPED, None, None
            session.add(task)
    if playbook is None:
        return []
    have = {t.ref for t in existing}
    created = []
    for seq, (step, due_at) in enumerate(step_deadlines(playbook, incident.reported_at), start=1):
        ref = step.id if step.id not in have else f"{incident.category}:{step.id}"
        if ref in have:
            continue
        state = taskrules.new_task(now, due_at)
        task = Task(
            incident_id=saved_id(incident),
            kind="step",
            ref=ref,
            seq=seq,
            category=incident.category,
            phase=step.phase,
            title_ja=step.title.get("ja"),
            title_en=step.title.get("en"),
            owner_role=str(step.owner),
            owner_email=_owner_for(app, session, incident, str(step.owner)),
            mandatory=step.mandatory,
            created_at=now,
            due_at=due_at,
            next_reminder_at=state.next_reminder_at,
            next_action_at=state.next_action_at,
        )
        session.add(task)
        created.append(task)
    session.flush()
    if created:
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="tasks.created",
            incident=incident.public_id,
            data={"category": incident.category, "steps": [t.ref for t in created]},
        )
    return created


def open_blocking_steps(session: Session, incident: Incident, phases: Sequence[str]) -> list[Task]:
    return list(
        session.execute(
            select(Task)
            .where(
                Task.incident_id == incident.id,
                Task.kind == "step",
                Task.mandatory.is_(True),
                Task.phase.in_(phases),
                Task.status.in_(sorted(OPEN_TASKS)),
            )
            .order_by(Task.seq)
        ).scalars()
    )


def _get_task(session: Session, incident: Incident, ref: str) -> Task:
    task = session.execute(
        select(Task).where(Task.incident_id == incident.id, Task.ref == ref.strip())
    ).scalar_one_or_none()
    if task is None:
        refs = session.execute(
            select(Task.ref).where(Task.incident_id == incident.id).order_by(Task.kind, Task.seq)
        ).scalars()
        raise NotFound(f"{incident.public_id} has no step or action {ref!r} (has: {', '.join(refs) or 'none'})")
    return task


def task_view(app: App, task: Task, lang: str, people: dict) -> dict:
    title = (
        app.keyring.decrypt(task.title_enc, field="task.title", bind=task.id)
        if task.title_enc
        else in_lang(lang, ja=task.title_ja, en=task.title_en)
    )
    return {
        "ref": task.ref,
        "kind": task.kind,
        "phase": task.phase,
        "title": title,
        "mandatory": task.mandatory,
        "owner_role": task.owner_role,
        "owner": task.owner_email,
        "owner_name": people[task.owner_email].name if task.owner_email in people else None,
        "status": task.status,
        "due_at": iso(task.due_at),
        "completed_at": iso(task.completed_at),
        "completed_by": task.completed_by,
        "note": app.keyring.decrypt(task.note_enc, field="task.note", bind=task.id),
        "evidence": app.keyring.decrypt(task.evidence_enc, field="task.evidence", bind=task.id),
    }


def list_tasks(app: App, *, incident_id: str, kind: str | None = None) -> list[dict]:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        query = select(Task).where(Task.incident_id == incident.id)
        if kind:
            query = query.where(Task.kind == kind)
        people = app.organisation(session).people()
        rows = session.execute(query.order_by(Task.kind.desc(), Task.seq, Task.id)).scalars()
        return [task_view(app, t, app.settings.lang, people) for t in rows]


def complete_task(
    app: App,
    *,
    incident_id: str,
    ref: str,
    actor: str,
    now: datetime,
    note: str | None = None,
    evidence: str | None = None,
) -> dict:
    for label, text in (("--note", note), ("--evidence", evidence)):
        if text is not None and len(text) > MAX_TEXT:
            raise InputError(f"{label}: too long ({len(text)} characters; at most {MAX_TEXT})")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        task = _get_task(session, incident, ref)
        actor = actor.strip().lower()
        if actor not in app.organisation(session).people():
            raise NotFound(f"unknown person {actor!r}: not in the organisation file")
        if actor != task.owner_email:
            require_manager(app, session, incident, actor, f"complete {task.ref}")
        if task.status in taskrules.CLOSED:
            raise TransitionRefused(f"{task.ref} is already {task.status}")
        task.status, task.completed_at, task.completed_by = taskrules.DONE, now, actor
        task.next_reminder_at = task.next_action_at = None
        if note:
            task.note_enc = app.keyring.encrypt(note, field="task.note", bind=task.id)
        if evidence:
            task.evidence_enc = app.keyring.encrypt(evidence, field="task.evidence", bind=task.id)
        session.add(task)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action=f"{task.kind}.done",
            incident=incident.public_id,
            data={"ref": task.ref, "with_note": bool(note), "with_evidence": bool(evidence)},
        )
        return {"incident": incident.public_id, "ref": task.ref, "status": task.status}


def assign_task(app: App, *, incident_id: str, ref: str, to: str, actor: str, now: datetime) -> dict:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        task = _get_task(session, incident, ref)
        actor = require_manager(app, session, incident, actor, f"assign {task.ref}")
        to = to.strip().lower()
        if to not in app.organisation(session).people():
            raise NotFound(f"unknown person {to!r}: not in the organisation file")
        if task.status in taskrules.CLOSED:
            raise TransitionRefused(f"{task.ref} is already {task.status}")
        before, task.owner_email = task.owner_email, to
        session.add(task)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action=f"{task.kind}.assigned",
            incident=incident.public_id,
            data={"ref": task.ref, "from": before, "to": to},
        )
        ctx = MessageContext.for_incident(app, session, incident)
        enqueue(
            session,
            app,
            ctx,
            kind="task_assigned",
            recipient=to,
            now=now,
            key=f"{incident.public_id}:task:{task.ref}:assigned:{to}:{iso(now)}",
            task=_task_vars(app, task, ctx.lang),
        )
        return {"incident": incident.public_id, "ref": task.ref, "owner": to}


def add_prevention_action(
    app: App, *, incident_id: str, title: str, owner: str, due_at: datetime, actor: str, now: datetime
) -> dict:
    """A recurrence-prevention measure (27-5) with owner and due date; fills item 8."""
    title = (title or "").strip()
    if not title:
        raise InputError("--title: the action needs a title")
    if len(title) > 2000:
        raise InputError("--title: too long (at most 2000 characters)")
    if due_at <= now:
        raise InputError("--due: the due time must be in the future")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "add a prevention action")
        owner = owner.strip().lower()
        if owner not in app.organisation(session).people():
            raise NotFound(f"unknown person {owner!r}: not in the organisation file")
        n = session.execute(
            select(func.count()).select_from(Task).where(Task.incident_id == incident.id, Task.kind == "prevention")
        ).scalar_one()
        state = taskrules.new_task(now, due_at)
        task = Task(
            incident_id=saved_id(incident),
            kind="prevention",
            ref=f"P{n + 1}",
            seq=n + 1,
            phase="post-incident",
            owner_email=owner,
            created_at=now,
            due_at=due_at,
            next_reminder_at=state.next_reminder_at,
            next_action_at=state.next_action_at,
        )
        session.add(task)
        session.flush()  # the ciphertext is bound to the row id
        task.title_enc = app.keyring.encrypt(title, field="task.title", bind=task.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="prevention.added",
            incident=incident.public_id,
            data={"ref": task.ref, "owner": owner, "due_at": iso(due_at)},
        )
        ctx = MessageContext.for_incident(app, session, incident)
        enqueue(
            session,
            app,
            ctx,
            kind="task_assigned",
            recipient=owner,
            now=now,
            key=f"{incident.public_id}:task:{task.ref}:assigned:{owner}:{iso(now)}",
            task=_task_vars(app, task, ctx.lang),
        )
        return {"incident": incident.public_id, "ref": task.ref, "owner": owner, "due_at": iso(due_at)}


def _task_vars(app: App, task: Task, lang: str) -> dict:
    title = (
        app.keyring.decrypt(task.title_enc, field="task.title", bind=task.id)
        if task.title_enc
        else in_lang(lang, ja=task.title_ja, en=task.title_en)
    )
    return {
        "ref": task.ref,
        "title": title,
        "due_at": fmt_jst(task.due_at),
        "kind": task.kind,
        "mandatory": task.mandatory,
    }


def cancel_open_tasks(session: Session, incident: Incident, *, now: datetime) -> list[str]:
    """The incident closed: open playbook steps are cancelled (skipped) and no task is reminded
    any more. Recurrence-prevention actions keep their status (they record a commitment that
    may outlive the incident) but are no longer reminded by hokoku."""
    cancelled = []
    query = select(Task).where(Task.incident_id == incident.id, Task.status.in_(sorted(OPEN_TASKS)))
    for task in session.execute(query).scalars():
        if task.kind == "step":
            task.status, task.completed_at, task.completed_by = taskrules.SKIPPED, now, "hokoku:closed"
            cancelled.append(task.ref)
        task.next_reminder_at = task.next_action_at = None
        session.add(task)
    return cancelled


def sweep_tasks(app: App, session: Session, *, now: datetime, limit: int) -> tuple[int, list[dict]]:
    """One batch of due tasks (called by the sweep inside its transaction)."""
    query = select(Task).where(Task.next_action_at <= now).order_by(Task.next_action_at, Task.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = for_update(query, skip_locked=True)
    rows = list(session.execute(query).scalars())
    events = []
    contexts: dict[int, MessageContext] = {}
    for task in rows:
        incident = session.get_one(Incident, task.incident_id)
        if incident.status == IncidentStatus.CLOSED:  # nothing is sent about a closed incident
            task.next_reminder_at = task.next_action_at = None
            session.add(task)
            continue
        state = taskrules.TaskState(
            task.status, task.created_at, task.due_at, task.next_reminder_at, task.reminders_sent, task.overdue_at
        )
        state, actions = taskrules.sweep_task(state, now)
        task.status, task.next_reminder_at, task.reminders_sent, task.overdue_at = (
            state.status,
            state.next_reminder_at,
            state.reminders_sent,
            state.overdue_at,
        )
        task.next_action_at = state.next_action_at
        session.add(task)
        if not actions:
            continue
        ctx = contexts.get(task.incident_id) or contexts.setdefault(
            task.incident_id, MessageContext.for_incident(app, session, incident)
        )
        recipients = [task.owner_email] if task.owner_email else []
        for action in actions:
            if action == "overdue":  # the protection manager hears of overdue tasks too
                pm = app.organisation(session).division(incident.division_code).protection_manager.email
                recipients = list(dict.fromkeys(recipients + [pm]))
            for email in recipients:
                enqueue(
                    session,
                    app,
                    ctx,
                    kind=f"task_{action}",
                    recipient=email,
                    now=now,
                    key=f"{incident.public_id}:task:{task.ref}:{action}:{email}",
                    task=_task_vars(app, task, ctx.lang),
                )
            audit.append(
                session,
                app.keyring,
                at=now,
                actor="hokoku:sweep",
                action=f"{task.kind}.{action}",
                incident=incident.public_id,
                data={"ref": task.ref, "recipients": recipients},
            )
            events.append(
                {
                    "incident": incident.public_id,
                    "stage": task.ref,
                    "kind": f"{task.kind}_{action}",
                    "recipients": recipients,
                }
            )
    return len(rows), events
