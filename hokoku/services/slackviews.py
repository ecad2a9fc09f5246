"""What the ``/hokoku`` Slack subcommands read: a person's open stages and steps, one incident's
started stages within the person's scope, stage titles. Plain data (ids, titles, states, due
times, roles) — never summaries or names — for :mod:`hokoku.web.slackcmd` to word."""

from __future__ import annotations

from sqlalchemy import select

from hokoku.core import chain
from hokoku.core.scopes import scope_for
from hokoku.core.statuses import OPEN_TASKS, IncidentStatus
from hokoku.models.casework import Task
from hokoku.models.incident import Incident, Stage
from hokoku.services.incidents import incident_policy
from hokoku.store.db import transaction


def open_items(app, email: str, *, lang: str, limit: int = 20) -> tuple[list[dict], list[dict]]:
    """The active stages and the open or overdue steps ``email`` owns on open incidents, soonest due
    first: (stages, steps), at most ``limit`` of each."""
    with transaction(app.engine) as session:
        rows = session.execute(
            select(Stage, Incident)
            .join(Incident, Incident.id == Stage.incident_id)
            .where(
                Stage.owner_email == email,
                Stage.status.in_(sorted(chain.ACTIVE)),
                Incident.status == IncidentStatus.OPEN,
            )
            .order_by(Stage.due_at)
        ).all()
        stages = [
            {
                "incident": inc.public_id,
                "title": incident_policy(inc).stage(stage.code).title.get(lang),
                "status": stage.status,
                "due_at": stage.due_at,
            }
            for stage, inc in rows[:limit]
        ]
        rows = session.execute(
            select(Task, Incident)
            .join(Incident, Incident.id == Task.incident_id)
            .where(
                Task.owner_email == email, Task.status.in_(sorted(OPEN_TASKS)), Incident.status == IncidentStatus.OPEN
            )
            .order_by(Task.due_at)
        ).all()
        steps = [
            {
                "incident": inc.public_id,
                "title_ja": task.title_ja,
                "title_en": task.title_en,
                "encrypted_title": task.title_enc is not None,
                "due_at": task.due_at,
            }
            for task, inc in rows[:limit]
        ]
    return stages, steps


def incident_status(app, email: str, public_id: str, *, lang: str) -> tuple[str | None, dict]:
    """(refusal reason, view) of one incident for ``email``: the reason is None when the incident
    exists and is in the person's scope, and the view then holds its category, division, whether
    it is open, and its started stages (title, status, owner role, due time)."""
    with transaction(app.engine) as session:
        org = app.organisation(session)
        inc = session.execute(select(Incident).where(Incident.public_id == public_id)).scalar_one_or_none()
        if inc is None:
            return "no such incident", {}
        reason = scope_for(org, email).refusal(
            reporter=inc.reporter_email, division=inc.division_code, institute=inc.institute_code
        )
        if reason is not None:
            return reason, {"exists": True}
        playbook = app.playbooks.get(inc.category)
        policy = incident_policy(inc)
        stages = [
            {
                "title": policy.stage(stage.code).title.get(lang),
                "status": stage.status,
                "owner_role": stage.owner_role,
                "due_at": stage.due_at,
            }
            for stage in session.execute(select(Stage).where(Stage.incident_id == inc.id).order_by(Stage.id)).scalars()
            if stage.status != chain.PENDING
        ]
        return None, {
            "exists": True,
            "incident": inc.public_id,
            "category": playbook.title.get(lang) if playbook else inc.category,
            "division": org.division(inc.division_code).name.get(lang),
            "open": inc.status == IncidentStatus.OPEN,
            "stages": stages,
        }


def stage_titles(app, incident: str, codes: list[str], *, lang: str) -> list[str]:
    """The stages' titles in ``lang`` (the codes themselves when the incident is unknown)."""
    with transaction(app.engine) as session:
        inc = session.execute(select(Incident).where(Incident.public_id == incident)).scalar_one_or_none()
        if inc is None:
            return list(codes)
        policy = incident_policy(inc)
        return [policy.stage(code).title.get(lang) for code in codes]
