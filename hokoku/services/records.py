"""Findings that fill the Commission's nine items, public texts (written for the public and the
person), and notices to individuals (28-1)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import chain
from hokoku.core.exceptions import InputError, NotFound, TransitionRefused
from hokoku.core.statuses import StageStatus
from hokoku.core.statutory import MAX_INDIVIDUALS
from hokoku.core.timeutil import iso
from hokoku.documents.labels import PUBLIC_FIELDS
from hokoku.models.casework import DocumentSnapshot, Finding, IndividualNotice, PublicText
from hokoku.models.incident import Incident
from hokoku.security import audit
from hokoku.services.incidents import get_incident, incident_policy
from hokoku.services.notifications import MessageContext
from hokoku.services.stagerows import apply_state, load_stages, start_ready_stages, to_state
from hokoku.services.tasks import require_manager
from hokoku.store.db import saved_id, transaction

#: The nine items of the report to the Commission (PPC Rules Art. 8(1) / 44), in order.
ITEMS = (
    "summary",
    "data_items",
    "individuals",
    "cause",
    "secondary_damage",
    "individual_response",
    "publication",
    "prevention",
    "other",
)
MAX_TEXT = 20_000

PUBLIC_TEXT_MAX = 5_000


def _item_for(app: App, incident: Incident, name: str) -> tuple[str, str | None]:
    """A nine-item code, or a playbook investigation question id mapped to its item."""
    if name in ITEMS:
        return name, None
    playbook = app.playbooks.get(incident.category)
    for q in playbook.investigation_questions if playbook else []:
        if q.id == name:
            return str(q.maps_to), q.id
    questions = [q.id for q in (playbook.investigation_questions if playbook else [])]
    raise NotFound(f"unknown item or question {name!r} (items: {', '.join(ITEMS)}; questions: {', '.join(questions)})")


def set_finding(app: App, *, incident_id: str, item: str, text: str, actor: str, now: datetime) -> dict:
    text = (text or "").strip()
    if not text:
        raise InputError("--text: empty")
    if len(text) > MAX_TEXT:
        raise InputError(f"--text: too long ({len(text)} characters; at most {MAX_TEXT})")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "record findings")
        code, question = _item_for(app, incident, item)
        row = Finding(incident_id=saved_id(incident), item=code, question_id=question, by=actor, at=now, text_enc=b"")
        session.add(row)
        session.flush()  # the ciphertext is bound to the row id
        row.text_enc = app.keyring.encrypt(text, field="finding.text", bind=row.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="finding.recorded",
            incident=incident.public_id,
            data={"item": code, "question": question},
        )
        return {"incident": incident.public_id, "item": code, "question": question}


def findings(app: App, session: Session, incident: Incident) -> dict[str, list[dict]]:
    """Per item, every answer recorded, oldest first."""
    out: dict[str, list[dict]] = {}
    rows = session.execute(select(Finding).where(Finding.incident_id == incident.id).order_by(Finding.id)).scalars()
    for f in rows:
        out.setdefault(f.item, []).append(
            {
                "question": f.question_id,
                "by": f.by,
                "at": iso(f.at),
                "text": app.keyring.decrypt(f.text_enc, field="finding.text", bind=f.id),
            }
        )
    return out


def list_findings(app: App, *, incident_id: str) -> dict:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        return {"incident": incident.public_id, "findings": findings(app, session, incident)}


def record_notice(
    app: App,
    *,
    incident_id: str,
    count: int,
    method: str,
    notified_at: datetime,
    actor: str,
    now: datetime,
    substitute: str | None = None,
    complete: bool = False,
) -> dict:
    """One batch of notices to individuals: how many, when, how, and any substitute measure.

    ``complete`` says every individual concerned has now been told (or is covered by the
    substitute measure): the statutory notice duty (APPI 26(2) / 68(2)) is then done.
    """
    if count < 0 or count > MAX_INDIVIDUALS:
        raise InputError(f"--count: must be a whole number from 0 to {MAX_INDIVIDUALS:,}")
    if not (method or "").strip():
        raise InputError("--method: say how the individuals were told (e.g. letter, email, phone)")
    _check_text("--method", method)
    _check_text("--substitute", substitute)
    if notified_at > now:
        raise InputError("--at: the notice time is in the future")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "record notices")
        if notified_at < incident.aware_at:
            raise InputError("--at: the notice time is before the organisation became aware of the incident")
        row = IndividualNotice(
            incident_id=saved_id(incident),
            count=count,
            notified_at=notified_at,
            recorded_by=actor,
            recorded_at=now,
            kind="notice",
            completes=complete,
            method_enc=b"",
        )
        session.add(row)
        session.flush()  # the ciphertexts are bound to the row id
        row.method_enc = app.keyring.encrypt(method.strip(), field="notice.method", bind=row.id)
        if substitute:
            row.substitute_enc = app.keyring.encrypt(substitute, field="notice.substitute", bind=row.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="notice.recorded",
            incident=incident.public_id,
            data={
                "count": count,
                "notified_at": iso(notified_at),
                "substitute": bool(substitute),
                "complete": complete,
            },
        )
        done = _discharge_notice_duty(app, session, incident, actor=actor, now=now) if complete else []
        return {"incident": incident.public_id, "count": count, "notified_at": iso(notified_at), "completed": done}


ALTERNATIVES = ("publication", "other")


def record_notice_difficult(
    app: App,
    *,
    incident_id: str,
    reason: str,
    alternative: str,
    measure: str,
    actor: str,
    now: datetime,
    count: int = 0,
) -> dict:
    """The statutory exception (APPI 26(2) ただし書 / 68(2) ただし書): notifying the individuals is
    difficult, and an alternative measure to protect their rights was taken (publication of the
    case, or another measure). Both must be recorded; it completes the notice duty."""
    if alternative not in ALTERNATIVES:
        raise InputError(f"--alternative: {alternative!r} is not one of {', '.join(ALTERNATIVES)}")
    for label, text in (("--reason", reason), ("--measure", measure)):
        if not (text or "").strip():
            raise InputError(f"{label}: empty; the exception needs why notifying is difficult and the measure taken")
        _check_text(label, text)
    if count < 0 or count > MAX_INDIVIDUALS:
        raise InputError(f"--count: must be a whole number from 0 to {MAX_INDIVIDUALS:,}")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "record that notifying is difficult")
        if alternative == "publication":
            policy = incident_policy(incident)
            published = [
                r
                for r in load_stages(session, incident)
                if policy.stage(r.code).article == "28-1" and r.status == StageStatus.DONE
            ]
            if not published:
                raise TransitionRefused(
                    f"{incident.public_id}: publication (28-1) is not done, so it cannot be the alternative measure; "
                    "publish first, or record another measure (--alternative other)"
                )
        row = IndividualNotice(
            incident_id=saved_id(incident),
            count=count,
            notified_at=now,
            recorded_by=actor,
            recorded_at=now,
            kind="difficult",
            alternative=alternative,
            completes=True,
            method_enc=b"",
        )
        session.add(row)
        session.flush()  # the ciphertexts are bound to the row id
        row.method_enc = app.keyring.encrypt(measure.strip(), field="notice.method", bind=row.id)
        row.difficulty_enc = app.keyring.encrypt(reason.strip(), field="notice.difficulty", bind=row.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="notice.difficult",
            incident=incident.public_id,
            data={"alternative": alternative, "count": count},
        )
        done = _discharge_notice_duty(app, session, incident, actor=actor, now=now)
        return {"incident": incident.public_id, "alternative": alternative, "completed": done}


def _discharge_notice_duty(app: App, session: Session, incident: Incident, *, actor: str, now: datetime) -> list[str]:
    """Complete the stages discharged by notice records; start what may start now."""

    policy = incident_policy(incident)
    rows = load_stages(session, incident, lock=True)
    done = []
    for row in rows:
        if policy.stage(row.code).completed_by == "notice" and row.status not in chain.CLOSED:
            apply_state(row, chain.discharge(to_state(row), by=actor, now=now))
            session.add(row)
            audit.append(
                session,
                app.keyring,
                at=now,
                actor=actor,
                action="stage.done",
                incident=incident.public_id,
                data={"stage": row.code, "by_record": "notice"},
            )
            done.append(row.code)
    start_ready_stages(
        app, session, incident, rows, now=now, actor=actor, ctx=MessageContext.for_incident(app, session, incident)
    )
    return done


def _check_text(label: str, text: str | None) -> None:
    if text is not None and len(text) > MAX_TEXT:
        raise InputError(f"{label}: too long ({len(text)} characters; at most {MAX_TEXT})")


def notices(app: App, session: Session, incident: Incident) -> list[dict]:
    rows = session.execute(
        select(IndividualNotice)
        .where(IndividualNotice.incident_id == incident.id)
        .order_by(IndividualNotice.notified_at)
    ).scalars()
    return [
        {
            "count": n.count,
            "notified_at": n.notified_at,
            "kind": n.kind,
            "alternative": n.alternative,
            "completes": n.completes,
            "method": app.keyring.decrypt(n.method_enc, field="notice.method", bind=n.id),
            "substitute": app.keyring.decrypt(n.substitute_enc, field="notice.substitute", bind=n.id),
            "difficulty": app.keyring.decrypt(n.difficulty_enc, field="notice.difficulty", bind=n.id),
        }
        for n in rows
    ]


def snapshot_items(app: App, session: Session, incident: Incident, *, kind: str, items: dict, now: datetime) -> None:
    row = DocumentSnapshot(incident_id=saved_id(incident), kind=kind, at=now, items_enc=b"")
    session.add(row)
    session.flush()  # the ciphertext is bound to the row id
    row.items_enc = app.keyring.encrypt(json.dumps(items, ensure_ascii=False), field="snapshot.items", bind=row.id)


def latest_snapshot(app: App, session: Session, incident: Incident, kind: str) -> dict | None:
    row = session.execute(
        select(DocumentSnapshot)
        .where(DocumentSnapshot.incident_id == incident.id, DocumentSnapshot.kind == kind)
        .order_by(DocumentSnapshot.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if row is None else json.loads(app.keyring.decrypt(row.items_enc, field="snapshot.items", bind=row.id))


def set_public_text(app: App, *, incident_id: str, field: str, text: str, actor: str, now: datetime) -> dict:
    """Write (or replace) one public text of an incident; the incident's managers only."""
    if field not in PUBLIC_FIELDS:
        raise InputError(f"--field: {field!r} is not one of {', '.join(PUBLIC_FIELDS)}")
    text = (text or "").strip()
    if not text:
        raise InputError("--text: empty")
    if len(text) > PUBLIC_TEXT_MAX:
        raise InputError(f"--text: too long ({len(text)} characters; at most {PUBLIC_TEXT_MAX})")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "write public texts")
        row = PublicText(incident_id=saved_id(incident), field=field, by=actor, at=now, text_enc=b"")
        session.add(row)
        session.flush()  # the ciphertext is bound to the row id
        row.text_enc = app.keyring.encrypt(text, field="public_text.text", bind=row.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="public_text.recorded",
            incident=incident.public_id,
            data={"field": field, "chars": len(text)},
        )
        return {"incident": incident.public_id, "field": field}


def public_texts(app: App, session: Session, incident: Incident) -> dict[str, str]:
    """The newest text per public field (fields never written are absent)."""
    rows = session.execute(
        select(PublicText).where(PublicText.incident_id == incident.id).order_by(PublicText.id)
    ).scalars()
    return {r.field: app.keyring.decrypt(r.text_enc, field="public_text.text", bind=r.id) for r in rows}


def list_public_texts(app: App, *, incident_id: str) -> dict:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        return {"incident": incident.public_id, "texts": public_texts(app, session, incident)}
