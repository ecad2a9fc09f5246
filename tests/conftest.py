"""Shared fixtures: an isolated HOKOKU_HOME, an initialised demo app, an in-process CLI."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from tests.helpers import T0, run_cli

_PLAYBOOKS: dict = {}


def _cached(load):
    """``load_playbooks`` memoised on the directories and their files' mtimes.

    Parsing the ten shipped playbooks with line tracking takes ~0.4 s and every ``App`` (so
    every in-process CLI call) does it again; the result depends only on the files.
    """

    def load_playbooks(dirs):
        dirs = [Path(d) for d in dirs]
        key = tuple(
            (str(d), tuple(sorted((f.name, f.stat().st_mtime_ns) for f in d.iterdir())) if d.is_dir() else None)
            for d in dirs
        )
        if key not in _PLAYBOOKS:
            _PLAYBOOKS[key] = load(dirs)
        return _PLAYBOOKS[key]

    return load_playbooks


@pytest.fixture
def hokoku_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOKOKU_HOME (not initialised); other HOKOKU_* and PREFECT_API_URL cleared."""
    import hokoku.config.playbooks
    from hokoku.store.db import dispose_engines

    monkeypatch.setattr(hokoku.config.playbooks, "load_playbooks", _cached(hokoku.config.playbooks.load_playbooks))
    for name in list(os.environ):
        if name.startswith("HOKOKU_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HOKOKU_HOME", str(home))
    yield home
    dispose_engines()


@pytest.fixture
def demo_app(hokoku_home: Path):
    """An App on a HOKOKU_HOME initialised with the demo organisation at T0."""
    from hokoku.app import open_app
    from hokoku.services.setup import init

    init(open_app(), org_file=None, demo=True, now=T0)
    return open_app()


@pytest.fixture
def cli(capsys):
    """``cli("report", "--division", ...)`` → (exit code, stdout, stderr), in-process."""
    return functools.partial(run_cli, capsys=capsys)


# -- PostgreSQL (HOKOKU_TEST_DATABASE_URL): added for the production-scale tests -------------
@pytest.fixture(scope="session")
def pg_url():
    """A scratch PostgreSQL database for this test run, migrated to head; skipped when unset."""
    from tests import pgscratch

    if not pgscratch.base_url():
        pytest.skip("HOKOKU_TEST_DATABASE_URL is not set")
    with pgscratch.scratch_database() as url:
        from hokoku.migrations import upgrade
        from hokoku.store.db import get_engine

        upgrade(get_engine(url))
        yield url


@pytest.fixture
def pg_home(hokoku_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like ``hokoku_home``, with ``HOKOKU_DATABASE_URL`` on the (emptied) scratch database."""
    from tests import pgscratch

    pgscratch.truncate_all(pg_url)
    monkeypatch.setenv("HOKOKU_DATABASE_URL", pg_url)
    return hokoku_home


@pytest.fixture
def pg_app(pg_home: Path):
    """An App on PostgreSQL initialised with the demo organisation at T0."""
    from hokoku.app import open_app
    from hokoku.services.setup import init

    init(open_app(), org_file=None, demo=True, now=T0)
    return open_app()


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (tests/test_flows.py, tests/test_flow_triggers.py)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


# -- pytest-xdist: the suite runs on every core (``-n auto --dist loadgroup`` in pyproject.toml) ----
#: Tests on one session-scoped Prefect test server run on one worker, so the run starts that
#: server (7-15 s, more under load) once, not once per worker.
_GROUPS_BY_FIXTURE = {"prefect_harness": "prefect-harness"}
#: Modules whose tests wait for tens of seconds each (leases that must run out, soak runs,
#: SIGKILL trials, Prefect servers, the wheel build): handed to the workers first, so they overlap
#: the many short tests instead of trailing behind them at the end of the run (longest first).
_LONG_FIRST = (
    "test_two_workers",
    "test_crash_safety",
    "test_faults",
    "test_prefect_ui",
    "test_prefect_postgres",
    "test_prefect_serve",
    "test_wheel",
    "test_fuzz_edges",
    "test_flows",
    "test_flow_triggers",
)


def _module_scoped(item) -> bool:
    """Whether ``item`` uses a module-scoped fixture (a server or a browser started per module)."""
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) if info is not None else {}
    return any(d and d[-1].scope == "module" for d in defs.values())


def pytest_collection_modifyitems(config, items):
    """Group what must share a worker (``xdist_group``) and start the long modules first."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        fixtures = getattr(item, "fixturenames", ())
        group = next((g for f, g in _GROUPS_BY_FIXTURE.items() if f in fixtures), None)
        if group is None and _module_scoped(item):
            group = item.module.__name__  # one worker sets the module's fixture up, once
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))

    def rank(item) -> tuple[int, int]:
        name = item.module.__name__.rpartition(".")[2]
        if name in _LONG_FIRST:
            return 0, _LONG_FIRST.index(name)
        return (1, 0) if item.get_closest_marker("slow") else (2, 0)

    items.sort(key=rank)  # stable: each module keeps its order
