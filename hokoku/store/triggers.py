"""The ``flow_trigger`` row written beside each stage-transition audit event, in its transaction.

:mod:`hokoku.services.flowtriggers` turns the rows into runs of the stage's flow. Rows are written
when a Prefect server is configured (``PREFECT_API_URL`` in the environment) or
``HOKOKU_FLOW_TRIGGERS=1``; ``HOKOKU_FLOW_TRIGGERS=0`` turns them off.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from sqlmodel import Session

from hokoku.clock import utcnow
from hokoku.models.flowtrigger import FlowTrigger

KINDS = {
    "stage.started": "started",
    "stage.acknowledged": "acknowledged",
    "stage.done": "done",
    "stage.skipped": "skipped",
}
#: what a flow run performing a transition already is (no second run for it)
_PERFORMING: ContextVar[tuple[str, str] | None] = ContextVar("hokoku_performing", default=None)


def enabled() -> bool:
    flag = os.environ.get("HOKOKU_FLOW_TRIGGERS", "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    return flag in ("1", "true", "yes", "on") or bool(os.environ.get("PREFECT_API_URL"))


@contextmanager
def performing(incident: str, stage: str):
    """Inside a stage flow run that performs this stage's transition: that transition is this run."""
    token = _PERFORMING.set((incident, stage))
    try:
        yield
    finally:
        _PERFORMING.reset(token)


def note(session: Session, *, action: str, incident: str | None, data: dict | None, at: datetime) -> None:
    """Write the trigger row for an audit event that is a stage transition (same transaction)."""
    kind = KINDS.get(action)
    if kind is None or not incident or not data or not data.get("stage") or not enabled():
        return
    performing_now = _PERFORMING.get()
    if performing_now == (incident, data["stage"]) and kind != "started":
        return
    session.add(
        FlowTrigger(
            incident=incident,
            stage=str(data["stage"]),
            kind=kind,
            channel=(str(data["channel"])[:16] if data.get("channel") else None),
            at=at,
            created_at=utcnow(),
        )
    )
