"""Schema migrations (Alembic), applied by ``hokoku init`` and ``hokoku db upgrade``.

The Alembic configuration is built here, in code: no ``alembic.ini`` is needed at run time
(``alembic.ini`` beside this file is only for developers who want the ``alembic`` command, e.g.
``alembic -c hokoku/migrations/alembic.ini revision --autogenerate -m "..."``). ``env.py`` runs
the migrations on the application's own engine (SQLite pragmas, ``BEGIN IMMEDIATE``), in
batch mode on SQLite so later ``ALTER``s work there too.

Databases made before migrations existed (by ``metadata.create_all``) hold the tables but no
``alembic_version``: :func:`upgrade` stamps them at :data:`BASELINE` first, then upgrades.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent
#: The first revision: the schema as ``create_all`` made it before migrations existed.
BASELINE = "0001"


def alembic_config(engine: Engine | None = None, *, url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at this package; ``engine`` is used as is when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is None and engine is not None:
        url = engine.url.render_as_string(hide_password=False)
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration revisions in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not under migrations, or empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _legacy(engine: Engine) -> bool:
    names = set(inspect(engine).get_table_names())
    return "incident" in names and "alembic_version" not in names


def upgrade(engine: Engine, revision: str = "head") -> dict:
    """Bring the schema to ``revision``; returns ``{"from": rev, "to": rev, "stamped": bool}``."""
    cfg = alembic_config(engine)
    stamped = False
    if _legacy(engine):
        command.stamp(cfg, BASELINE)
        stamped = True
    before = current_revision(engine)
    command.upgrade(cfg, revision)
    return {"from": before, "to": current_revision(engine), "stamped": stamped}
