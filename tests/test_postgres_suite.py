"""The persistence, CLI and channel suites again, on PostgreSQL (HOKOKU_TEST_DATABASE_URL).

The tests are imported from their modules and collected here a second time; this module's
``hokoku_home`` points ``HOKOKU_DATABASE_URL`` at the run's scratch database (emptied before
each test), so ``demo_app``, the in-process CLI and the services all run on PostgreSQL.
Tests that reach into the SQLite file itself (tampering with it through ``sqlite3``, reading
its query plans, looking for the file) are left out: :data:`SQLITE_ONLY` says why.
"""

from __future__ import annotations

import inspect
import re
import sys

import pytest

from tests import pgscratch
from tests.test_channels_e2e import *  # noqa: F403
from tests.test_cli import *  # noqa: F403
from tests.test_persistence import *  # noqa: F403

# Set after the imports (they bring their own ``pytestmark``, applied per function below).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not pgscratch.base_url(), reason="HOKOKU_TEST_DATABASE_URL is not set"),
]

#: Source patterns of tests that are about the SQLite file, not about hokoku's behaviour.
SQLITE_ONLY = re.compile(r"raw_sql|db_file|sqlite3|hokoku\.db|EXPLAIN QUERY PLAN")

for _name, _obj in list(globals().items()):
    if not (_name.startswith("test_") and callable(_obj)):
        continue
    if SQLITE_ONLY.search(inspect.getsource(_obj)):
        del globals()[_name]
        continue
    _marks = getattr(sys.modules[_obj.__module__], "pytestmark", [])
    for _mark in _marks if isinstance(_marks, list) else [_marks]:  # e.g. the channel tests' `slow`
        _obj = _mark(_obj)
    globals()[_name] = _obj


@pytest.fixture
def hokoku_home(request, hokoku_home, pg_url, monkeypatch):
    """A fresh HOKOKU_HOME on the PostgreSQL scratch database: emptied for ``demo_app`` (which
    runs ``init`` at once), with no tables at all for tests that start from a bare home."""
    if "demo_app" in request.fixturenames:
        pgscratch.truncate_all(pg_url)
    else:
        pgscratch.drop_all(pg_url)
    monkeypatch.setenv("HOKOKU_DATABASE_URL", pg_url)
    return hokoku_home
