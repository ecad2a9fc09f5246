"""The stored canonical JSON (revision 0009): ``audit verify`` hashes the stored bytes and checks
every column against them in the database, so an edit to any one column, or to the stored
bytes, is still named at its seq; events from before 0009 (no stored bytes) still verify.
Run on SQLite and, with HOKOKU_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from hokoku.models.audit import AuditEvent
from hokoku.security import audit
from hokoku.store.db import transaction
from tests import pgscratch  # (reads HOKOKU_TEST_DATABASE_URL before the fixtures clear it)
from tests.helpers import T0, report


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, hokoku_home):
    """A demo App on SQLite or on the PostgreSQL scratch database, with one report filed."""
    if request.param == "postgresql":
        request.getfixturevalue("pg_home")
    from hokoku.app import open_app
    from hokoku.services.setup import init

    init(open_app(), org_file=None, demo=True, now=T0)
    app = open_app()
    report(app)
    return app


def verify(app, batch: int = 10000):
    with transaction(app.engine) as session:
        return audit.verify(session, app.keyring.public_keys(), batch=batch)


def edit(app, seq: int, **values) -> None:
    """Change columns of one event behind hokoku's back (typed by the model, as an ORM user would)."""
    with app.engine.begin() as conn:
        conn.execute(update(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == seq).values(**values))


def test_new_events_store_the_bytes_their_hash_covers(app):
    """Every new event stores its canonical JSON; the hash is SHA-256 over prev_hash and those bytes."""
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT prev_hash, hash, canonical FROM audit_event ORDER BY seq")).all()
    assert rows and all(r.canonical for r in rows)
    assert all(audit.chain_hash(r.prev_hash, r.canonical.encode()) == r.hash for r in rows)
    assert verify(app).ok


@pytest.mark.parametrize(
    "column,value",
    [
        ("actor", "someone-else@example.org"),
        ("action", "stage.done"),
        ("incident_public_id", "INC-1999-0001"),
        ("incident_public_id", None),
        ("data", {"stage": "acknowledge", "extra": 1}),
        ("data", {}),
        ("at", T0 + timedelta(seconds=1)),
        ("recorded_at", None),
        ("recorded_at", T0 - timedelta(days=3)),
    ],
)
@pytest.mark.parametrize("batch", [10000, 2])
def test_editing_any_column_is_named_at_its_seq(app, column, value, batch):
    """The columns are checked against the stored bytes: editing one fails at that event, also
    when it lies in a batch checked as a whole (batch 2: seqs 3-4 hold no key event)."""
    assert verify(app, batch).ok
    edit(app, 3, **{column: value})
    result = verify(app, batch)
    assert (result.ok, result.bad_seq, result.reason) == (False, 3, "content does not match its hash (edited)")


@pytest.mark.parametrize("batch", [10000, 2])
@pytest.mark.parametrize(
    "sql,bad_seq,reason",
    [
        ("UPDATE audit_event SET prev_hash = :z WHERE seq = 4", 4, "prev_hash does not match the previous event"),
        ("UPDATE audit_event SET hash = :z WHERE seq = 4", 4, "content does not match its hash (edited)"),
        (
            "UPDATE audit_event SET key_id = 'deadbeef' WHERE seq = 4",
            4,
            "signed by key deadbeef, which is not among the trusted public keys",
        ),
        ("DELETE FROM audit_event WHERE seq = 4", 5, "event seq 4 is missing (deleted?)"),
    ],
)
def test_chain_faults_in_a_batch_checked_as_a_whole_are_named(app, batch, sql, bad_seq, reason):
    """Broken links, edited hashes, a foreign key id and a gap are named at their seq, also in a
    batch checked as a whole."""
    with app.engine.begin() as conn:
        conn.execute(text(sql), {"z": "0" * 64})
    result = verify(app, batch)
    assert (result.ok, result.bad_seq, result.reason) == (False, bad_seq, reason)


def test_editing_the_stored_bytes_is_named_at_its_seq(app):
    """Changing the stored canonical JSON breaks its hash."""
    with app.engine.connect() as conn:
        canon = conn.execute(text("SELECT canonical FROM audit_event WHERE seq = 3")).scalar_one()
    edit(app, 3, canonical=canon.replace('"actor":"', '"actor":"x'))
    result = verify(app)
    assert (result.ok, result.bad_seq, result.reason) == (False, 3, "content does not match its hash (edited)")


def test_a_column_the_database_cannot_parse_is_still_named(app):
    """A data column edited into text that is not JSON: verify still names the event, not an error
    (SQLite only: PostgreSQL's json type refuses such text)."""
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's json column refuses text that is not JSON")
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET data = '{\"stage\": ' WHERE seq = 3"))
    result = verify(app)
    assert (result.ok, result.bad_seq) == (False, 3) and "edited" in result.reason


def test_non_ascii_and_escaped_data_verifies(app):
    """Data with Japanese text, quotes, newlines and nested keys in any order verifies."""
    with transaction(app.engine) as session:
        audit.append(
            session,
            app.keyring,
            at=T0 + timedelta(minutes=1),
            actor="hokoku",
            action="bench.note",
            data={"z": ["情報", 'a"b\\c\nd'], "a": {"y": 1, "b": 2.5, "k": None}},
        )
    result = verify(app)
    assert result.ok, result.message()
    edit(app, result.events, data={"z": ["情報", 'a"b\\c\nd'], "a": {"y": 1, "b": 2.5, "k": False}})
    assert (verify(app).ok, verify(app).bad_seq) == (False, result.events)


def test_events_from_before_the_stored_bytes_still_verify(app):
    """Events without stored bytes (before revision 0009) are rebuilt from their columns, and a
    chain mixing both verifies; editing an old event is still named."""
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET canonical = NULL WHERE seq <= 3"))
    assert verify(app).ok
    report(app)  # new events after the old ones
    assert verify(app).ok
    edit(app, 2, actor="x")
    result = verify(app)
    assert (result.ok, result.bad_seq, result.reason) == (False, 2, "content does not match its hash (edited)")
