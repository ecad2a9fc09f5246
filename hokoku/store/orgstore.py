"""Writing the organisation file into the database and reading it back."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from hokoku.config.org import Organisation, organisation_from_document
from hokoku.core.exceptions import NotInitialised
from hokoku.models.org import Division, Institute, OrgSnapshot, Person, RoleAssignment


def store_organisation(session: Session, org: Organisation, *, source: str, now: datetime) -> OrgSnapshot:
    """Replace the organisation tables with ``org`` and keep a snapshot of the document."""
    document = org.model_dump(mode="json")
    text = json.dumps(document, sort_keys=True, ensure_ascii=False)
    snap = OrgSnapshot(loaded_at=now, source=source, sha256=hashlib.sha256(text.encode()).hexdigest(), document=text)
    session.add(snap)

    for inst in org.institutes:
        session.merge(Institute(code=inst.code, name_ja=inst.name.ja, name_en=inst.name.en))
    session.flush()
    for inst in org.institutes:
        for div in inst.divisions:
            session.merge(Division(code=div.code, institute_code=inst.code, name_ja=div.name.ja, name_en=div.name.en))

    people = org.people()
    existing = {p.email: p for p in session.execute(select(Person)).scalars()}
    for email, spec in people.items():
        row = existing.get(email) or Person(email=email, name=spec.name)
        row.name, row.slack_id, row.active = spec.name, spec.slack_id, True
        session.add(row)
    for email, row in existing.items():
        if email not in people:
            row.active = False
            session.add(row)
    session.flush()

    ids = {p.email: p.id for p in session.execute(select(Person)).scalars()}
    for ra in session.execute(select(RoleAssignment)).scalars():
        session.delete(ra)
    session.flush()
    seen = set()
    for person, role, scope, deputy in org.assignments():
        key = (ids[person.email], role.value, scope, deputy)
        if key not in seen:
            seen.add(key)
            session.add(RoleAssignment(person_id=key[0], role=key[1], scope=scope, is_deputy=deputy))
    session.flush()
    return snap


def current_organisation(session: Session) -> tuple[int, Organisation]:
    snap = session.execute(select(OrgSnapshot).order_by(OrgSnapshot.id.desc()).limit(1)).scalar_one_or_none()
    if snap is None:
        raise NotInitialised("no organisation loaded: run `hokoku init --demo` or `hokoku init --org FILE`")
    return snap.id, organisation_from_document(json.loads(snap.document))
