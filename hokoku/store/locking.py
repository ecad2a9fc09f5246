"""One lock order for every transaction, and the database's clock.

The lock order
--------------
Every transaction that locks rows takes them in this order, and never goes back up:

1. the **incident** row (acknowledge, advance, triage, tasks: ``get_incident(lock=True)``);
2. its **stage** rows, in ``seq`` order (``load_stages(lock=True)``; the sweep; the dispatcher
   before it records a Slack message with buttons, so that it and an acknowledgement see each
   other) — then **task** rows;
3. **outbox** (``notification``) rows: the dispatcher's claim, its ownership check before it
   sends, its record after it sent; new outbox rows are inserted here too;
4. the **audit head**, always last (``audit.append``, which every state change calls just before
   it commits). A transaction holding the audit head waits for nothing else, so it cannot be
   part of a cycle.

Three rules keep the order honest:

* Row locks are ``FOR NO KEY UPDATE`` (:func:`for_update`), never plain ``FOR UPDATE``. Inserting
  a row with a foreign key takes ``FOR KEY SHARE`` on the referenced row; plain ``FOR UPDATE``
  conflicts with that, so a sweep inserting a reminder for an incident would wait for the
  acknowledgement holding the incident — while that acknowledgement waits for the sweep's stage.
  ``FOR NO KEY UPDATE`` does not conflict with ``FOR KEY SHARE`` (we never change keys).
* A lock taken with ``SKIP LOCKED`` (the sweep's and the dispatcher's claims) never waits, so it
  may be taken while holding later locks without creating a cycle.
* An insert whose unique key another transaction might insert at the same time (an ``ack_update``
  row, a fallback copy) is made only while holding the lock that serialises the two writers (the
  stage row, the source outbox row), so the unique index never makes one wait for the other.

The database's clock
--------------------
Leases are measured on the database's clock (:func:`db_now`: ``clock_timestamp()`` on
PostgreSQL; on SQLite, one machine, the process's wall clock), never on a worker's own or
simulated ``now``: two workers whose clocks (or ``--now``) differ cannot expire each other's
live lease. ``now`` passed into services still drives every business decision (reminders,
escalations, backoff), just not leases.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from hokoku.clock import utcnow


def for_update(query: Select, *, skip_locked: bool = False) -> Select:
    """``query`` locking its rows ``FOR NO KEY UPDATE`` (``SKIP LOCKED`` if asked); PostgreSQL only.

    SQLite takes its one write lock at ``BEGIN IMMEDIATE`` (``hokoku.store.db``), so there is nothing to add.
    """
    return query.with_for_update(key_share=True, skip_locked=skip_locked)


def db_now(session: Session) -> datetime:
    """The database's current time (aware UTC): the clock leases are measured on."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(select(func.clock_timestamp())).scalar_one()
        return value.astimezone(UTC)
    return utcnow()
