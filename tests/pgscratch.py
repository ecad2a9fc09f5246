"""Scratch PostgreSQL databases for the tests and benchmarks (one per run, dropped afterwards).

``HOKOKU_TEST_DATABASE_URL`` names a server (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
every test process creates its own ``hokoku_test_<worker>_<pid>_<random>`` database on it through
the server's ``postgres`` database, so parallel runs — and the pytest-xdist workers of one run
(``gw0``, ``gw1``, …) — never share tables, and two checkouts on one server never collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

ENV = "HOKOKU_TEST_DATABASE_URL"
#: Read at import too: the ``hokoku_home`` fixture clears every HOKOKU_* variable for a test.
_AT_IMPORT = os.environ.get(ENV) or None


def base_url() -> str | None:
    return os.environ.get(ENV) or _AT_IMPORT


def libpq(url: str) -> str:
    """A SQLAlchemy URL as a libpq/psycopg connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: str):
    import psycopg

    return psycopg.connect(libpq(url), autocommit=True)


def _maintenance(url: str) -> str:
    """``url`` on the server's ``postgres`` database (where databases are created and dropped)."""
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def create_database(url: str, prefix: str = "hokoku_test") -> str:
    """Create a fresh database on ``url``'s server; return its SQLAlchemy URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = "_".join(filter(None, (prefix, worker, str(os.getpid()), secrets.token_hex(4))))
    with _admin(_maintenance(url)) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from hokoku.store.db import _engines

    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()
    name = make_url(url).database
    with _admin(_maintenance(url)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(url: str | None = None, prefix: str = "hokoku_test") -> Iterator[str]:
    url = url or base_url()
    if not url:
        raise RuntimeError(f"{ENV} is not set")
    db = create_database(url, prefix)
    try:
        yield db
    finally:
        drop_database(db)


def truncate_all(url: str) -> None:
    """Empty every hokoku table (not ``alembic_version``) and restart the id sequences.

    ``DELETE`` with foreign-key triggers off, not ``TRUNCATE``: on a score of tiny tables it
    takes milliseconds where ``TRUNCATE`` (new files for every table) takes ~0.2 s.
    """
    with _admin(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
        ]
        seqs = [r[0] for r in conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")]
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            for name in names:
                conn.execute(f'DELETE FROM "{name}"')
            for seq in seqs:
                conn.execute(f"SELECT setval('\"{seq}\"', 1, false)")


def drop_all(url: str) -> None:
    """Drop every table (the database as a fresh install finds it)."""
    with _admin(url) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def terminate_backends(url: str) -> int:
    """Kill every other session on ``url``'s database (as a failover or a DBA would)."""
    name = make_url(url).database
    with _admin(url) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)
