"""Alembic environment: the application's engine, ``SQLModel.metadata`` of every table.

Run through :mod:`hokoku.migrations` (``hokoku init`` / ``hokoku db upgrade``) or the
``alembic`` command with ``-c hokoku/migrations/alembic.ini``.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import hokoku.models  # noqa: F401  (registers every table on SQLModel.metadata)
from hokoku.models.types import UTCDateTime

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """Render the app's custom column types as plain SQLAlchemy types in revisions."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_item=render_item,
        compare_type=True,
        **kw,
    )


def run_offline() -> None:
    """``--sql``: print the migration SQL for the configured (or the application's) database."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from hokoku.app import open_app

        url = open_app().settings.effective_database_url
    _configure(
        url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, render_as_batch=url.startswith("sqlite")
    )
    with context.begin_transaction():
        context.run_migrations()


def _engine():
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    from hokoku.store.db import get_engine

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from hokoku.app import open_app

        return open_app().engine
    return get_engine(url)


def run_online() -> None:
    engine = _engine()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # Batch mode copies tables; foreign keys must be off while it does (outside any
            # transaction, so on the raw autocommit connection), and are checked afterwards.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            _configure(connection=connection, render_as_batch=sqlite)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                bad = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if bad:
                    raise RuntimeError(f"foreign key violations after migrating: {bad[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_offline()
else:
    run_online()
