"""Triage and the statutory-report decision (APPI Art. 26 / Art. 68).

Triage records the facts — each yes, no or unknown, anything not given keeping its previous
value; the pure rules (``hokoku.core.statutory``) say whether a report to the Commission is
required, not required, or still undecided (a fact that could make it reportable is unknown).
The general manager confirms or overrides with a reason.

The statutory duties (``when: statutory`` stages: the preliminary and final reports, the notice
to individuals) start with the report, because a new incident may be reportable, and run on
their own clocks from the awareness time. They end only by a record: filed or sent (``advance``,
``notice``), or set aside by the general manager's decision that no report is required. A later
change of facts voids that decision and reinstates them; a change of the unauthorised-purpose
fact moves the final report's due date (30 ↔ 60 days), audited and told to the owners.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.exceptions import InputError, NotFound, TransitionRefused
from hokoku.core.roles import Role
from hokoku.core.statuses import DecisionKind, IncidentStatus
from hokoku.core.statutory import (
    FACT_NAMES,
    NOT_REQUIRED,
    REQUIRED,
    UNDECIDED,
    TriageFacts,
    assess_reportability,
    ppc_deadlines,
)
from hokoku.core.timeutil import iso
from hokoku.i18n import t
from hokoku.models.casework import StatutoryDecision, Triage
from hokoku.models.incident import Incident
from hokoku.security import audit
from hokoku.services.incidents import get_incident, incident_policy
from hokoku.services.notifications import MessageContext, enqueue
from hokoku.services.stagerows import (
    apply_state,
    latest_triage,
    load_stages,
    recompute_dues,
    resolve_people,
    start_ready_stages,
    to_state,
)
from hokoku.services.tasks import create_step_tasks, require_manager
from hokoku.store.db import saved_id, transaction

DECISIONS = {
    "confirm": DecisionKind.CONFIRMED,
    "required": DecisionKind.OVERRIDE_REQUIRED,
    "not-required": DecisionKind.OVERRIDE_NOT_REQUIRED,
}
#: completed_by / audit actor for statutory stages set aside by a decision (reinstated on new facts).
SET_ASIDE = "hokoku:statutory-decision"


class _Keep:
    """A fact that was not given: it keeps its previous value."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def parse_fact(text: str, what: str) -> bool | None:
    """``yes`` / ``no`` / ``unknown`` (also true/false, y/n, はい/いいえ/不明) → True / False / None."""
    value = (text or "").strip().lower()
    if value in ("yes", "y", "true", "1", "はい", "あり"):
        return True
    if value in ("no", "n", "false", "0", "いいえ", "なし"):
        return False
    if value in ("unknown", "?", "不明", ""):
        return None
    raise InputError(key="err.fact", what=what, value=repr(text))


def facts_of(row: Triage | None) -> dict:
    if row is None:
        return {name: None for name in FACT_NAMES} | {"individuals_estimated": False}
    return {name: getattr(row, name) for name in FACT_NAMES} | {"individuals_estimated": row.individuals_estimated}


def record_facts(
    app: App, session: Session, incident: Incident, *, by: str, now: datetime, source: str, facts: dict
) -> Triage:
    """Write one facts row (the newest is in force) with the assessment it implies."""
    org = app.organisation(session)
    result = assess_reportability(TriageFacts(**facts), org.organisation.regime)
    row = Triage(
        incident_id=saved_id(incident),
        at=now,
        by=by,
        source=source,
        serious=incident.serious,
        category=incident.category,
        regime=org.organisation.regime,
        status=result.status,
        required=None if result.status == UNDECIDED else result.required,
        grounds=[
            {"code": g.code, "item": g.item, "citation_ja": g.citation_ja, "citation_en": g.citation_en}
            for g in result.grounds
        ],
        exempt_reason=result.exempt_reason,
        **facts,
    )
    session.add(row)
    session.flush()
    return row


def triage(
    app: App,
    *,
    incident_id: str,
    actor: str,
    now: datetime,
    serious: bool = False,
    sensitive: bool | None = KEEP,
    financial_risk: bool | None = KEEP,
    unauthorized_purpose: bool | None = KEEP,
    individuals: int | None = KEEP,
    individuals_estimated: bool = KEEP,
    encrypted: bool | None = KEEP,
    category: str | None = None,
) -> dict:
    """Record the facts given (each yes/no/unknown; the rest keep their value), re-assess
    reportability, move the statutory clocks the facts move, apply category and seriousness."""
    given = {
        k: v
        for k, v in {
            "sensitive": sensitive,
            "financial_risk": financial_risk,
            "unauthorized_purpose": unauthorized_purpose,
            "individuals": individuals,
            "individuals_estimated": individuals_estimated,
            "encrypted": encrypted,
        }.items()
        if v is not KEEP
    }
    if "individuals" in given:
        given.setdefault("individuals_estimated", False)
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "triage")
        org = app.organisation(session)
        if category is not None and category != incident.category:
            if category not in app.playbooks:
                raise NotFound(key="err.unknown.category", value=repr(category), known=", ".join(sorted(app.playbooks)))
            incident.category = category
            create_step_tasks(app, session, incident, now=now, actor=actor)
        became_serious = serious and not incident.serious
        incident.serious = serious or incident.serious
        session.add(incident)
        facts = facts_of(latest_triage(session, incident)) | given
        row = record_facts(app, session, incident, by=actor, now=now, source="triage", facts=facts)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="incident.triaged",
            incident=incident.public_id,
            data={
                "triage_id": row.id,
                "status": row.status,
                "grounds": [g["code"] for g in row.grounds],
                "changed": sorted(given),
                "category": incident.category,
                "serious": incident.serious,
                "individuals": row.individuals,
                "regime": row.regime,
                "exempt": row.exempt_reason,
            },
        )
        ctx = MessageContext.for_incident(app, session, incident)
        if became_serious:
            policy = incident_policy(incident)
            for email in resolve_people(app, session, incident, policy.serious_notice, Role.PROTECTION_MANAGER):
                enqueue(
                    session,
                    app,
                    ctx,
                    kind="serious_notice",
                    recipient=email,
                    now=now,
                    key=f"{incident.public_id}:serious_notice:{email}",
                    protection_manager=org.division(incident.division_code).protection_manager.name,
                )
        apply_statutory(app, session, incident, now=now, actor=actor, ctx=ctx, cause="triage")
        return assessment(app, session, incident)


def decide(app: App, *, incident_id: str, actor: str, decision: str, now: datetime, reason: str | None = None) -> dict:
    """The general manager (or deputy) confirms the assessment or overrides it with a reason."""
    if decision not in DECISIONS:
        raise InputError(key="err.one_of", what="decision", value=repr(decision), choices=", ".join(DECISIONS))
    if decision != "confirm" and not (reason or "").strip():
        raise InputError(key="err.reason.override", what="--reason")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = actor.strip().lower()
        org = app.organisation(session)
        if actor not in org.people():
            raise NotFound(key="err.unknown.person", value=repr(actor))
        gm = org.general_manager
        if actor not in {gm.email, gm.deputy.email if gm.deputy else None}:
            raise TransitionRefused(f"{actor} may not decide reportability: only the general manager or the deputy may")
        current = latest_triage(session, incident)
        if decision == "confirm" and (current is None or current.status == UNDECIDED):
            unknown = assess_reportability(TriageFacts(**facts_of(current)), org.organisation.regime).unknown
            raise TransitionRefused(
                f"{incident.public_id}: the assessment is undecided (not known yet: {', '.join(unknown)}); record "
                "the facts (hokoku triage) or decide with --override required|not-required --reason"
            )
        if current is None:  # an override before any facts: decide on the all-unknown facts
            current = record_facts(app, session, incident, by=actor, now=now, source="triage", facts=facts_of(None))
        kind = DECISIONS[decision]
        row = StatutoryDecision(incident_id=saved_id(incident), triage_id=current.id, at=now, by=actor, kind=kind)
        session.add(row)
        session.flush()  # the ciphertext is bound to the row id
        if reason:
            row.reason_enc = app.keyring.encrypt(reason, field="decision.reason", bind=row.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="reportability.decided",
            incident=incident.public_id,
            data={"triage_id": current.id, "decision": kind, "assessed": current.status},
        )
        ctx = MessageContext.for_incident(app, session, incident)
        apply_statutory(app, session, incident, now=now, actor=actor, ctx=ctx, cause="decision")
        return assessment(app, session, incident)


def effective(session: Session, incident: Incident) -> tuple[str, Triage | None, StatutoryDecision | None]:
    """(status, facts row, decision): ``required`` / ``not_required`` / ``undecided`` in force.

    A decision binds to the facts it was made on: newer facts void it until it is made again.
    """
    current = latest_triage(session, incident)
    if current is None:
        return UNDECIDED, None, None
    decision = session.execute(
        select(StatutoryDecision)
        .where(StatutoryDecision.triage_id == current.id)
        .order_by(StatutoryDecision.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if decision is None or decision.kind == DecisionKind.CONFIRMED:
        return current.status, current, decision
    return (REQUIRED if decision.kind == DecisionKind.OVERRIDE_REQUIRED else NOT_REQUIRED), current, decision


#: A reportability status as True (required) / False (not required); undecided has no entry.
_AS_BOOL: dict[str, bool] = {REQUIRED: True, NOT_REQUIRED: False}


def effective_required(
    session: Session, incident: Incident
) -> tuple[bool | None, Triage | None, StatutoryDecision | None]:
    """Like :func:`effective`, as True (required) / False (not required) / None (undecided)."""
    status, current, decision = effective(session, incident)
    return _AS_BOOL.get(status), current, decision


def assessment(app: App, session: Session, incident: Incident) -> dict:
    status, current, decision = effective(session, incident)
    people = app.organisation(session).people()
    facts = facts_of(current)
    policy = incident_policy(incident)
    deadlines = ppc_deadlines(
        incident.aware_at,
        unauthorized_purpose=bool(facts["unauthorized_purpose"]),
        preliminary_days=policy.statutory.preliminary_days,
    )
    org = app.organisation(session)
    result = assess_reportability(TriageFacts(**facts), current.regime if current else org.organisation.regime)
    out: dict = {
        "incident": incident.public_id,
        "triaged": current is not None and current.source == "triage",
        "status": status,
        "required": _AS_BOOL.get(status),
        "decided": status != UNDECIDED,
        "possibly_required": status != NOT_REQUIRED,
        "confirmed_by_general_manager": decision is not None,
        "assessed": result.status,
        "assessed_required": result.required if result.status != UNDECIDED else None,
        "unknown": list(result.unknown),
        "regime": result.regime.value,
        "basis": result.regime.basis_en,
        "basis_ja": result.regime.basis_ja,
        "grounds": [
            {"code": g.code, "item": g.item, "citation_ja": g.citation_ja, "citation_en": g.citation_en}
            for g in result.grounds
        ],
        "exempt_reason": result.exempt_reason,
        "summary": result.summary(app.settings.lang),
        "facts": {
            **{k: facts[k] for k in FACT_NAMES},
            "individuals_estimated": facts["individuals_estimated"],
            "serious": incident.serious,
            "category": incident.category,
        },
        "triaged_by": current.by if current else None,
        "triaged_at": iso(current.at) if current else None,
        "decision": None
        if decision is None
        else {
            "kind": decision.kind,
            "by": decision.by,
            "by_name": people[decision.by].name if decision.by in people else decision.by,
            "at": iso(decision.at),
            "reason": app.keyring.decrypt(decision.reason_enc, field="decision.reason", bind=decision.id),
        },
        "deadlines": deadlines.to_json_dict() if status != NOT_REQUIRED else None,
    }
    return out


def show_assessment(app: App, *, incident_id: str) -> dict:
    with transaction(app.engine) as session:
        return assessment(app, session, get_incident(session, incident_id))


def apply_statutory(
    app: App, session: Session, incident: Incident, *, now: datetime, actor: str, ctx: MessageContext, cause: str
) -> None:
    """Bring the statutory stages and the triage stage in line with the assessment in force.

    * decided not required by the general manager → the open statutory duties are set aside
      with the decision as their reason;
    * otherwise (required, undecided, or not required on the facts but not yet confirmed) →
      duties set aside by an earlier decision are reinstated and started again;
    * decided either way → the triage stage is done;
    * the running statutory due times follow the facts (unauthorised purpose: 30 ↔ 60 days).
    """
    policy = incident_policy(incident)
    status, current, decision = effective(session, incident)
    rows = load_stages(session, incident, lock=True)
    statutory = {sp.code for sp in policy.stages if sp.statutory}
    set_aside = status == NOT_REQUIRED and decision is not None
    reinstated = []
    for row in rows:
        if row.code not in statutory:
            continue
        if set_aside and decision is not None and row.status not in chain.CLOSED:
            apply_state(row, chain.set_aside(to_state(row), by=SET_ASIDE, now=now))
            reason = t("statutory.set_aside", app.settings.lang)
            given = app.keyring.decrypt(decision.reason_enc, field="decision.reason", bind=decision.id)
            if given:
                reason += t("label.sep", app.settings.lang) + given
            row.skip_reason_enc = app.keyring.encrypt(reason, field="stage.skip_reason", bind=row.id)
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=actor,
                action="stage.skipped",
                incident=incident.public_id,
                data={"stage": row.code, "reason": "statutory.not_required", "decision": decision.kind},
            )
        elif not set_aside and row.status == chain.SKIPPED and row.completed_by == SET_ASIDE:
            apply_state(row, chain.StageState(code=row.code))  # from pending again, due from awareness
            row.completed_by = row.skip_reason_enc = None
            session.add(row)
            reinstated.append(row.code)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=actor,
                action="stage.reinstated",
                incident=incident.public_id,
                data={"stage": row.code, "cause": cause, "assessment": status},
            )
    if status != UNDECIDED:
        for row in rows:
            sp = policy.stage(row.code)
            if sp.completed_by == "assessment" and row.status not in chain.CLOSED:
                apply_state(row, chain.discharge(to_state(row), by=actor, now=now))
                session.add(row)
                audit.append(
                    session,
                    app.keyring,
                    at=now,
                    actor=actor,
                    action="stage.done",
                    incident=incident.public_id,
                    data={"stage": row.code, "assessment": status, "cause": cause},
                )
    if reinstated and incident.status == IncidentStatus.CLOSED:
        incident.status, incident.closed_at = IncidentStatus.OPEN, None
        session.add(incident)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="incident.reopened",
            incident=incident.public_id,
            data={"reason": "statutory duty reinstated", "stages": reinstated},
        )
    session.flush()
    recompute_dues(app, session, incident, rows, now=now, actor=actor, ctx=ctx, cause=cause)
    start_ready_stages(app, session, incident, rows, now=now, actor=actor, ctx=ctx)
