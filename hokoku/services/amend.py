"""Correcting a recorded fact after intake: the awareness time.

Every statutory clock runs from the time the organisation became aware; when that time turns
out to be wrong, the protection manager or the general manager (or their deputies) corrects it
with a reason. The correction is kept (old value, new value, who, when, why — the reason
encrypted), audited, and every running due time that counts from awareness moves with it.
"""

from __future__ import annotations

from datetime import datetime

from hokoku.app import App
from hokoku.core.exceptions import InputError, NotFound, TransitionRefused
from hokoku.core.statutory import check_countable
from hokoku.core.timeutil import as_utc, iso
from hokoku.models.incident import Incident, IncidentAmendment
from hokoku.security import audit
from hokoku.services.incidents import get_incident
from hokoku.services.notifications import MessageContext
from hokoku.services.stagerows import load_stages, recompute_dues
from hokoku.store.db import saved_id, transaction

MAX_REASON = 2_000


def may_amend(app: App, session, incident: Incident, actor: str) -> bool:
    """The division's protection manager or the general manager, or either's deputy."""
    org = app.organisation(session)
    pm, gm = org.division(incident.division_code).protection_manager, org.general_manager
    allowed = {pm.email, gm.email} | {h.deputy.email for h in (pm, gm) if h.deputy}
    return actor in allowed


def amend_awareness(app: App, *, incident_id: str, aware_at: datetime, reason: str, actor: str, now: datetime) -> dict:
    """Correct the awareness time; the clocks that count from it move (audited, owners told)."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("--reason: say why the awareness time is corrected")
    if len(reason) > MAX_REASON:
        raise InputError(f"--reason: too long ({len(reason)} characters; at most {MAX_REASON})")
    check_countable(aware_at, "--aware-at")
    if aware_at > now:
        raise InputError("--aware-at: the corrected awareness time is in the future")
    with transaction(app.engine) as session:
        incident = get_incident(session, incident_id, lock=True)
        actor = actor.strip().lower()
        if actor not in app.organisation(session).people():
            raise NotFound(f"unknown person {actor!r}: not in the organisation file")
        if not may_amend(app, session, incident, actor):
            raise TransitionRefused(
                f"{actor} may not correct {incident.public_id}: only the division's protection manager or the "
                "general manager (or their deputies) may"
            )
        if as_utc(aware_at) > as_utc(incident.reported_at):
            raise InputError(
                "--aware-at: the organisation was aware at the latest when the report was filed "
                f"({iso(incident.reported_at)})"
            )
        old = incident.aware_at
        if as_utc(old) == as_utc(aware_at):
            raise InputError(f"--aware-at: {incident.public_id} already has that awareness time")
        incident.aware_at = aware_at
        session.add(incident)
        amendment = IncidentAmendment(
            incident_id=saved_id(incident),
            field="aware_at",
            old_value=iso(old),
            new_value=iso(aware_at),
            by=actor,
            at=now,
            reason_enc=b"",
        )
        session.add(amendment)
        session.flush()  # the ciphertext is bound to the row id
        amendment.reason_enc = app.keyring.encrypt(reason, field="amendment.reason", bind=amendment.id)
        audit.append(
            session,
            app.keyring,
            at=now,
            actor=actor,
            action="incident.amended",
            incident=incident.public_id,
            data={"field": "aware_at", "old": iso(old), "new": iso(aware_at)},
        )
        session.flush()
        moved = recompute_dues(
            app,
            session,
            incident,
            load_stages(session, incident, lock=True),
            now=now,
            actor=actor,
            ctx=MessageContext.for_incident(app, session, incident),
            cause="amend",
        )
        return {"incident": incident.public_id, "aware_at": iso(aware_at), "previous": iso(old), "moved": moved}
