"""Concurrent sweepers and dispatchers on PostgreSQL: each reminder, escalation and delivery once.

Two sweepers (threads, each with its own connections from the pool) run over the same due set
at the same ``now``. They claim stage rows with ``FOR UPDATE SKIP LOCKED``, so they split the
work instead of repeating it: every reminder is queued once (one outbox row per idempotency
key) and recorded once in the audit log, and the audit chain still verifies.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hokoku.models.audit import AuditEvent
from hokoku.models.notification import Notification
from hokoku.notifiers.base import DeliveryResult
from hokoku.security import audit
from hokoku.services.dispatch import dispatch
from hokoku.services.sweep import sweep
from hokoku.store.db import transaction
from tests.helpers import T0, minutes, report

pytestmark = pytest.mark.postgres

INCIDENTS = 40


def _run_concurrently(fns):
    """Start the callables together (a barrier); return their results; re-raise any error."""
    barrier = threading.Barrier(len(fns))
    results, errors = [None] * len(fns), []

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    return results


def _incidents(app, n=INCIDENTS):
    return [report(app, now=T0 + timedelta(seconds=i)).public_id for i in range(n)]


def _audit_counts(app, action):
    with transaction(app.engine) as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
        return Counter(
            (e.incident_public_id, e.data.get("stage"), e.data.get("number", e.data.get("level"))) for e in rows
        )


def test_two_sweepers_send_each_reminder_and_escalation_once(pg_app):
    """Two concurrent sweepers over 40 due stages: 40 reminders, then 40 escalations, each once."""
    app = pg_app
    ids = _incidents(app)
    for at, action, kind in [
        (T0 + minutes(16), "stage.reminder", "reminder"),
        (T0 + minutes(31), "stage.escalation", "escalation"),
    ]:
        a, b = _run_concurrently([lambda at=at: sweep(app, now=at, batch_size=4)] * 2)
        mine = [(e.incident, e.stage) for e in a if e.kind == kind]
        theirs = [(e.incident, e.stage) for e in b if e.kind == kind]
        assert not set(mine) & set(theirs), "both sweepers acted on the same stage"
        assert sorted(mine + theirs) == sorted((i, "acknowledge") for i in ids)
        assert mine and theirs, f"the sweepers did not overlap ({len(mine)}/{len(theirs)})"
        counts = _audit_counts(app, action)
        assert len(counts) == INCIDENTS and set(counts.values()) == {1}
        with transaction(app.engine) as session:
            keys = session.execute(
                select(Notification.idempotency_key, func.count())
                .where(Notification.kind == kind)
                .group_by(Notification.idempotency_key)
            ).all()
        assert keys and all(n == 1 for _k, n in keys)
        assert {k.split(":")[0] for k, _ in keys} == set(ids)
    with transaction(app.engine) as session:
        assert audit.verify(session, app.keyring.public_keys()).ok


class _Recorder:
    channel = "outbox"

    def __init__(self):
        self.keys: list[str] = []
        self.lock = threading.Lock()

    def send(self, message):
        with self.lock:
            self.keys.append(message.idempotency_key)
        return DeliveryResult(provider_id=f"rec:{message.idempotency_key}")


def test_two_dispatchers_deliver_each_message_once(pg_app):
    """Two concurrent dispatchers over the same pending outbox: every row delivered exactly once."""
    app = pg_app
    _incidents(app, 20)
    sweep(app, now=T0 + minutes(16))
    with transaction(app.engine) as session:
        pending = session.execute(
            select(func.count()).select_from(Notification).where(Notification.status == "pending")
        ).scalar_one()
    rec = _Recorder()
    now = T0 + minutes(17)
    a, b = _run_concurrently([lambda: dispatch(app, now=now, notifiers={"outbox": rec}, limit=7)] * 2)
    # a dispatcher delivers up to `limit` per call; keep both going until the outbox is drained
    while True:
        more = _run_concurrently([lambda: dispatch(app, now=now, notifiers={"outbox": rec}, limit=7)] * 2)
        if not any(more):
            break
    counts = Counter(rec.keys)
    assert len(counts) == pending and set(counts.values()) == {1}
    with transaction(app.engine) as session:
        statuses = Counter(session.execute(select(Notification.status)).scalars())
    assert statuses == {"sent": pending}


def test_concurrent_first_reports_of_a_year_get_distinct_ids(pg_app):
    """Eight reports filed at once as the year's first (no counter row yet): all succeed, ids 0001–0008.

    (Found by the burst benchmark: the counter was bumped with UPDATE-then-INSERT, and two first
    reports on PostgreSQL both inserted the year's row; now it is one upsert.)
    """
    results = _run_concurrently([lambda i=i: report(pg_app, now=T0 + timedelta(seconds=i)).public_id for i in range(8)])
    assert sorted(results) == [f"INC-2027-{n:04d}" for n in range(1, 9)]
