"""An incident row by its public id, and the policy snapshotted onto it."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from hokoku.core.exceptions import NotFound
from hokoku.core.policy import Policy, policy_from_snapshot
from hokoku.models.incident import Incident
from hokoku.store.locking import for_update


def get_incident(session: Session, public_id: str, *, lock: bool = False) -> Incident:
    """The incident ``public_id`` (case and blanks forgiven); :class:`NotFound` when there is none."""
    query = select(Incident).where(Incident.public_id == public_id.strip().upper())
    if lock:
        query = for_update(query)  # FOR NO KEY UPDATE: lock order in hokoku.store.locking
    incident = session.execute(query).scalar_one_or_none()
    if incident is None:
        raise NotFound(key="err.unknown.incident", value=repr(public_id))
    return incident


_policy_cache: dict[str, Policy] = {}


def incident_policy(incident: Incident) -> Policy:
    """The policy snapshotted onto the incident (never the current file)."""
    policy = _policy_cache.get(incident.policy_sha256)
    if policy is None:
        policy = _policy_cache[incident.policy_sha256] = policy_from_snapshot(incident.policy_snapshot)
    return policy
