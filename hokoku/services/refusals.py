"""Audit rows for refusals nobody is signed in for, without letting a stranger flood the log.

A refused Slack request, a forged or malformed acknowledgement link, a sign-in guess at an
unknown name or a throttled sign-in writes at most **one audit event per source per minute**
(the source is the kind of refusal and the client address). Further refusals from that source
in the same minute are counted in ``web_refusal_tally``; the source's next audited refusal
carries ``suppressed`` — how many were counted but not audited since the last one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from hokoku.models.web import RefusalTally
from hokoku.security import audit
from hokoku.store.db import transaction

#: Tally rows older than this that have nothing left to report are deleted.
KEEP = timedelta(days=1)


def _window(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def audit_refusal(
    app,
    session: Session,
    *,
    source: str,
    actor: str,
    action: str,
    now: datetime,
    data: dict | None = None,
    incident: str | None = None,
) -> bool:
    """Count a refusal from ``source``; append an audit event if it is the first this minute.

    Runs inside the caller's transaction; returns whether an audit event was written.
    """
    source = source[:128]
    window = _window(now)
    row = session.get(RefusalTally, (source, window))
    if row is not None:
        row.count += 1
        session.add(row)
        return False
    try:
        with session.begin_nested():  # a concurrent worker may insert the same row: then just count
            session.add(RefusalTally(source=source, window_start=window, count=1))
    except IntegrityError:
        row = session.get(RefusalTally, (source, window))
        if row is not None:
            row.count += 1
            session.add(row)
        return False
    earlier = (
        session.execute(
            select(RefusalTally).where(
                RefusalTally.source == source, RefusalTally.window_start < window, RefusalTally.count > 1
            )
        )
        .scalars()
        .all()
    )
    suppressed = 0
    for old in earlier:
        if old.count > 1:
            suppressed += old.count - 1
            old.count = 1  # reported now
            session.add(old)
    session.execute(delete(RefusalTally).where(RefusalTally.window_start < now - KEEP, RefusalTally.count <= 1))
    payload = dict(data or {})
    payload["source"] = source
    if suppressed:
        payload["suppressed"] = suppressed
    audit.append(
        session,
        app.keyring,
        at=now,
        actor=actor[:320],
        action=action,
        incident=incident[:32] if incident else None,
        data=payload,
    )
    return True


def record_refusal(
    app, *, source: str, actor: str, action: str, now: datetime, data: dict | None = None, incident: str | None = None
) -> bool:
    """:func:`audit_refusal` in a transaction of its own."""
    with transaction(app.engine) as session:
        return audit_refusal(
            app, session, source=source, actor=actor, action=action, now=now, data=data, incident=incident
        )


def suppressed_now(app, *, source: str, now: datetime) -> int:
    """Refusals from ``source`` counted but not (yet) audited in the current minute (for tests, look-ups)."""
    with transaction(app.engine) as session:
        row = session.get(RefusalTally, (source[:128], _window(now)))
        return max(0, row.count - 1) if row is not None else 0
