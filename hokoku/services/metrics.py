"""Figures across incidents for leadership: time to acknowledge, time to contain, deadlines met.

Read from the stage and task rows only (no personal data is decrypted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from hokoku.core.scopes import Scope
from hokoku.core.statuses import StageStatus, TaskStatus
from hokoku.core.timeutil import JST
from hokoku.models.casework import Task
from hokoku.models.incident import Incident
from hokoku.services.dashboard import scoped_query
from hokoku.services.stagerows import load_stages
from hokoku.store.db import transaction


def incident_metrics(app, scope: Scope, *, now: datetime, lang: str, limit: int = 30) -> list[dict]:
    """The newest ``limit`` incidents in scope, oldest first, with their response figures."""
    out = []
    with transaction(app.engine) as session:
        query = scoped_query(scope).order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(limit)
        incidents = list(session.execute(query).scalars())
        for inc in reversed(incidents):
            rows = {r.code: r for r in load_stages(session, inc)}
            ack = rows.get("acknowledge")
            contain = rows.get("containment")
            met = missed = open_ = 0
            dues = [
                (r.due_at, r.completed_at)
                for r in rows.values()
                if r.due_at is not None and r.code != "report" and r.status != StageStatus.SKIPPED
            ]
            dues += [
                (t.due_at, t.completed_at)
                for t in session.execute(
                    select(Task).where(
                        Task.incident_id == inc.id, Task.kind == "prevention", Task.status != TaskStatus.SKIPPED
                    )
                ).scalars()
                if t.due_at is not None
            ]
            for due, done in dues:
                if done is not None:
                    met, missed = (met + 1, missed) if done <= due else (met, missed + 1)
                elif due <= now:
                    missed += 1
                else:
                    open_ += 1
            playbook = app.playbooks.get(inc.category)
            out.append(
                {
                    "incident": inc.public_id,
                    "status": inc.status,
                    "category": inc.category,
                    "category_label": playbook.title.get(lang) if playbook else inc.category,
                    "reported_at": inc.reported_at,
                    "serious": inc.serious,
                    "time_to_acknowledge": (ack.acknowledged_at - inc.reported_at)
                    if ack and ack.acknowledged_at
                    else None,
                    "time_to_contain": (contain.completed_at - inc.reported_at)
                    if contain and contain.status == StageStatus.DONE and contain.completed_at
                    else None,
                    "deadlines_met": met,
                    "deadlines_missed": missed,
                    "deadlines_open": open_,
                }
            )
    return out


#: The stages that carry the statutory duties, in the board's column order.
STATUTORY_COLUMNS = ("ppc-preliminary", "ppc-final", "individual-notice")


def statutory_board(app, scope: Scope, *, now: datetime, lang: str) -> list[dict]:
    """Incidents in scope that are or may be reportable (the assessment in force; unknown is never
    "no"), each duty's due time, whether it was filed or sent, and the days left (Japan days)."""
    from hokoku.services.triage import assessment

    out = []
    with transaction(app.engine) as session:
        for inc in session.execute(scoped_query(scope).order_by(Incident.id)).scalars():
            judged = assessment(app, session, inc)
            if not judged["possibly_required"]:
                continue
            rows = {r.code: r for r in load_stages(session, inc)}
            duties: list[dict[str, Any] | None] = []  # None: the stage is not on this chain
            for code in STATUTORY_COLUMNS:
                row = rows.get(code)
                if row is None:
                    duties.append(None)
                    continue
                days_left = None
                if row.due_at is not None and row.status not in (StageStatus.DONE, StageStatus.SKIPPED):
                    days_left = (row.due_at.astimezone(JST).date() - now.astimezone(JST).date()).days
                duties.append(
                    {
                        "code": code,
                        "status": row.status,
                        "due_at": row.due_at,
                        "done_at": row.completed_at if row.status == StageStatus.DONE else None,
                        "skipped": row.status == StageStatus.SKIPPED,
                        "days_left": days_left,
                        "overdue": row.due_at is not None
                        and row.due_at <= now
                        and row.status not in (StageStatus.DONE, StageStatus.SKIPPED),
                    }
                )
            playbook = app.playbooks.get(inc.category)
            out.append(
                {
                    "incident": inc.public_id,
                    "status": inc.status,
                    "category_label": playbook.title.get(lang) if playbook else inc.category,
                    "required": judged["required"],
                    "decided": judged["decided"],
                    "duties": duties,
                }
            )
    return out
