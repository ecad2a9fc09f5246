"""Holiday tables kept between processes (hokoku.store.holidaystore): what a later process reads from
the file is exactly what the library computed, without importing the library again."""

from __future__ import annotations

import sys
from datetime import date

import pytest

from hokoku.core import jpcalendar
from hokoku.store.holidaystore import HolidayFile


@pytest.fixture
def store(tmp_path):
    """A file store installed for the test, the in-process cache emptied before and after."""
    saved = jpcalendar._store
    jpcalendar._holidays_for_year.cache_clear()
    file = HolidayFile(tmp_path / "cache")
    jpcalendar.use_store(file)
    yield file
    jpcalendar.use_store(saved)
    jpcalendar._holidays_for_year.cache_clear()


def test_a_computed_year_is_read_back_without_the_library(store, monkeypatch):
    """The first look-up computes the year and saves it; a fresh process (new store, empty cache,
    the library unimportable) answers from the file, the same names on the same days."""
    computed = dict(jpcalendar._holidays_for_year(2027, "ja"))
    english = dict(jpcalendar._holidays_for_year(2027, "en"))  # (business days are counted with these)
    assert computed[date(2027, 1, 1)] == "元日" and store.path.exists()
    jpcalendar._holidays_for_year.cache_clear()
    jpcalendar.use_store(HolidayFile(store.path.parent))
    monkeypatch.setitem(sys.modules, "holidays", None)  # `import holidays` now raises ImportError
    assert dict(jpcalendar._holidays_for_year(2027, "ja")) == computed
    assert dict(jpcalendar._holidays_for_year(2027, "en")) == english
    assert jpcalendar.is_business_day(date(2027, 1, 4)) and not jpcalendar.is_business_day(date(2027, 1, 11))
    with pytest.raises(ImportError):  # a year not in the file still needs the library
        jpcalendar._holidays_for_year(2028, "ja")


def test_an_unreadable_file_is_ignored(store):
    """A corrupt cache file is not trusted: the year is computed by the library and the file rewritten."""
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text("{not json")
    jpcalendar.use_store(HolidayFile(store.path.parent))
    assert jpcalendar.holiday_name(date(2026, 5, 6), "en") == "Substitute Holiday"
    assert HolidayFile(store.path.parent).load("2026-en")["2026-05-06"] == "Substitute Holiday"


def test_the_file_is_named_for_the_library_version(tmp_path):
    """Another library version (another tag) reads another file, never the old tables."""
    assert HolidayFile(tmp_path).path.name.startswith("holidays-jp-")
    assert HolidayFile(tmp_path).path == HolidayFile.path_for(tmp_path)
