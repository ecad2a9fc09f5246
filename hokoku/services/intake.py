"""Intake: a staff member's report becomes an incident with its chain started (27-1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Insert, select, update
from sqlmodel import Session

from hokoku.app import App
from hokoku.core.exceptions import InputError, NotFound
from hokoku.core.jpcalendar import japan_date
from hokoku.core.statuses import StageStatus
from hokoku.core.statutory import MAX_INDIVIDUALS, check_countable
from hokoku.models.incident import Incident, IncidentCounter, Stage
from hokoku.security import audit
from hokoku.services.incidents import incident_policy
from hokoku.services.notifications import MessageContext, enqueue
from hokoku.services.stagerows import resolve_people, start_ready_stages
from hokoku.services.tasks import create_step_tasks
from hokoku.services.triage import facts_of, record_facts
from hokoku.store.db import rows_changed, saved_id, transaction

MAX_SUMMARY = 20_000
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
ENTRIES = ("staff", "contractor", "alert")


@dataclass
class IntakeResult:
    public_id: str
    notified: list[dict] = field(default_factory=list)
    immediate_actions: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"incident": self.public_id, "notified": self.notified, "immediate_actions": self.immediate_actions}


def next_public_id(session: Session, year: int) -> str:
    """INC-<year>-<nnnn>: a per-year counter bumped inside the intake transaction.

    One upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``), so two first reports of a
    year filed at once on PostgreSQL cannot both try to insert the year's row (the second
    would fail on the primary key); the row lock then orders them.
    """
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        from sqlalchemy.dialects import postgresql, sqlite

        key, bump = [IncidentCounter.year], {"last": IncidentCounter.last + 1}
        upsert: Insert
        if dialect == "postgresql":
            upsert = postgresql.insert(IncidentCounter).values(year=year, last=1)
            upsert = upsert.on_conflict_do_update(index_elements=key, set_=bump)
        else:
            upsert = sqlite.insert(IncidentCounter).values(year=year, last=1)
            upsert = upsert.on_conflict_do_update(index_elements=key, set_=bump)
        stmt = upsert.returning(IncidentCounter.last)
        return f"INC-{year}-{session.execute(stmt).scalar_one():04d}"
    bumped = rows_changed(
        session, update(IncidentCounter).where(IncidentCounter.year == year).values(last=IncidentCounter.last + 1)
    )
    if not bumped:
        session.add(IncidentCounter(year=year, last=1))
        session.flush()
    last = session.execute(select(IncidentCounter.last).where(IncidentCounter.year == year)).scalar_one()
    return f"INC-{year}-{last:04d}"


def report_incident(
    app: App,
    *,
    division: str,
    category: str,
    summary: str,
    reporter: str,
    now: datetime,
    aware_at: datetime | None = None,
    serious: bool = False,
    entry: str = "staff",
    source: str = "cli",
    details: str | None = None,
    occurred_at: datetime | None = None,
    data_items: str | None = None,
    individuals: int | None = None,
) -> IntakeResult:
    """Validate, persist, route to the division's protection manager and start the chain."""
    summary = (summary or "").strip()
    if not summary:
        raise InputError(key="err.report.summary_empty", what="--summary")
    if len(summary) > MAX_SUMMARY:
        raise InputError(key="err.too_long", what="--summary", n=len(summary), limit=MAX_SUMMARY)
    if entry not in ENTRIES:
        raise InputError(f"entry {entry!r} is not one of {', '.join(ENTRIES)}")
    aware_at = aware_at or now
    if aware_at > now:
        raise InputError(key="err.report.aware_future", what="--aware-at")
    check_countable(aware_at, "--aware-at")
    if occurred_at is not None and occurred_at > now:
        raise InputError(key="err.report.occurred_future", what="--occurred-at")
    if occurred_at is not None and occurred_at > aware_at:
        raise InputError(key="err.report.occurred_after", what="--occurred-at")
    if individuals is not None and not 0 <= individuals <= MAX_INDIVIDUALS:
        raise InputError(key="err.report.individuals", what="--individuals", limit=f"{MAX_INDIVIDUALS:,}")
    data_items = (data_items or "").strip() or None
    if data_items and len(data_items) > MAX_SUMMARY:
        raise InputError(key="err.too_long", what="--data-items", n=len(data_items), limit=MAX_SUMMARY)
    playbook = app.playbooks.get(category)
    if playbook is None:
        raise NotFound(key="err.unknown.category", value=repr(category), known=", ".join(sorted(app.playbooks)))
    if category == "contractor" and entry == "staff":
        entry = "contractor"
    reporter = reporter.strip().lower()

    with app_transaction(app) as session:
        return file_report(
            app,
            session,
            division=division,
            category=category,
            summary=summary,
            reporter=reporter,
            now=now,
            aware_at=aware_at,
            serious=serious,
            entry=entry,
            source=source,
            details=details,
            occurred_at=occurred_at,
            data_items=data_items,
            individuals=individuals,
        )


def file_report(
    app: App,
    session: Session,
    *,
    division: str,
    category: str,
    summary: str,
    reporter: str,
    now: datetime,
    aware_at: datetime,
    serious: bool,
    entry: str,
    source: str,
    details: str | None,
    occurred_at: datetime | None = None,
    data_items: str | None = None,
    individuals: int | None = None,
) -> IntakeResult:
    """The intake itself, inside the caller's transaction (inputs already checked)."""
    policy = app.policy
    lang = app.settings.lang
    playbook = app.playbooks[category]
    org = app.organisation(session)
    div = org.division(division)
    inst = org.institute_of(division)
    if reporter not in org.people():
        if entry == "staff" or not (_EMAIL.match(reporter) or (entry == "alert" and reporter.startswith("alert:"))):
            raise NotFound(key="err.unknown.person", value=repr(reporter))
    public_id = next_public_id(session, japan_date(now).year)
    incident = Incident(
        public_id=public_id,
        division_code=div.code,
        institute_code=inst.code,
        category=category,
        entry=entry,
        source=source,
        serious=serious,
        reporter_email=reporter,
        aware_at=aware_at,
        reported_at=now,
        summary_enc=app.keyring.encrypt(summary, field="incident.summary", bind=public_id),
        details_enc=app.keyring.encrypt(details, field="incident.details", bind=public_id) if details else None,
        occurred_at=occurred_at,
        reported_individuals=individuals,
        reported_data_items_enc=app.keyring.encrypt(data_items, field="incident.data_items", bind=public_id)
        if data_items
        else None,
        policy_name=policy.name,
        policy_sha256=policy.sha256(),
        policy_snapshot=policy.snapshot(),
    )
    session.add(incident)
    session.flush()
    rows = []
    for seq, sp in enumerate(incident_policy(incident).applicable(entry=entry), start=1):
        row = Stage(incident_id=saved_id(incident), seq=seq, code=sp.code, article=sp.article, owner_role=sp.owner)
        session.add(row)
        rows.append(row)
    session.flush()
    audit.append(
        session,
        app.keyring,
        at=now,
        actor=reporter,
        action="incident.reported",
        incident=public_id,
        data={
            "division": div.code,
            "category": category,
            "serious": serious,
            "entry": entry,
            "source": source,
            "aware_at": aware_at.isoformat(),
            "policy": policy.name,
            "occurred_at": occurred_at.isoformat() if occurred_at else None,
            "individuals": individuals,
            "policy_sha256": incident.policy_sha256,
        },
    )
    if individuals is not None:  # the reporter's rough headcount: a first, estimated fact
        record_facts(
            app,
            session,
            incident,
            by=reporter,
            now=now,
            source="report",
            facts=facts_of(None) | {"individuals": individuals, "individuals_estimated": True},
        )
    ctx = MessageContext.for_incident(app, session, incident)
    create_step_tasks(app, session, incident, now=now, actor=reporter)
    start_ready_stages(app, session, incident, rows, now=now, actor=reporter, ctx=ctx)

    result = IntakeResult(public_id, immediate_actions=[a.get(lang) for a in playbook.immediate_actions])
    pm = div.protection_manager
    for row in rows:
        if row.status == StageStatus.NOTIFIED:
            result.notified.append(
                {"email": row.owner_email, "role": row.owner_role, "kind": "notify", "stage": row.code}
            )
    if entry != "alert":
        enqueue(
            session,
            app,
            ctx,
            kind="receipt",
            recipient=reporter,
            key=f"{public_id}:receipt:{reporter}",
            now=now,
            immediate_actions=result.immediate_actions,
            protection_manager=pm.name,
        )
        result.notified.append({"email": reporter, "role": "reporter", "kind": "receipt"})
    if serious:
        for email in resolve_people(app, session, incident, policy.serious_notice, "protection_manager"):
            enqueue(
                session,
                app,
                ctx,
                kind="serious_notice",
                recipient=email,
                key=f"{public_id}:serious_notice:{email}",
                now=now,
                protection_manager=pm.name,
            )
            result.notified.append({"email": email, "role": _role_of(org, email, division), "kind": "serious_notice"})
    return result


def _role_of(org, email: str, division: str) -> str:
    roles = org.roles_of(email)
    return roles[0][0] if roles else "-"


def app_transaction(app: App):
    return transaction(app.engine)
