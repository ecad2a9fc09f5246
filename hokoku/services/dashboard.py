"""The incidents one viewer may see, as rows for the dashboard, the API and the CSV export:
each with its started stages (owner, due time, overdue, what the viewer may do), its overdue
playbook steps, escalations and statutory dues; filtered and sorted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from hokoku.core import chain
from hokoku.core.exceptions import NotFound
from hokoku.core.scopes import Scope
from hokoku.core.statuses import OPEN_TASKS, IncidentStatus, StageStatus
from hokoku.i18n import in_lang
from hokoku.models.casework import Task
from hokoku.models.incident import Incident
from hokoku.services.incidents import incident_policy
from hokoku.services.stagerows import load_stages, to_state
from hokoku.store.db import transaction


def find_incident(app, public_id: str) -> Incident | None:
    """The incident with this public id (case and surrounding spaces ignored), or None."""
    with transaction(app.engine) as session:
        return session.execute(
            select(Incident).where(Incident.public_id == public_id.strip().upper())
        ).scalar_one_or_none()


def scoped_query(scope: Scope):
    query = select(Incident)
    if scope.everything:
        return query
    conds = [Incident.reporter_email == scope.email]
    if scope.divisions:
        conds.append(Incident.division_code.in_(sorted(scope.divisions)))
    if scope.institutes:
        conds.append(Incident.institute_code.in_(sorted(scope.institutes)))
    return query.where(or_(*conds))


SORTS = ("due", "incident", "status")
_STATUS_ORDER = {"overdue": 0, "notified": 1, "acknowledged": 2, "pending": 3, "done": 4, "skipped": 5}
STATUTORY_STAGES = ("ppc-preliminary", "ppc-final", "individual-notice")
FILTER_STATES = ("overdue", "notified", "acknowledged", "open", "closed")


@dataclass(frozen=True)
class DashFilter:
    """What the dashboard's filter form asks for (all optional; kept in the URL)."""

    q: str = ""
    state: str = ""
    category: str = ""
    division: str = ""
    owner: str = ""
    overdue: bool = False
    statutory: bool = False
    since: datetime | None = None
    until: datetime | None = None

    def keep(self, row: dict) -> bool:
        if self.q and self.q.casefold() not in (row["summary"] + " " + row["incident"]).casefold():
            return False
        if self.state and row["state"] != self.state:
            return False
        if self.category and row["category"] != self.category:
            return False
        if self.division and row["division"] != self.division:
            return False
        if self.owner and self.owner not in {s["owner"] for s in row["stages"]}:
            return False
        if self.overdue and not (row["overdue"] or row["overdue_steps"]):
            return False
        if self.statutory and not row["statutory"]:
            return False
        if self.since and row["reported_at"] < self.since:
            return False
        if self.until and row["reported_at"] >= self.until:
            return False
        return True


def incident_rows(
    app,
    scope: Scope,
    *,
    now: datetime,
    lang: str,
    open_only: bool = True,
    sort: str = "due",
    descending: bool = False,
    filters: DashFilter | None = None,
) -> list[dict]:
    """The incidents ``scope`` sees, each with its started stages (owner, due time, overdue, who
    acknowledged, what the viewer may do), its summary (decrypted here, only for incidents in
    scope), overdue playbook steps, escalations and statutory dues; narrowed by ``filters``."""
    query = scoped_query(scope)
    if open_only and not (filters and filters.state == "closed"):
        query = query.where(Incident.status == IncidentStatus.OPEN)
    actor = "" if scope.read_only else scope.email
    out = []
    with transaction(app.engine) as session:
        org = app.organisation(session)
        people = org.people()
        name_of = lambda e: people[e].name if e in people else e  # noqa: E731
        for inc in session.execute(query.order_by(Incident.id)).scalars():
            policy = incident_policy(inc)
            rows = load_stages(session, inc)
            statuses = {r.code: r.status for r in rows}
            stages: list[dict[str, Any]] = []  # one view row per open stage
            statutory: list[dict[str, Any]] = []
            for row in rows:
                sp = policy.stage(row.code)
                if row.code in STATUTORY_STAGES and row.status != StageStatus.SKIPPED:
                    statutory.append(
                        {
                            "code": row.code,
                            "title": sp.title.get(lang),
                            "status": row.status,
                            "due_at": row.due_at,
                            "done": row.status == StageStatus.DONE,
                            "overdue": row.due_at is not None and row.due_at <= now and row.status not in chain.CLOSED,
                        }
                    )
                if row.status not in chain.ACTIVE:
                    continue
                overdue = row.due_at is not None and row.due_at <= now
                state = to_state(row)
                stages.append(
                    {
                        "code": row.code,
                        "article": row.article,
                        "title": sp.title.get(lang),
                        "status": row.status,
                        "owner": row.owner_email,
                        "owner_role": row.owner_role,
                        "owner_name": name_of(row.owner_email) if row.owner_email else None,
                        "due_at": row.due_at,
                        "overdue": overdue,
                        "acknowledged": row.acknowledged_at is not None,
                        "acknowledged_by": name_of(row.acknowledged_by) if row.acknowledged_by else None,
                        "acknowledged_at": row.acknowledged_at,
                        "escalation_level": row.escalation_level,
                        "can_complete": sp.completed_by == "advance",
                        "skippable": sp.skippable,
                        "permitted": chain.permitted_actions(sp, state, statuses, actor=actor, now=now)
                        if actor
                        else frozenset(),
                    }
                )
            steps = (
                session.execute(
                    select(Task).where(
                        Task.incident_id == inc.id,
                        Task.status.in_(sorted(OPEN_TASKS)),
                        Task.due_at.is_not(None),
                        Task.due_at <= now,
                    )
                )
                .scalars()
                .all()
            )
            overdue_steps = [
                {"ref": t.ref, "title": in_lang(lang, ja=t.title_ja, en=t.title_en) or t.ref, "due_at": t.due_at}
                for t in steps
            ]
            playbook = app.playbooks.get(inc.category)
            due = min((s["due_at"] for s in stages if s["due_at"]), default=None)
            overdue = any(s["overdue"] for s in stages)
            try:
                division_name = org.division(inc.division_code).name.get(lang)
            except NotFound:
                division_name = inc.division_code
            out.append(
                {
                    "incident": inc.public_id,
                    "status": inc.status,
                    "category": inc.category,
                    "category_label": playbook.title.get(lang) if playbook else inc.category,
                    "division": inc.division_code,
                    "division_name": division_name,
                    "serious": inc.serious,
                    "reporter": inc.reporter_email,
                    "reported_at": inc.reported_at,
                    "stages": stages,
                    "summary": app.keyring.decrypt(inc.summary_enc, field="incident.summary", bind=inc.public_id),
                    "next_due_at": due,
                    "overdue": overdue,
                    "overdue_steps": overdue_steps,
                    "escalated": [s for s in stages if s["escalation_level"] > 0],
                    "statutory": statutory,
                    "report_late": inc.reported_at > policy.report_delay.after(inc.aware_at),
                    "state": "closed"
                    if inc.status == IncidentStatus.CLOSED
                    else (
                        "overdue"
                        if overdue
                        else (
                            min((s["status"] for s in stages), key=lambda s: _STATUS_ORDER.get(s, 9))
                            if stages
                            else "open"
                        )
                    ),
                }
            )
    if filters is not None:
        out = [r for r in out if filters.keep(r)]
    far = datetime.max.replace(tzinfo=UTC)
    if sort == "incident":
        out.sort(key=lambda r: _id_key(r["incident"]), reverse=descending)
    elif sort == "status":
        out.sort(
            key=lambda r: (
                r["status"] == IncidentStatus.CLOSED,
                not r["overdue"],
                _STATUS_ORDER.get(r["state"], 9),
                r["next_due_at"] or far,
            ),
            reverse=descending,
        )
    else:
        out.sort(
            key=lambda r: (r["next_due_at"] is None, r["next_due_at"] or far, _id_key(r["incident"])),
            reverse=descending,
        )
    return out


def _id_key(public_id: str) -> tuple:
    parts = public_id.split("-")
    try:
        return (int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        return (0, 0, public_id)
