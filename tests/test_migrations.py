"""Schema migrations (Alembic): the revisions build exactly the tables the models declare."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import hokoku.models
from hokoku.migrations import BASELINE, alembic_config, current_revision, head_revision, upgrade
from hokoku.store.db import get_engine
from hokoku.store.schema_version import EXPECTED_HEAD
from tests import pgscratch


def _drift(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "target_metadata": SQLModel.metadata})
        return compare_metadata(ctx, SQLModel.metadata)


def _sqlite(tmp_path, name="m.db"):
    return get_engine(f"sqlite:///{tmp_path / name}")


def test_migrations_match_models_sqlite(tmp_path):
    """upgrade head on a fresh SQLite file gives exactly the models' schema (no drift)."""
    engine = _sqlite(tmp_path)
    result = upgrade(engine)
    assert result == {"from": None, "to": head_revision(), "stamped": False}
    assert _drift(engine) == []


@pytest.mark.postgres
def test_migrations_match_models_postgres():
    """upgrade head on a fresh PostgreSQL database gives exactly the models' schema (no drift)."""
    if not pgscratch.base_url():
        pytest.skip("HOKOKU_TEST_DATABASE_URL is not set")
    with pgscratch.scratch_database(prefix="hokoku_mig") as url:
        engine = get_engine(url)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _drift(engine) == []


def test_upgrade_is_idempotent_and_downgrade_empties(tmp_path):
    """A second upgrade does nothing; downgrade to base drops every table; upgrade rebuilds them."""
    engine = _sqlite(tmp_path)
    upgrade(engine)
    assert upgrade(engine) == {"from": head_revision(), "to": head_revision(), "stamped": False}
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert _drift(engine) == []


def test_database_from_before_migrations_is_stamped_then_upgraded(tmp_path):
    """Tables without alembic_version (made by create_all at the baseline) are stamped, not recreated."""
    engine = _sqlite(tmp_path)
    command.upgrade(alembic_config(engine), BASELINE)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO incident_counter (year, last) VALUES (2027, 7)")
        conn.exec_driver_sql("DROP TABLE alembic_version")
    result = upgrade(engine)
    assert result["stamped"] is True and result["to"] == head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT last FROM incident_counter").scalar_one() == 7
    assert _drift(engine) == []


def test_init_migrates_and_db_verbs_report_it(hokoku_home, cli):
    """`hokoku init` leaves the database at head; `db current` says so; `db upgrade` is a no-op."""
    code, out, err = cli("init", "--demo", "--json")
    assert code == 0, err
    code, out, _ = cli("db", "current", "--lang", "en")
    assert code == 0 and f"at {head_revision()}" in out and "run `hokoku db upgrade`" not in out
    code, out, _ = cli("db", "upgrade", "--lang", "en")
    assert code == 0 and f"already at {head_revision()}" in out
    code, out, _ = cli("db", "current")
    assert code == 0 and f"現在 {head_revision()}" in out


def test_db_upgrade_creates_the_schema(hokoku_home, cli):
    """`hokoku db upgrade` on an empty database creates every table at head."""
    import json

    code, out, err = cli("db", "upgrade", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["from"] is None and data["to"] == head_revision()
    code, out, _ = cli("db", "current", "--json")
    assert json.loads(out)["up_to_date"] is True


def test_the_revision_the_cli_checks_is_the_newest_migration():
    """``hokoku.store.schema_version.EXPECTED_HEAD`` (checked on every CLI call) names the migrations' head."""
    from hokoku.migrations import head_revision
    from hokoku.store.schema_version import EXPECTED_HEAD

    assert EXPECTED_HEAD == head_revision()


def test_a_database_behind_the_migrations_gets_a_one_line_error(demo_app, cli):
    """A schema at an older revision: every verb exits 2 telling the user to run `hokoku db upgrade`."""
    from sqlalchemy import text

    from hokoku.store.schema_version import EXPECTED_HEAD

    with demo_app.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    from hokoku.store.schema_version import EXPECTED_HEAD

    code, out, err = cli("list")
    assert code == 2 and err.strip().splitlines() == [
        f"hokoku: the database schema is at 0000, this hokoku needs {EXPECTED_HEAD}: run `hokoku db upgrade`"
    ]
