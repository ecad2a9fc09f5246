"""Gathering one incident's facts for the document drafts (``hokoku.documents.render``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core.statuses import StageStatus, TaskStatus
from hokoku.core.statutory import TriageFacts, assess_reportability, ppc_deadlines
from hokoku.documents.render import build_context
from hokoku.i18n import LANGS, in_lang, plural, t
from hokoku.models.audit import AuditEvent
from hokoku.models.casework import Task
from hokoku.models.incident import Incident
from hokoku.services.incidents import get_incident, incident_policy
from hokoku.services.queries import report_delay
from hokoku.services.records import ITEMS, findings, latest_snapshot, notices, public_texts
from hokoku.services.stagerows import load_stages
from hokoku.services.triage import effective_required
from hokoku.store.db import transaction


def build_document_data(app: App, *, incident_id: str, now: datetime, lang: str = "ja") -> dict:
    with transaction(app.engine) as session:
        return document_data(app, session, get_incident(session, incident_id), now=now, lang=lang)


def document_data(app: App, session: Session, inc: Incident, *, now: datetime, lang: str = "ja") -> dict:
    org = app.organisation(session)
    people = org.people()
    name = lambda email: people[email].name if email in people else email  # noqa: E731
    div, inst = org.division(inc.division_code), org.institute_of(inc.division_code)
    policy = incident_policy(inc)
    playbook = app.playbooks.get(inc.category)
    rows = load_stages(session, inc)
    dec = lambda blob, f, row: app.keyring.decrypt(blob, field=f, bind=row)  # noqa: E731
    stages: list[dict[str, Any]] = []
    for r in rows:
        sp = policy.stage(r.code)
        stages.append(
            {
                "code": r.code,
                "article": r.article,
                "title_ja": sp.title.ja,
                "title_en": sp.title.en,
                "owner_name": name(r.owner_email) if r.owner_email else None,
                "status": r.status,
                "activated_at": r.activated_at,
                "due_at": r.due_at,
                "acknowledged_at": r.acknowledged_at,
                "completed_at": r.completed_at,
                "completed_by_name": name(r.completed_by) if r.completed_by else None,
                "note": dec(r.note_enc, "stage.note", r.id),
                "skip_reason": dec(r.skip_reason_enc, "stage.skip_reason", r.id),
            }
        )
    by_code = {s["code"]: s for s in stages}

    required, triage_row, decision = effective_required(session, inc)
    triage = None
    if triage_row is not None:
        facts = TriageFacts(
            sensitive=triage_row.sensitive,
            financial_risk=triage_row.financial_risk,
            unauthorized_purpose=triage_row.unauthorized_purpose,
            individuals=triage_row.individuals,
            individuals_estimated=triage_row.individuals_estimated,
            encrypted=triage_row.encrypted,
        )
        assessed = assess_reportability(facts, triage_row.regime)
        triage = {
            "at": triage_row.at,
            "by_name": name(triage_row.by),
            "sensitive": triage_row.sensitive,
            "financial_risk": triage_row.financial_risk,
            "unauthorized_purpose": triage_row.unauthorized_purpose,
            "individuals": triage_row.individuals,
            "individuals_estimated": triage_row.individuals_estimated,
            "encrypted": triage_row.encrypted,
            "required": bool(required),
            "grounds": [
                {"code": g["code"], "citation_ja": g["citation_ja"], "citation_en": g["citation_en"]}
                for g in triage_row.grounds
            ],
            "exempt_reason": triage_row.exempt_reason,
            "summary_ja": assessed.summary("ja"),
            "summary_en": assessed.summary("en"),
            "decision": None
            if decision is None
            else {
                "kind": decision.kind,
                "by_name": name(decision.by),
                "at": decision.at,
                "reason": dec(decision.reason_enc, "decision.reason", decision.id),
            },
        }
    ppc = None
    if triage_row is not None and required:
        d = ppc_deadlines(
            inc.aware_at,
            unauthorized_purpose=bool(triage_row.unauthorized_purpose),  # unknown: the shorter 30 days
            preliminary_days=policy.statutory.preliminary_days,
        )
        ppc = {
            "aware_date": d.aware_date,
            "preliminary_target": d.preliminary_target,
            "final_due": d.final_due,
            "final_day_count": d.final_day_count,
            "rule_ja": d.rule_ja,
            "rule_en": d.rule_en,
        }

    tasks = list(
        session.execute(select(Task).where(Task.incident_id == inc.id).order_by(Task.kind, Task.seq)).scalars()
    )
    prevention = [
        {
            "title": dec(t.title_enc, "task.title", t.id) or in_lang(lang, ja=t.title_ja, en=t.title_en),
            "owner_name": name(t.owner_email) if t.owner_email else None,
            "due_at": t.due_at,
            "status": t.status
            if not (t.status == TaskStatus.OPEN and t.due_at and t.due_at <= now)
            else TaskStatus.OVERDUE,
            "completed_at": t.completed_at,
        }
        for t in tasks
        if t.kind == "prevention"
    ]
    step_titles = {
        t.ref: {
            "ja": t.title_ja or dec(t.title_enc, "task.title", t.id),
            "en": t.title_en or t.title_ja or dec(t.title_enc, "task.title", t.id),
        }
        for t in tasks
        if t.kind == "step"
    }
    notice_rows = notices(app, session, inc)
    found = findings(app, session, inc)
    items = _items(found)

    ack = by_code.get("acknowledge", {}).get("acknowledged_at")
    contained = by_code.get("containment", {}).get("completed_at")
    deadlines: list[dict[str, Any]] = []
    for s in stages:
        if s["due_at"] is None or s["code"] == "report" or s["status"] == StageStatus.SKIPPED:
            continue
        done = s["completed_at"]
        deadlines.append(
            {
                "name_ja": s["title_ja"],
                "name_en": s["title_en"],
                "article": s["article"],
                "due_at": s["due_at"],
                "done_at": done,
                "met": None if done is None else done <= s["due_at"],
                "margin": None if done is None else s["due_at"] - done,
            }
        )
    for task in tasks:
        if task.kind == "prevention" and task.due_at:
            title = dec(task.title_enc, "task.title", task.id)
            deadlines.append(
                {
                    "name_ja": t("doc.prevention_deadline", "ja", title=title),
                    "name_en": t("doc.prevention_deadline", "en", title=title),
                    "due_at": task.due_at,
                    "done_at": task.completed_at,
                    "met": None if task.completed_at is None else task.completed_at <= task.due_at,
                    "margin": None if task.completed_at is None else task.due_at - task.completed_at,
                }
            )
    events = session.execute(
        select(AuditEvent).where(AuditEvent.incident_public_id == inc.public_id).order_by(AuditEvent.seq)
    ).scalars()
    timeline = []
    for e in events:
        if e.action.startswith("notification.") or e.action in ("incident.viewed", "access.denied"):
            continue
        ref = e.data.get("ref")
        step = step_titles.get(ref.split(":", 1)[-1] if isinstance(ref, str) else None)
        timeline.append(
            {
                "at": e.at,
                "actor_name": name(e.actor),
                "action": e.action,
                "stage": e.data.get("stage") or ref,
                "step_title_ja": step["ja"] if step else None,
                "step_title_en": step["en"] if step else None,
                "field": e.data.get("field") or e.data.get("item"),
                "count": e.data.get("count"),
            }
        )
    contact = org.organisation.contact
    reported_items = dec(inc.reported_data_items_enc, "incident.data_items", inc.public_id)
    if triage_row is not None and triage_row.individuals is not None:
        headcount = {
            "count": triage_row.individuals,
            "estimated": bool(triage_row.individuals_estimated),
            "source": "triage",
        }
    elif triage_row is None and inc.reported_individuals is not None:
        headcount = {"count": inc.reported_individuals, "estimated": True, "source": "report"}
    else:
        headcount = {"count": None, "estimated": False, "source": None}
    return {
        "generated_at": now,
        "organisation": {
            "name_ja": org.organisation.name.ja,
            "name_en": org.organisation.name.en,
            "regime": org.organisation.regime,
            "contact": None
            if contact is None
            else {
                "office_ja": contact.office.ja,
                "office_en": contact.office.en,
                "phone": contact.phone,
                "email": contact.email,
                "hours_ja": contact.hours.ja if contact.hours else None,
                "hours_en": contact.hours.en if contact.hours else None,
                "person": contact.person or org.general_manager.name,
            },
        },
        "incident": {
            "public_id": inc.public_id,
            "category": inc.category,
            "category_label_ja": playbook.title.get("ja") if playbook else inc.category,
            "category_label_en": playbook.title.get("en") if playbook else inc.category,
            "division_name_ja": div.name.ja,
            "division_name_en": div.name.en,
            "institute_name_ja": inst.name.ja,
            "institute_name_en": inst.name.en,
            "serious": inc.serious,
            "status": inc.status,
            "aware_at": inc.aware_at,
            "reported_at": inc.reported_at,
            "occurred_at": inc.occurred_at,
            "entry": inc.entry,
            "closed_at": inc.closed_at,
            "summary": dec(inc.summary_enc, "incident.summary", inc.public_id),
            **_report_delay_text(inc, policy),
            "reporter_name": name(inc.reporter_email),
            "protection_manager_name": div.protection_manager.name,
            "general_manager_name": org.general_manager.name,
            "institute_manager_name": inst.institute_manager.name,
            "director_general_name": org.director_general.name,
        },
        "stages": stages,
        "triage": triage,
        "ppc": ppc,
        "items": items,
        "public": public_texts(app, session, inc),
        "headcount": headcount,
        "reported_data_items": reported_items,
        "preliminary_items": latest_snapshot(app, session, inc, "ppc-preliminary"),
        "prevention_actions": prevention,
        "notices": notice_rows,
        "metrics": {
            "time_to_acknowledge": None if ack is None else ack - inc.reported_at,
            "time_to_contain": None if contained is None else contained - inc.reported_at,
        },
        "deadlines": deadlines,
        "timeline": timeline,
    }


def filed_items(app: App, session: Session, inc: Incident, *, now: datetime, lang: str = "ja") -> dict:
    """The nine items exactly as a report filed now would state them (kept to diff against)."""

    data = document_data(app, session, inc, now=now, lang=lang)
    return dict(build_context("ppc-preliminary", data, lang, "md")["items"])


def _latest_per_question(answers: list[dict]) -> list[str]:
    """The newest answer to each question of an item, in order; an answer given for the item as
    a whole replaces everything recorded before it."""
    latest: dict = {}
    for a in answers:
        if a["question"] is None:
            latest = {}
        latest[a["question"]] = a["text"]
    return list(latest.values())


def _items(found) -> dict:
    """The nine items as the owner recorded them (findings); nothing filled from internal notes.

    What the records establish (the headcount, notices, publication, prevention actions) is
    added in words by the renderer (``hokoku.documents.render``), from one source each."""
    items: dict[str, str | None] = {}
    for key in ITEMS:
        texts = _latest_per_question(found.get(key, []))
        items[key] = "\n".join(texts) if texts else None
    return items


def _report_delay_text(inc: Incident, policy) -> dict:
    """How long after awareness the report came, in words, and whether 27-1 (直ちに) was met."""

    delay = report_delay(inc, policy)
    hours, minutes = divmod(max(delay["minutes"], 0), 60)
    tolerance = policy.report_delay
    text = {}
    for lang in LANGS:
        text[lang] = t("dur.hm" if hours else "dur.m", lang, h=hours, m=minutes)
        if delay["late"]:
            text[lang] += t("doc.report_late", lang, tolerance=plural(f"unit.{tolerance.unit}", tolerance.amount, lang))
    ja, en = text["ja"], text["en"]
    return {"report_delay_ja": ja, "report_delay_en": en, "report_late": delay["late"]}
