"""The web suites (pages, API, sign-in, the sign-in attacks) again, on PostgreSQL (HOKOKU_TEST_DATABASE_URL).

Collected a second time here, as ``tests/test_postgres_suite.py`` does for the other suites:
this module's ``hokoku_home`` points ``HOKOKU_DATABASE_URL`` at the run's scratch database
(emptied before each test). Tests that read the SQLite file directly are left out.
"""

from __future__ import annotations

import inspect
import re
import sys
import types

import pytest

from tests import pgscratch
from tests.test_signin_attacks import *  # noqa: F403
from tests.test_web_api import *  # noqa: F403
from tests.test_web_auth import *  # noqa: F403
from tests.test_web_pages import *  # noqa: F403
from tests.web_support import fast_hashes, site

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not pgscratch.base_url(), reason="HOKOKU_TEST_DATABASE_URL is not set"),
]

#: Source patterns of tests that are about the SQLite file, not about hokoku's behaviour.
SQLITE_ONLY = re.compile(r"raw_sql|db_file|sqlite3|hokoku\.db")

for _name, _obj in list(globals().items()):
    if not (_name.startswith("test_") and callable(_obj)):
        continue
    if SQLITE_ONLY.search(inspect.getsource(_obj)):
        del globals()[_name]
        continue
    # A copy of the function, so that the marks added here never reach the original module's test.
    _copy = types.FunctionType(_obj.__code__, _obj.__globals__, _name, _obj.__defaults__, _obj.__closure__)
    _copy.__kwdefaults__, _copy.__doc__ = _obj.__kwdefaults__, _obj.__doc__
    _copy.__dict__.update(_obj.__dict__)
    _marks = getattr(sys.modules[_obj.__module__], "pytestmark", [])
    for _mark in _marks if isinstance(_marks, list) else [_marks]:
        _copy = _mark(_copy)
    globals()[_name] = _copy


@pytest.fixture
def hokoku_home(request, hokoku_home, pg_url, monkeypatch):
    """A fresh HOKOKU_HOME on the PostgreSQL scratch database."""
    if "demo_app" in request.fixturenames or "site" in request.fixturenames:
        pgscratch.truncate_all(pg_url)
    else:
        pgscratch.drop_all(pg_url)
    monkeypatch.setenv("HOKOKU_DATABASE_URL", pg_url)
    return hokoku_home
