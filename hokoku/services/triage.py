"""Triage and the statutory-report decision (APPI Art. 68 / Art. 26).

Triage records the facts; the pure rules (``hokoku.statutory``) say whether a report to the
Commission is required and which rule makes it so; the general manager confirms or overrides
with a reason. When a report is required the preliminary and final report stages are added to
the chain with their statutory due dates; when it no longer is, they are skipped with the reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from hokoku import audit, chain
from hokoku.app import App
from hokoku.db import transaction
from hokoku.exceptions import InputError, NotFound, TransitionRefused
from hokoku.roles import Role
from hokoku.services.outbox import MessageContext, enqueue
from hokoku.services.stagerows import apply_state, incident_policy, latest_triage, load_stages, resolve_people, start_ready_stages, to_state
from hokoku.services.tasks import create_step_tasks, require_manager
from hokoku.services.transitions import get_incident
from hokoku.statutory import TriageFacts, assess_reportability, ppc_deadlines
from hokoku.timeutil import iso
from models.casework import StatutoryDecision, Triage
from models.incident import Incident, Stage

DECISIONS = {"confirm": "confirmed", "required": "override_required", "not-required": "override_not_required"}


def triage(app: App, *, incident_id: str, actor: str, now: datetime, serious: bool = False, sensitive: bool = False,
           financial_risk: bool = False, unauthorized_purpose: bool = False, individuals: int | None = None,
           individuals_estimated: bool = False, encrypted: bool = False, category: str | None = None) -> dict:
    """Record the facts; re-assess reportability; apply category and seriousness changes."""
    if individuals is not None and individuals < 0:
        raise InputError("--individuals: must be 0 or more")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "triage")
        org = app.organisation(session)
        if category is not None and category != incident.category:
            if category not in app.playbooks:
                raise NotFound(f"unknown category {category!r} (categories: {', '.join(sorted(app.playbooks))})")
            incident.category = category
            create_step_tasks(app, session, incident, now=now, actor=actor)
        became_serious = serious and not incident.serious
        incident.serious = serious or incident.serious
        session.add(incident)
        facts = TriageFacts(sensitive=sensitive, financial_risk=financial_risk, unauthorized_purpose=unauthorized_purpose,
                            individuals=individuals, individuals_estimated=individuals_estimated, encrypted=encrypted)
        result = assess_reportability(facts, org.organisation.regime)
        row = Triage(
            incident_id=incident.id, at=now, by=actor, serious=incident.serious, sensitive=sensitive,
            financial_risk=financial_risk, unauthorized_purpose=unauthorized_purpose, individuals=individuals,
            individuals_estimated=individuals_estimated, encrypted=encrypted, category=incident.category,
            regime=org.organisation.regime, required=result.required,
            grounds=[{"code": g.code, "item": g.item, "citation_ja": g.citation_ja, "citation_en": g.citation_en}
                     for g in result.grounds],
            exempt_reason=result.exempt_reason,
        )
        session.add(row)
        session.flush()
        audit.append(session, app.keyring, at=now, actor=actor, action="incident.triaged", incident=incident.public_id,
                     data={"triage_id": row.id, "required": result.required, "grounds": [g.code for g in result.grounds],
                           "category": incident.category, "serious": incident.serious, "individuals": individuals,
                           "regime": row.regime, "exempt": result.exempt_reason})
        ctx = MessageContext.for_incident(app, session, incident)
        if became_serious:
            policy = incident_policy(incident)
            for email in resolve_people(app, session, incident, policy.serious_notice, Role.PROTECTION_MANAGER):
                enqueue(session, app, ctx, kind="serious_notice", recipient=email, now=now,
                        key=f"{incident.public_id}:serious_notice:{email}",
                        protection_manager=org.division(incident.division_code).protection_manager.name)
        _apply_statutory(app, session, incident, required=result.required, now=now, actor=actor, ctx=ctx,
                         reason="triage: not reportable")
        return assessment(app, session, incident)


def decide(app: App, *, incident_id: str, actor: str, decision: str, now: datetime, reason: str | None = None) -> dict:
    """The general manager (or deputy) confirms the assessment or overrides it with a reason."""
    if decision not in DECISIONS:
        raise InputError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if decision != "confirm" and not (reason or "").strip():
        raise InputError("--reason: an override needs a reason")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = actor.strip().lower()
        org = app.organisation(session)
        if actor not in org.people():
            raise NotFound(f"unknown person {actor!r}: not in the organisation file")
        gm = org.general_manager
        if actor not in {gm.email, gm.deputy.email if gm.deputy else None}:
            raise TransitionRefused(f"{actor} may not decide reportability: only the general manager or the deputy may")
        current = latest_triage(session, incident)
        if current is None:
            raise TransitionRefused(f"{incident.public_id} has not been triaged yet (hokoku triage ...)")
        kind = DECISIONS[decision]
        row = StatutoryDecision(incident_id=incident.id, triage_id=current.id, at=now, by=actor, kind=kind)
        session.add(row)
        session.flush()  # the ciphertext is bound to the row id
        if reason:
            row.reason_enc = app.keyring.encrypt(reason, field="decision.reason", bind=row.id)
        audit.append(session, app.keyring, at=now, actor=actor, action="reportability.decided", incident=incident.public_id,
                     data={"triage_id": current.id, "decision": kind, "assessed_required": current.required})
        required = current.required if kind == "confirmed" else kind == "override_required"
        ctx = MessageContext.for_incident(app, session, incident)
        _apply_statutory(app, session, incident, required=required, now=now, actor=actor, ctx=ctx,
                         reason="general manager: not reportable")
        return assessment(app, session, incident)


def effective_required(session: Session, incident: Incident) -> tuple[bool | None, Triage | None, StatutoryDecision | None]:
    current = latest_triage(session, incident)
    if current is None:
        return None, None, None
    decision = session.execute(
        select(StatutoryDecision).where(StatutoryDecision.triage_id == current.id).order_by(StatutoryDecision.id.desc()).limit(1)
    ).scalar_one_or_none()
    if decision is None or decision.kind == "confirmed":
        return current.required, current, decision
    return decision.kind == "override_required", current, decision


def assessment(app: App, session: Session, incident: Incident) -> dict:
    required, current, decision = effective_required(session, incident)
    people = app.organisation(session).people()
    out: dict = {"incident": incident.public_id, "triaged": current is not None, "required": required}
    if current is None:
        return out
    deadlines = ppc_deadlines(incident.aware_at, unauthorized_purpose=current.unauthorized_purpose,
                              preliminary_days=incident_policy(incident).statutory.preliminary_days)
    out.update({
        "assessed_required": current.required, "regime": current.regime, "grounds": current.grounds,
        "exempt_reason": current.exempt_reason,
        "facts": {"serious": current.serious, "sensitive": current.sensitive, "financial_risk": current.financial_risk,
                  "unauthorized_purpose": current.unauthorized_purpose, "individuals": current.individuals,
                  "individuals_estimated": current.individuals_estimated, "encrypted": current.encrypted,
                  "category": current.category},
        "triaged_by": current.by, "triaged_at": iso(current.at),
        "decision": None if decision is None else {
            "kind": decision.kind, "by": decision.by, "by_name": people[decision.by].name if decision.by in people else decision.by,
            "at": iso(decision.at), "reason": app.keyring.decrypt(decision.reason_enc, field="decision.reason", bind=decision.id)},
        "deadlines": deadlines.to_json_dict() if required else None,
    })
    return out


def show_assessment(app: App, *, incident_id: str) -> dict:
    with transaction(app.engine) as session:
        return assessment(app, session, get_incident(session, incident_id))


def _apply_statutory(app: App, session: Session, incident: Incident, *, required: bool, now: datetime, actor: str,
                     ctx: MessageContext, reason: str) -> None:
    policy = incident_policy(incident)
    statutory = [sp for sp in policy.stages if sp.when == "statutory"]
    rows = load_stages(session, incident, lock=True)
    by_code = {r.code: r for r in rows}
    if required:
        next_seq = session.execute(select(func.max(Stage.seq)).where(Stage.incident_id == incident.id)).scalar_one() or 0
        for sp in statutory:
            row = by_code.get(sp.code)
            if row is None:
                next_seq += 1
                row = Stage(incident_id=incident.id, seq=next_seq, code=sp.code, article=sp.article, owner_role=sp.owner)
                session.add(row)
                rows.append(row)
            elif row.status == chain.SKIPPED and row.completed_by == "hokoku:triage":
                apply_state(row, chain.StageState(code=row.code))  # reinstated: starts again from pending
                row.completed_by = row.skip_reason_enc = None
                session.add(row)
        session.flush()
        if incident.status == "closed":
            incident.status, incident.closed_at = "open", None
            session.add(incident)
            audit.append(session, app.keyring, at=now, actor=actor, action="incident.reopened", incident=incident.public_id,
                         data={"reason": "statutory report required"})
        start_ready_stages(app, session, incident, rows, now=now, actor=actor, ctx=ctx)
    else:
        for sp in statutory:
            row = by_code.get(sp.code)
            if row is not None and row.status not in chain.CLOSED:
                state = to_state(row)
                from dataclasses import replace

                apply_state(row, replace(state, status=chain.SKIPPED, completed_at=now, completed_by="hokoku:triage",
                                         next_reminder_at=None, next_escalation_at=None))
                row.skip_reason_enc = app.keyring.encrypt(reason, field="stage.skip_reason", bind=row.id)
                session.add(row)
                audit.append(session, app.keyring, at=now, actor=actor, action="stage.skipped", incident=incident.public_id,
                             data={"stage": sp.code, "reason": reason})
        start_ready_stages(app, session, incident, rows, now=now, actor=actor, ctx=ctx)
