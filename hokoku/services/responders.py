"""What responders add to an incident from the web: checklist ticks saved one by one (structured,
by the item's index in the playbook step), free-text status updates, evidence files. Each change
and its audit event are one transaction; text and file contents are encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.app import App
from hokoku.core import taskrules
from hokoku.core.exceptions import InputError, NotFound, TransitionRefused
from hokoku.models.casework import Task
from hokoku.models.incident import Incident
from hokoku.models.responders import ChecklistTick, EvidenceFile, IncidentUpdate
from hokoku.security import audit
from hokoku.services.incidents import get_incident
from hokoku.services.tasks import _get_task, require_manager
from hokoku.store.db import saved_id, transaction

MAX_UPDATE = 5_000
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
MAX_NAME = 200


def _known(app: App, session: Session, actor: str) -> str:
    actor = actor.strip().lower()
    if actor not in app.organisation(session).people():
        raise NotFound(f"unknown person {actor!r}: not in the organisation file")
    return actor


def may_work_on_task(app: App, session: Session, incident: Incident, task, actor: str) -> bool:
    """The step's owner or a manager of the incident (the rule :func:`tasks.complete_task` applies)."""
    if actor == task.owner_email:
        return True
    try:
        require_manager(app, session, incident, actor, "work on steps")
    except (TransitionRefused, NotFound):
        return False
    return True


def task_workers(app: App, *, incident_id: str, actor: str) -> set[str]:
    """Refs of the open steps ``actor`` may tick, complete and attach evidence to."""

    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        actor = actor.strip().lower()
        tasks = session.execute(select(Task).where(Task.incident_id == incident.id)).scalars()
        return {
            t.ref
            for t in tasks
            if t.status not in taskrules.CLOSED and may_work_on_task(app, session, incident, t, actor)
        }


def set_tick(app: App, *, incident_id: str, ref: str, item: int, checked: bool, actor: str, now: datetime) -> bool:
    """Tick (or untick) one checklist item of a step; returns whether anything changed."""
    with transaction(app.engine) as session:
        actor = _known(app, session, actor)
        incident = get_incident(session, incident_id, lock=True)
        task = _get_task(session, incident, ref)
        if not may_work_on_task(app, session, incident, task, actor):
            raise TransitionRefused(f"{actor} may not tick the checklist of {task.ref} on {incident.public_id}")
        if task.status in taskrules.CLOSED:
            raise TransitionRefused(f"{task.ref} is already {task.status}")
        count = _checklist_length(app, incident, task.ref)
        if not 0 <= item < count:
            raise InputError(f"item: {item} is not an item of the checklist of {task.ref} (0–{count - 1})")
        row = session.execute(
            select(ChecklistTick).where(
                ChecklistTick.incident_id == incident.id, ChecklistTick.task_ref == task.ref, ChecklistTick.item == item
            )
        ).scalar_one_or_none()
        if (row.checked if row else False) == checked:
            return False
        if row is None:
            row = ChecklistTick(
                incident_id=saved_id(incident), task_ref=task.ref, item=item, checked=checked, by=actor, at=now
            )
        row.checked, row.by, row.at = checked, actor, now
        session.add(row)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="checklist.ticked" if checked else "checklist.unticked",
            incident=incident.public_id,
            data={"ref": task.ref, "item": item},
        )
        return True


def _checklist_length(app: App, incident: Incident, ref: str) -> int:
    playbook = app.playbooks.get(incident.category)
    if playbook is None:
        return 0
    try:
        return len(playbook.step(ref).checklist)
    except NotFound:
        return 0


def ticks(app: App, *, incident_id: str) -> dict[str, set[int]]:
    """Ticked items per step ref."""
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        out: dict[str, set[int]] = {}
        for row in session.execute(
            select(ChecklistTick).where(ChecklistTick.incident_id == incident.id, ChecklistTick.checked.is_(True))
        ).scalars():
            out.setdefault(row.task_ref, set()).add(row.item)
        return out


def post_update(app: App, *, incident_id: str, text: str, actor: str, now: datetime) -> int:
    """A free-text status update (encrypted), audited as ``incident.update_posted``."""
    text = (text or "").strip()
    if not text:
        raise InputError("text: write the update")
    if len(text) > MAX_UPDATE:
        raise InputError(f"text: too long ({len(text)} characters; at most {MAX_UPDATE})")
    with transaction(app.engine) as session:
        actor = _known(app, session, actor)
        incident = get_incident(session, incident_id, lock=True)
        row = IncidentUpdate(incident_id=saved_id(incident), text_enc=b"", by=actor, at=now)
        session.add(row)
        session.flush()  # the id binds the ciphertext to its row
        row.text_enc = app.keyring.encrypt(text, field="incident_update.text", bind=row.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="incident.update_posted",
            incident=incident.public_id,
            data={"update": row.id, "chars": len(text)},
        )
        return saved_id(row)


def updates(app: App, *, incident_id: str) -> list[dict]:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        rows = session.execute(
            select(IncidentUpdate).where(IncidentUpdate.incident_id == incident.id).order_by(IncidentUpdate.id)
        ).scalars()
        return [
            {
                "id": r.id,
                "by": r.by,
                "at": r.at,
                "text": app.keyring.decrypt(r.text_enc, field="incident_update.text", bind=r.id),
            }
            for r in rows
        ]


def _clean_name(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    return (name or "evidence")[:MAX_NAME]


def add_evidence(
    app: App,
    *,
    incident_id: str,
    name: str,
    content_type: str,
    data: bytes,
    actor: str,
    now: datetime,
    ref: str | None = None,
) -> int:
    """Store an evidence file, name and contents encrypted; audited with its size and SHA-256."""
    if not data:
        raise InputError("file: the file is empty")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise InputError(f"file: too large ({len(data):,} bytes; at most {MAX_EVIDENCE_BYTES:,})")
    name = _clean_name(name)
    ctype = (content_type or "application/octet-stream").split(";")[0].strip()[:100] or "application/octet-stream"
    with transaction(app.engine) as session:
        actor = _known(app, session, actor)
        incident = get_incident(session, incident_id, lock=True)
        if ref:
            _get_task(session, incident, ref)
        row = EvidenceFile(
            incident_id=saved_id(incident),
            task_ref=ref or None,
            content_type=ctype,
            size=len(data),
            by=actor,
            at=now,
            name_enc=b"",
            content_enc=b"",
        )
        session.add(row)
        session.flush()  # the id binds the ciphertexts to their row
        row.name_enc = app.keyring.encrypt(name, field="evidence_file.name", bind=row.id)
        row.content_enc = app.keyring.encrypt(
            base64.b64encode(data).decode("ascii"), field="evidence_file.content", bind=row.id
        )
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="evidence.added",
            incident=incident.public_id,
            data={
                "evidence": row.id,
                "ref": ref or None,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        return saved_id(row)


def evidence_list(app: App, *, incident_id: str) -> list[dict]:
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        rows = session.execute(
            select(EvidenceFile).where(EvidenceFile.incident_id == incident.id).order_by(EvidenceFile.id)
        ).scalars()
        return [
            {
                "id": r.id,
                "ref": r.task_ref,
                "size": r.size,
                "content_type": r.content_type,
                "by": r.by,
                "at": r.at,
                "name": app.keyring.decrypt(r.name_enc, field="evidence_file.name", bind=r.id),
            }
            for r in rows
        ]


def read_evidence(app: App, *, incident_id: str, evidence_id: int, actor: str, now: datetime) -> tuple[str, str, bytes]:
    """(name, content type, bytes) of one evidence file; the download is audited."""
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id)
        row = session.execute(
            select(EvidenceFile).where(EvidenceFile.incident_id == incident.id, EvidenceFile.id == evidence_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"{incident.public_id} has no evidence file {evidence_id}")
        data = base64.b64decode(app.keyring.decrypt(row.content_enc, field="evidence_file.content", bind=row.id))
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor.strip().lower(),
            action="evidence.downloaded",
            incident=incident.public_id,
            data={"evidence": row.id, "size": row.size},
        )
        return app.keyring.decrypt(row.name_enc, field="evidence_file.name", bind=row.id), row.content_type, data
