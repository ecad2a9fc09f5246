"""Read-only views: one incident, the list, the outbox, the organisation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.roles import role_label
from hokoku.core.statuses import IncidentStatus, NotificationStatus
from hokoku.core.statutory import parse_regime, ppc_deadlines
from hokoku.core.timeutil import as_utc, fmt_jst, iso, iso_local
from hokoku.i18n import Lang, t
from hokoku.models.audit import AuditEvent
from hokoku.models.incident import Incident
from hokoku.models.notification import Notification
from hokoku.services.incidents import get_incident, incident_policy
from hokoku.services.stagerows import latest_triage, load_stages
from hokoku.services.triage import assessment
from hokoku.store.db import transaction


def show_incident(app: App, public_id: str, *, now: datetime) -> dict:
    lang = app.settings.lang
    with transaction(app.engine) as session:
        inc = get_incident(session, public_id)
        org = app.organisation(session)
        people = org.people()
        policy = incident_policy(inc)

        assessed = assessment(app, session, inc)
        rules = statutory_rules(app, session, inc, lang)
        stages = []
        for row in load_stages(session, inc):
            sp = policy.stage(row.code)
            overdue = row.status not in chain.CLOSED and row.due_at is not None and row.due_at <= now
            stages.append(
                {
                    "code": row.code,
                    "article": row.article,
                    "title": sp.title.get(lang),
                    "owner_role": row.owner_role,
                    "owner": row.owner_email,
                    "owner_name": people[row.owner_email].name if row.owner_email in people else None,
                    "status": row.status,
                    "due": iso_local(row.due_at),
                    "due_at": iso(row.due_at),
                    "overdue": overdue,
                    "statutory": sp.statutory,
                    **({"rule": rules.get(row.code)} if sp.statutory else {}),
                    "activated_at": iso(row.activated_at),
                    "acknowledged_at": iso(row.acknowledged_at),
                    "acknowledged_by": row.acknowledged_by,
                    "completed_at": iso(row.completed_at),
                    "completed_by": row.completed_by,
                    "escalation_level": row.escalation_level,
                    "next_reminder_at": iso(row.next_reminder_at),
                    "reminders_sent": row.reminders_sent,
                    "note": app.keyring.decrypt(row.note_enc, field="stage.note", bind=row.id),
                    "skip_reason": app.keyring.decrypt(row.skip_reason_enc, field="stage.skip_reason", bind=row.id),
                }
            )
        timeline = [
            {"seq": ev.seq, "at": iso(ev.at), "actor": ev.actor, "action": ev.action, "data": ev.data}
            for ev in session.execute(
                select(AuditEvent).where(AuditEvent.incident_public_id == inc.public_id).order_by(AuditEvent.seq)
            ).scalars()
        ]
        failures = [
            {"key": n.idempotency_key, "channel": n.channel, "recipient": n.recipient_email, "error": n.last_error}
            for n in session.execute(
                select(Notification).where(
                    Notification.incident_id == inc.id, Notification.status == NotificationStatus.FAILED
                )
            ).scalars()
        ]
        div = org.division(inc.division_code)
        return {
            "incident": inc.public_id,
            "status": inc.status,
            "category": inc.category,
            "serious": inc.serious,
            "entry": inc.entry,
            "division": inc.division_code,
            "division_name": div.name.get(lang),
            "reporter": inc.reporter_email,
            "aware_at": iso(inc.aware_at),
            "reported_at": iso(inc.reported_at),
            "closed_at": iso(inc.closed_at),
            "policy": inc.policy_name,
            "policy_sha256": inc.policy_sha256,
            "occurred_at": iso(inc.occurred_at),
            "summary": app.keyring.decrypt(inc.summary_enc, field="incident.summary", bind=inc.public_id),
            "report_delay": report_delay(inc, policy),
            "reportability": {
                k: assessed[k]
                for k in (
                    "status",
                    "decided",
                    "possibly_required",
                    "unknown",
                    "confirmed_by_general_manager",
                    "summary",
                    "basis",
                )
            },
            "stages": stages,
            "timeline": timeline,
            "delivery_failures": failures,
        }


def report_delay(inc: Incident, policy) -> dict:
    """27-1 says 直ちに: how long after awareness the report came, and whether that is late."""
    delay = as_utc(inc.reported_at) - as_utc(inc.aware_at)
    tolerance = policy.report_delay
    late = inc.reported_at > tolerance.after(inc.aware_at)
    return {"minutes": int(delay.total_seconds() // 60), "tolerance": str(tolerance), "late": late}


def statutory_rules(app: App, session, inc: Incident, lang: Lang) -> dict[str, str]:
    """For each statutory stage code, the rule its due time was counted by, in ``lang``."""

    policy = incident_policy(inc)
    facts = latest_triage(session, inc)
    d = ppc_deadlines(
        inc.aware_at,
        unauthorized_purpose=bool(facts and facts.unauthorized_purpose),
        preliminary_days=policy.statutory.preliminary_days,
    )
    regime = parse_regime(app.organisation(session).organisation.regime)
    out = {}
    for sp in policy.stages:
        if not sp.statutory:
            continue
        if sp.deadline_rule == "ppc_final":
            out[sp.code] = d.rule(lang)
        elif sp.deadline_rule == "ppc_preliminary":
            out[sp.code] = d.preliminary_rule(lang)
        elif sp.completed_by == "notice":
            out[sp.code] = t("statutory.rule.notice", lang, act=regime.act_article, deadline=sp.deadline)
        else:
            out[sp.code] = regime.basis(lang)
    return out


def list_incidents(app: App, *, open_only: bool, now: datetime) -> list[dict]:
    with transaction(app.engine) as session:
        query = select(Incident).order_by(Incident.id)
        if open_only:
            query = query.where(Incident.status == IncidentStatus.OPEN)
        out = []
        for inc in session.execute(query).scalars():
            rows = load_stages(session, inc)
            active = [r for r in rows if r.status in chain.ACTIVE]
            out.append(
                {
                    "incident": inc.public_id,
                    "status": inc.status,
                    "category": inc.category,
                    "division": inc.division_code,
                    "serious": inc.serious,
                    "reported_at": iso(inc.reported_at),
                    "current_stages": [r.code for r in active],
                    "overdue": any(r.due_at is not None and r.due_at <= now for r in active),
                    "next_due_at": iso(min((r.due_at for r in active if r.due_at), default=None)),
                }
            )
        return out


def outbox(app: App, *, incident: str | None = None) -> list[dict]:
    with transaction(app.engine) as session:
        query = select(Notification, Incident.public_id).join(Incident, isouter=True).order_by(Notification.id)
        if incident:
            query = query.where(Notification.incident_id == get_incident(session, incident).id)
        out = []
        for n, pid in session.execute(query):
            out.append(
                {
                    "id": n.id,
                    "incident": pid,
                    "stage": n.stage_code,
                    "kind": n.kind,
                    "channel": n.channel,
                    "to": n.recipient_email,
                    "status": n.status,
                    "attempts": n.attempts,
                    "created_at": iso(n.created_at),
                    "sent_at": iso(n.sent_at),
                    "provider_id": n.provider_id,
                    "error": n.last_error,
                    "key": n.idempotency_key,
                    "subject": app.keyring.decrypt(n.subject_enc, field="notification.subject", bind=n.idempotency_key),
                    "body": app.keyring.decrypt(n.body_enc, field="notification.body", bind=n.idempotency_key),
                }
            )
        return out


def describe_org(app: App) -> dict:
    lang = app.settings.lang
    with transaction(app.engine) as session:
        org = app.organisation(session)

    def person(h):
        out = {"name": h.name, "email": h.email}
        if getattr(h, "deputy", None):
            out["deputy"] = {"name": h.deputy.name, "email": h.deputy.email}
        return out

    return {
        "organisation": org.organisation.name.get(lang),
        "regime": org.organisation.regime,
        "regime_detail": regime_detail(org.organisation.regime),
        "director_general": person(org.director_general),
        "general_manager": person(org.general_manager),
        "audit_officer": person(org.audit_officer),
        "institutes": [
            {
                "code": inst.code,
                "name": inst.name.get(lang),
                "institute_manager": person(inst.institute_manager),
                "divisions": [
                    {
                        "code": d.code,
                        "name": d.name.get(lang),
                        "protection_manager": person(d.protection_manager),
                        "protection_officers": [person(p) for p in d.protection_officers],
                        "staff": [person(p) for p in d.staff],
                    }
                    for d in inst.divisions
                ],
            }
            for inst in org.institutes
        ],
        "role_labels": {
            r: role_label(r, lang)
            for r in (
                "director_general",
                "general_manager",
                "audit_officer",
                "institute_manager",
                "protection_manager",
                "protection_officer",
                "staff",
            )
        },
    }


def regime_detail(value: str) -> dict:
    """The regime, its headcount line and the provisions it cites (ja and en)."""

    r = parse_regime(value)
    return {
        "regime": r.value,
        "label": r.label,
        "label_ja": r.label_ja,
        "basis": r.basis_en,
        "basis_ja": r.basis_ja,
        "act_article": r.act_article,
        "rules_articles": [r.rules_article, r.rules_article + 1],
        "headcount_threshold": r.headcount_threshold,
        "headcount_line": t("statutory.headcount_line", "en", limit=f"{r.headcount_threshold:,}"),
        "headcount_line_ja": t("statutory.headcount_line", "ja", limit=f"{r.headcount_threshold:,}"),
    }


__all__ = ["describe_org", "list_incidents", "outbox", "show_incident", "fmt_jst"]
