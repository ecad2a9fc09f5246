"""Outbox leases, in process: claim ids fence the sender, leases run on the database's clock and
are kept alive while a message is in flight; the self-check and ``tick`` around them.

On SQLite and (with ``HOKOKU_TEST_DATABASE_URL``) PostgreSQL. The multi-process attacks are in
``tests/test_two_workers.py``.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hokoku.models.notification import Notification
from hokoku.notifiers.base import DeliveryResult
from hokoku.services import dispatch as dispatch_service
from hokoku.services.dispatch import claim, deliver_one, dispatch
from hokoku.store.db import transaction
from hokoku.store.locking import db_now
from tests import pgscratch
from tests.helpers import T0, report, short_lease, wait_for_leases


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request):
    return request.getfixturevalue("demo_app" if request.param == "sqlite" else "pg_app")


class Recorder:
    channel = "outbox"

    def __init__(self, during=None):
        self.keys: list[str] = []
        self.during = during

    def send(self, message):
        if self.during:
            self.during(message)
        self.keys.append(message.idempotency_key)
        return DeliveryResult(provider_id=f"rec:{len(self.keys)}")


def _row(app, nid) -> Notification:
    with transaction(app.engine) as session:
        return session.get(Notification, nid)


def _expire(app, nid) -> None:
    """The lease of ``nid`` ends now (as if its owner had been paused for longer than the lease)."""
    with transaction(app.engine) as session:
        past = db_now(session) - timedelta(seconds=1)
        session.execute(update(Notification).where(Notification.id == nid).values(lease_until=past))


def test_a_claim_whose_lease_ran_out_and_was_taken_over_is_not_sent_by_its_old_owner(app):
    """Claim A's lease runs out, claim B takes the row: A's sender checks its claim id before
    sending and skips the row; B sends it once."""
    short_lease(app, 0.3)
    report(app)
    a = claim(app, now=T0, limit=1)
    wait_for_leases(app)
    b = claim(app, now=T0, limit=1)
    assert a.ids == b.ids and a.claim_id != b.claim_id
    old, new = Recorder(), Recorder()
    rng = random.Random(0)
    assert (
        deliver_one(app, a.ids[0], now=T0, notifiers={"outbox": old}, rng=rng, claim_id=a.claim_id).outcome
        == "superseded"
    )
    assert old.keys == []
    assert deliver_one(app, b.ids[0], now=T0, notifiers={"outbox": new}, rng=rng, claim_id=b.claim_id).outcome == "sent"
    row = _row(app, a.ids[0])
    assert (row.status, row.attempts, row.provider_id) == ("sent", 1, "rec:1") and len(new.keys) == 1


def test_an_owner_paused_past_its_lease_does_not_record_over_the_new_owner(app):
    """A's send stalls past its lease (its keeper did not run); B takes over, sends and records. When
    A's call returns, A finds its claim gone and records nothing: the row keeps B's result."""
    report(app)
    a = claim(app, now=T0, limit=1)
    nid = a.ids[0]
    taken: dict = {}

    def paused(_message):
        _expire(app, nid)
        b = claim(app, now=T0, limit=1)
        taken["b"] = deliver_one(
            app, nid, now=T0, notifiers={"outbox": Recorder()}, rng=random.Random(1), claim_id=b.claim_id
        )

    event = deliver_one(
        app, nid, now=T0, notifiers={"outbox": Recorder(during=paused)}, rng=random.Random(0), claim_id=a.claim_id
    )
    assert event.outcome == "superseded" and taken["b"].outcome == "sent"
    row = _row(app, nid)
    assert (row.status, row.provider_id, row.claim_id) == ("sent", "rec:1", None)
    assert row.attempts == 2  # two provider calls were made


def test_a_simulated_now_far_ahead_cannot_end_a_live_lease(app):
    """Leases run on the database's clock: a dispatcher whose `now` is a week ahead finds nothing to
    take from a live claim, whatever its clock says."""
    report(app)
    held = claim(app, now=T0, limit=50)
    assert held.ids
    assert dispatch(app, now=T0 + timedelta(days=7), notifiers={"outbox": Recorder()}) == []
    with transaction(app.engine) as session:
        rows = list(session.execute(select(Notification)).scalars())
    assert {(r.status, r.claim_id) for r in rows} == {("sending", held.claim_id)}
    assert all(r.lease_until > db_now(session) for r in rows)


def test_a_send_that_takes_longer_than_the_lease_keeps_its_lease(app):
    """The lease is 0.6 s and the provider takes 2 s: the keeper renews the lease of the message in
    flight, so it is still live (and nobody can take it) when the call returns."""
    short_lease(app, 0.6)
    report(app)
    seen: list[bool] = []

    def slow(message):
        for _ in range(4):
            time.sleep(0.5)
            with transaction(app.engine) as session:
                row = session.execute(
                    select(Notification).where(Notification.idempotency_key == message.idempotency_key)
                ).scalar_one()
                seen.append(row.lease_until > db_now(session))
            assert claim(app, now=T0, ids=[row.id]).ids == []  # nobody can take the row in flight

    events = dispatch(app, now=T0, notifiers={"outbox": Recorder(during=slow)}, limit=1)
    assert [e.outcome for e in events] == ["sent"]
    assert seen and all(seen)


def test_attempts_are_counted_at_the_send_not_at_the_claim(app):
    """Claimed rows have attempts 0; each becomes 1 as it is handed to the provider."""
    report(app)
    batch = claim(app, now=T0, limit=50)
    assert {_row(app, nid).attempts for nid in batch.ids} == {0}
    counts = []
    for nid in batch.ids:
        deliver_one(
            app,
            nid,
            now=T0,
            rng=random.Random(0),
            claim_id=batch.claim_id,
            notifiers={"outbox": Recorder(during=lambda m, nid=nid: counts.append(_row(app, nid).attempts))},
        )
    assert counts == [1] * len(batch.ids)


def test_dispatch_claims_small_batches(app, monkeypatch):
    """With 2 rows per claim, 4+ due rows are claimed in several claims (each sent well within
    its lease), and all are delivered in the one call."""
    monkeypatch.setattr(dispatch_service, "CLAIM_BATCH", 2)
    claims: list[int] = []
    real = dispatch_service.claim

    def spy(*a, **kw):
        out = real(*a, **kw)
        claims.append(len(out.ids))
        return out

    monkeypatch.setattr(dispatch_service, "claim", spy)
    report(app)
    report(app, now=T0 + timedelta(seconds=1))
    rec = Recorder()
    events = dispatch(app, now=T0 + timedelta(minutes=1), notifiers={"outbox": rec})
    assert len(events) >= 4 and {e.outcome for e in events} == {"sent"}
    assert max(claims) <= 2 and len([c for c in claims if c]) >= 2


def test_the_self_check_counts_a_lapsed_lease_as_late_and_a_live_one_not(app):
    """A `sending` row whose lease (database clock) ran out is late work for the self-check; one
    whose owner is alive is not."""
    from hokoku.services.selfcheck import late_items

    short_lease(app, 0.3)
    report(app)
    claim(app, now=T0, limit=50)
    later = T0 + timedelta(hours=1)
    with transaction(app.engine) as session:
        assert late_items(session, before=later)["notification"][0] == 0
    wait_for_leases(app)
    with transaction(app.engine) as session:
        count, _oldest = late_items(session, before=later)["notification"]
    assert count >= 2


def test_tick_dispatches_even_when_its_sweep_dies(demo_app, monkeypatch):
    """A sweep that raises does not stop the tick's dispatch (the stall alert among what it delivers);
    the sweep's error is still raised."""
    from hokoku.engine import runner
    from hokoku.services import sweep as sweep_service

    report(demo_app)

    def dying(*_a, **_kw):
        raise RuntimeError("sweep died")

    monkeypatch.setattr(sweep_service, "sweep", dying)
    with pytest.raises(RuntimeError, match="sweep died"):
        runner.DirectRunner(demo_app).tick(now=T0)
    with transaction(demo_app.engine) as session:
        assert {r.status for r in session.execute(select(Notification)).scalars()} == {"sent"}


def test_the_stall_alert_is_queued_even_when_every_sweep_batch_dies(demo_app, monkeypatch):
    """The self-check commits on its own before the first sweep batch: with every batch dying, the
    stalled engine's alert to the general manager is still queued (and a tick delivers it)."""
    from hokoku.services import sweep as sweep_service

    report(demo_app)

    def dying(*_a, **_kw):
        raise RuntimeError("killed mid-batch")

    monkeypatch.setattr(sweep_service, "_sweep_batch", dying)
    with pytest.raises(RuntimeError):
        sweep_service.sweep(demo_app, now=T0 + timedelta(minutes=45), selfcheck=True)
    with transaction(demo_app.engine) as session:
        alerts = list(session.execute(select(Notification).where(Notification.kind == "stall_alert")).scalars())
    assert alerts and {a.status for a in alerts} == {"pending"}
    events = dispatch(demo_app, now=T0 + timedelta(minutes=45), notifiers={"outbox": Recorder()})
    assert any(e.key == alerts[0].idempotency_key and e.outcome == "sent" for e in events)
