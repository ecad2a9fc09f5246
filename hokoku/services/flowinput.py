"""Flow inputs: what a person typed for a flow run, kept encrypted in hokoku's own database.

Prefect stores a flow run's parameters, task inputs, state messages, logs and events in its own
database and serves them from its API. So the entry point (the CLI's runner) never passes report
text, notes, names or email addresses to a flow: it :func:`stash`\\ es them here and passes the
random id. The flow :func:`load`\\ s them inside hokoku, does the work through the services and
:func:`finish`\\ es the row with its full outcome — or the refusal, class and message — encrypted
too; Prefect sees only ids, stage codes and counts. The entry point then :func:`collect`\\ s the
outcome (deleting the row) and shows it, or raises the refusal exactly as the service raised it.

Rows an entry point left behind (it died while the flow ran) are deleted after :data:`TTL`.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete

from hokoku.app import App
from hokoku.clock import utcnow
from hokoku.core import exceptions
from hokoku.core.exceptions import HokokuError, NotFound
from hokoku.models.flowinput import FlowInput
from hokoku.store.db import transaction

#: Unfinished or uncollected rows older than this (by the real clock) are purged.
TTL = timedelta(days=1)


def _field(column: str) -> str:
    return f"flow_input.{column}"  # with bind=handle: the ciphertext is bound to its row


def _dumps(value: dict) -> str:
    def default(obj):
        if isinstance(obj, datetime):
            return {"$datetime": obj.isoformat()}
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    return json.dumps(value, default=default, ensure_ascii=False)


def _loads(text: str) -> dict:
    def hook(obj: dict):
        if set(obj) == {"$datetime"}:
            return datetime.fromisoformat(obj["$datetime"])
        return obj

    return json.loads(text, object_hook=hook)


def stash(app: App, *, kind: str, payload: dict) -> str:
    """Keep ``payload`` (encrypted) for one flow run; returns the opaque id to pass to the flow."""
    handle = "in-" + secrets.token_hex(16)
    now = utcnow()
    with transaction(app.engine) as session:
        session.execute(delete(FlowInput).where(FlowInput.created_at < now - TTL))
        session.add(
            FlowInput(
                id=handle,
                kind=kind,
                created_at=now,
                payload_enc=app.keyring.encrypt(_dumps(payload), field=_field("payload"), bind=handle),
            )
        )
    return handle


def load(app: App, handle: str, *, kind: str) -> dict:
    """The payload stashed under ``handle`` (for a flow of ``kind``)."""
    with transaction(app.engine) as session:
        row = session.get(FlowInput, handle)
        if row is None or row.kind != kind or row.finished_at is not None:
            raise NotFound(f"no pending {kind} input {handle!r} (expired, already used, or another kind)")
        return _loads(app.keyring.decrypt(row.payload_enc, field=_field("payload"), bind=handle))


def finish(app: App, handle: str, *, outcome: dict | None = None, error: BaseException | None = None) -> None:
    """Record the flow's full outcome, or the exception that refused it (class and message)."""
    record: dict[str, object]
    if error is not None:
        record = {
            "error": {"class": type(error).__name__, "message": str(error), "hokoku": isinstance(error, HokokuError)}
        }
    else:
        record = {"outcome": outcome}
    with transaction(app.engine) as session:
        row = session.get(FlowInput, handle)
        if row is None:
            return
        row.outcome_enc = app.keyring.encrypt(_dumps(record), field=_field("outcome"), bind=handle)
        row.finished_at = utcnow()
        session.add(row)


def collect(app: App, handle: str) -> dict | None:
    """The outcome the flow recorded (the row is deleted); a recorded refusal is raised again,
    as the same hokoku exception class with the same message; None when nothing was recorded."""
    with transaction(app.engine) as session:
        row = session.get(FlowInput, handle)
        if row is None:
            raise NotFound(f"no flow input {handle!r}")
        record = (
            _loads(app.keyring.decrypt(row.outcome_enc, field=_field("outcome"), bind=handle))
            if row.outcome_enc is not None
            else None
        )
        session.delete(row)
    if record is None:
        return None
    if "error" in record:
        raise _rebuilt(record["error"])
    return record["outcome"]


def discard(app: App, handle: str) -> None:
    """Delete the row if it is still there (the flow never ran, or its outcome is not wanted)."""
    with transaction(app.engine) as session:
        row = session.get(FlowInput, handle)
        if row is not None:
            session.delete(row)


def _rebuilt(error: dict) -> Exception:
    if not error.get("hokoku"):
        return RuntimeError(f"the flow failed: {error['class']}: {error['message']}")
    cls = getattr(exceptions, error["class"], None)
    if isinstance(cls, type) and issubclass(cls, HokokuError):
        try:
            return cls(error["message"])
        except Exception:  # an exception class with another signature
            pass
    return HokokuError(error["message"])
