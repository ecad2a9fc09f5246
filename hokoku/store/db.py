"""Database engine and transactions (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from sqlalchemy import Delete, Update, event, inspect
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from hokoku.core.exceptions import NotInitialised

_engines: dict[str, Engine] = {}


def _sqlite_setup(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys; and write-locking transactions (BEGIN IMMEDIATE).

    pysqlite's own transaction handling starts transactions lazily and upgrades read locks
    to write locks, which deadlocks concurrent writers; the SQLAlchemy-documented recipe
    below takes the write lock at BEGIN, so a transaction never fails half-way on a lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            _sqlite_setup(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def require_schema(engine: Engine) -> None:
    if not inspect(engine).has_table("incident"):
        raise NotInitialised("no hokoku database here: run `hokoku init --demo` (or --org FILE) first")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


T = TypeVar("T")
log = logging.getLogger("hokoku.db")


def retry_on_disconnect(work: Callable[[], T], *, attempts: int = 4, delay: float = 0.25) -> T:
    """Run ``work()``; if the database connection was lost under it (server restart, failover,
    a terminated backend), run it again on a fresh connection, up to ``attempts`` times.

    Only for units of work that are one transaction and idempotent (a sweep batch, a claim):
    the lost transaction was rolled back by the server, so running it again is safe.
    ``pool_pre_ping`` covers connections that died while idle in the pool; this covers the
    ones that die in use.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == attempts:
                raise
            log.warning("database connection lost (%s); retrying (%d/%d)", exc.orig, attempt, attempts - 1)
            time.sleep(delay * attempt)
    raise AssertionError("unreachable")


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(row: _Row) -> int:
    """The primary key of a row that is in the database (flushed); SQLModel types it ``int | None``
    because a new row has none until the flush."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id: it was not flushed")
    return row.id


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE in the session's transaction; the number of rows it changed."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):  # DML always gives a cursor result
        raise TypeError(f"{type(result).__name__} from {type(statement).__name__}: no row count")
    return result.rowcount
