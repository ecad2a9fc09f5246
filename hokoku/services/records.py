"""Findings that fill the Commission's nine items, and notices to individuals (28-1)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku import audit
from hokoku.app import App
from hokoku.db import transaction
from hokoku.exceptions import InputError, NotFound
from hokoku.services.tasks import require_manager
from hokoku.services.transitions import get_incident
from hokoku.timeutil import iso
from models.casework import DocumentSnapshot, Finding, IndividualNotice
from models.incident import Incident

#: The nine items of the report to the Commission (PPC Rules Art. 8(1) / 44), in order.
ITEMS = ("summary", "data_items", "individuals", "cause", "secondary_damage", "individual_response", "publication",
         "prevention", "other")
MAX_TEXT = 20_000


def _item_for(app: App, incident: Incident, name: str) -> tuple[str, str | None]:
    """A nine-item code, or a playbook investigation question id mapped to its item."""
    if name in ITEMS:
        return name, None
    playbook = app.playbooks.get(incident.category)
    for q in (playbook.investigation_questions if playbook else []):
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
        row = Finding(incident_id=incident.id, item=code, question_id=question, by=actor, at=now, text_enc=b"")
        session.add(row)
        session.flush()  # the ciphertext is bound to the row id
        row.text_enc = app.keyring.encrypt(text, field="finding.text", bind=row.id)
        audit.append(session, app.keyring, at=now, actor=actor, action="finding.recorded", incident=incident.public_id,
                     data={"item": code, "question": question})
        return {"incident": incident.public_id, "item": code, "question": question}


def findings(app: App, session: Session, incident: Incident) -> dict[str, list[dict]]:
    """Per item, every answer recorded, oldest first."""
    out: dict[str, list[dict]] = {}
    rows = session.execute(select(Finding).where(Finding.incident_id == incident.id).order_by(Finding.id)).scalars()
    for f in rows:
        out.setdefault(f.item, []).append({
            "question": f.question_id, "by": f.by, "at": iso(f.at),
            "text": app.keyring.decrypt(f.text_enc, field="finding.text", bind=f.id)})
    return out


def list_findings(app: App, *, incident_id: str) -> dict:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        return {"incident": incident.public_id, "findings": findings(app, session, incident)}


def record_notice(app: App, *, incident_id: str, count: int, method: str, notified_at: datetime, actor: str,
                  now: datetime, substitute: str | None = None) -> dict:
    """One batch of notices to individuals: how many, when, how, and any substitute measure."""
    if count < 0:
        raise InputError("--count: must be 0 or more")
    if not (method or "").strip():
        raise InputError("--method: say how the individuals were told (e.g. letter, email, phone)")
    if notified_at > now:
        raise InputError("--at: the notice time is in the future")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = require_manager(app, session, incident, actor, "record notices")
        row = IndividualNotice(incident_id=incident.id, count=count, notified_at=notified_at, recorded_by=actor,
                               recorded_at=now, method_enc=b"")
        session.add(row)
        session.flush()  # the ciphertexts are bound to the row id
        row.method_enc = app.keyring.encrypt(method.strip(), field="notice.method", bind=row.id)
        if substitute:
            row.substitute_enc = app.keyring.encrypt(substitute, field="notice.substitute", bind=row.id)
        audit.append(session, app.keyring, at=now, actor=actor, action="notice.recorded", incident=incident.public_id,
                     data={"count": count, "notified_at": iso(notified_at), "substitute": bool(substitute)})
        return {"incident": incident.public_id, "count": count, "notified_at": iso(notified_at)}


def notices(app: App, session: Session, incident: Incident) -> list[dict]:
    rows = session.execute(
        select(IndividualNotice).where(IndividualNotice.incident_id == incident.id).order_by(IndividualNotice.notified_at)
    ).scalars()
    return [{"count": n.count, "notified_at": n.notified_at,
             "method": app.keyring.decrypt(n.method_enc, field="notice.method", bind=n.id),
             "substitute": app.keyring.decrypt(n.substitute_enc, field="notice.substitute", bind=n.id)} for n in rows]


def snapshot_items(app: App, session: Session, incident: Incident, *, kind: str, items: dict, now: datetime) -> None:
    row = DocumentSnapshot(incident_id=incident.id, kind=kind, at=now, items_enc=b"")
    session.add(row)
    session.flush()  # the ciphertext is bound to the row id
    row.items_enc = app.keyring.encrypt(json.dumps(items, ensure_ascii=False), field="snapshot.items", bind=row.id)


def latest_snapshot(app: App, session: Session, incident: Incident, kind: str) -> dict | None:
    row = session.execute(
        select(DocumentSnapshot).where(DocumentSnapshot.incident_id == incident.id, DocumentSnapshot.kind == kind)
        .order_by(DocumentSnapshot.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if row is None else json.loads(app.keyring.decrypt(row.items_enc, field="snapshot.items", bind=row.id))
