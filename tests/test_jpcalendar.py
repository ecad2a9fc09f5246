"""Tests for hokoku.core.jpcalendar: holidays, closure, business days and Japan dates.

Expected dates were worked out by hand against printed calendars (``calendar.month``), e.g.
September 2026: Sat 19, Sun 20, Mon 21 (敬老の日), Tue 22 (国民の休日), Wed 23 (秋分の日).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hokoku.core import jpcalendar
from hokoku.core.durations import parse_duration
from hokoku.core.jpcalendar import (
    JST,
    add_business_days,
    end_of_japan_day,
    holiday_name,
    is_business_day,
    is_holiday,
    is_weekend,
    is_year_end_closure,
    japan_date,
    next_business_day_on_or_after,
    non_business_reasons,
)


def jst(*args: int) -> datetime:
    """An aware datetime in Japan time."""
    return datetime(*args, tzinfo=JST)


# --------------------------------------------------------------------------- holidays


@pytest.mark.parametrize(
    ("day", "name_en", "name_ja"),
    [
        (date(2026, 9, 21), "Respect for the Aged Day", "敬老の日"),
        (date(2026, 9, 22), "National Holiday", "国民の休日"),
        (date(2026, 9, 23), "Autumnal Equinox Day", "秋分の日"),
    ],
)
def test_september_2026_run_is_three_holidays_including_citizens_holiday(day, name_en, name_ja):
    """Sept 21–23, 2026 are holidays; the 22nd is a citizens' holiday (国民の休日)."""
    assert is_holiday(day)
    assert holiday_name(day) == name_en
    assert holiday_name(day, "ja") == name_ja
    assert not is_business_day(day)


def test_september_2026_run_ends_on_thursday_24th():
    """The day after the September 2026 run (Thursday 24th) is an ordinary business day."""
    assert not is_holiday(date(2026, 9, 24))
    assert is_business_day(date(2026, 9, 24))
    assert is_business_day(date(2026, 9, 18))  # Friday before the run


def test_golden_week_2026_includes_substitute_holiday_on_may_6():
    """Constitution Day 2026 is a Sunday, so Wednesday May 6 is a substitute holiday (振替休日)."""
    assert holiday_name(date(2026, 5, 3)) == "Constitution Day"
    assert holiday_name(date(2026, 5, 4)) == "Greenery Day"
    assert holiday_name(date(2026, 5, 5)) == "Children's Day"
    assert holiday_name(date(2026, 5, 6), "ja") == "振替休日"
    assert is_business_day(date(2026, 5, 7))


def test_golden_week_2026_may_1_and_april_30_are_working_days():
    """In 2026 only April 29 (Showa Day) precedes the May run; April 30 and May 1 are working."""
    assert holiday_name(date(2026, 4, 29), "ja") == "昭和の日"
    assert is_business_day(date(2026, 4, 30))
    assert is_business_day(date(2026, 5, 1))
    assert not is_business_day(date(2026, 5, 2))  # Saturday


def test_golden_week_2027_is_monday_to_wednesday_without_substitute():
    """In 2027 May 3–5 fall Monday–Wednesday, so there is no substitute holiday on May 6."""
    for day in (date(2027, 5, 3), date(2027, 5, 4), date(2027, 5, 5)):
        assert is_holiday(day), day
    assert not is_holiday(date(2027, 5, 6))
    assert is_business_day(date(2027, 5, 6))
    assert holiday_name(date(2027, 4, 29)) == "Showa Day"


def test_sunday_vernal_equinox_2027_gives_monday_substitute():
    """Vernal Equinox Day 2027 is Sunday March 21, so Monday March 22 is a substitute holiday."""
    assert holiday_name(date(2027, 3, 21), "ja") == "春分の日"
    assert holiday_name(date(2027, 3, 22), "ja") == "振替休日"
    assert not is_business_day(date(2027, 3, 22))


def test_ordinary_weekday_has_no_holiday_name():
    """A plain Wednesday has no holiday name and is a business day."""
    assert holiday_name(date(2026, 10, 7)) is None
    assert not is_holiday(date(2026, 10, 7))
    assert is_business_day(date(2026, 10, 7))


def test_holiday_name_rejects_unknown_language():
    """Only English and Japanese names are offered."""
    with pytest.raises(ValueError, match="language"):
        holiday_name(date(2026, 1, 1), "fr")


def test_year_outside_library_range_raises_instead_of_having_no_holidays():
    """The library returns nothing for 2100; we refuse rather than call New Year a working day."""
    with pytest.raises(ValueError, match="2100"):
        is_business_day(date(2100, 1, 4))


def test_holidays_of_one_year_do_not_leak_into_another():
    """The per-year cache holds only that year's dates."""
    year_2026 = jpcalendar._holidays_for_year(2026, "en")
    assert all(d.year == 2026 for d in year_2026)
    assert len(year_2026) == 18


# --------------------------------------------------------------------------- closure, weekends


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        (date(2026, 12, 28), False),
        (date(2026, 12, 29), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), True),
        (date(2027, 1, 3), True),
        (date(2027, 1, 4), False),
    ],
)
def test_year_end_closure_is_december_29_to_january_3(day, closed):
    """The closure starts on Dec 29 and ends on Jan 3 inclusive."""
    assert is_year_end_closure(day) is closed


def test_closure_weekdays_are_not_business_days():
    """Dec 29–30, 2026 are Tuesday–Wednesday but closed; Monday Dec 28 is open."""
    assert is_business_day(date(2026, 12, 28))
    assert not is_business_day(date(2026, 12, 29))
    assert not is_business_day(date(2026, 12, 30))
    assert is_business_day(date(2027, 1, 4))


def test_weekend_days_are_saturday_and_sunday():
    """Saturday and Sunday are weekend days and not business days; Friday is neither."""
    assert is_weekend(date(2026, 10, 3)) and is_weekend(date(2026, 10, 4))
    assert not is_weekend(date(2026, 10, 2))
    assert not is_business_day(date(2026, 10, 3))
    assert is_business_day(date(2026, 10, 2))


def test_non_business_reasons_lists_weekday_holiday_and_closure():
    """A day with several reasons reports all of them, in both languages."""
    assert non_business_reasons(date(2027, 1, 2)) == ("Saturday", "year-end closure")
    assert non_business_reasons(date(2027, 1, 1), "ja") == ("元日", "年末年始の閉庁日")
    assert non_business_reasons(date(2026, 5, 3)) == ("Sunday", "Constitution Day")
    assert non_business_reasons(date(2026, 10, 7)) == ()


# --------------------------------------------------------------------------- Japan dates


def test_japan_date_of_utc_evening_is_next_day():
    """2026-11-30T15:30Z is 00:30 on Dec 1 in Japan."""
    assert japan_date(datetime(2026, 11, 30, 15, 30, tzinfo=UTC)) == date(2026, 12, 1)


def test_japan_date_just_before_jst_midnight_is_same_day():
    """2026-11-30T14:59:59Z is still Nov 30 in Japan."""
    assert japan_date(datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)) == date(2026, 11, 30)


def test_japan_date_converts_other_offsets():
    """An instant given in US Pacific time maps to its Japan date."""
    pacific = timezone(timedelta(hours=-8))
    assert japan_date(datetime(2026, 12, 1, 9, 0, tzinfo=pacific)) == date(2026, 12, 2)


def test_japan_date_rejects_naive_datetime():
    """A naive datetime is ambiguous and refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        japan_date(datetime(2026, 12, 1, 10, 0))


def test_end_of_japan_day_is_235959_jst_in_utc():
    """The end of Jan 4, 2027 in Japan is 14:59:59 UTC the same day."""
    end = end_of_japan_day(date(2027, 1, 4))
    assert end == datetime(2027, 1, 4, 14, 59, 59, tzinfo=UTC)
    assert end.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- next business day


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 10, 7), date(2026, 10, 7)),  # business day: itself
        (date(2026, 10, 3), date(2026, 10, 5)),  # Saturday → Monday
        (date(2026, 9, 19), date(2026, 9, 24)),  # Sat → past Sept 21–23 holidays → Thursday
        (date(2026, 5, 2), date(2026, 5, 7)),  # Sat → past Golden Week 2026 → Thursday
        (date(2027, 5, 1), date(2027, 5, 6)),  # Sat → past Golden Week 2027 → Thursday
        (date(2026, 12, 29), date(2027, 1, 4)),  # closure → first Monday of 2027
        (date(2026, 12, 26), date(2026, 12, 28)),  # Saturday → Monday before closure
    ],
)
def test_next_business_day_on_or_after(day, expected):
    """Skips weekends, holidays and the closure; a business day maps to itself."""
    assert next_business_day_on_or_after(day) == expected


# --------------------------------------------------------------------------- add_business_days


def test_friday_plus_one_business_day_is_monday_same_time():
    """Friday 10:00 JST + 1bd is Monday 10:00 JST, returned in UTC."""
    result = add_business_days(jst(2026, 10, 2, 10, 0), 1)
    assert result == jst(2026, 10, 5, 10, 0)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 10, 5, 1, 0, tzinfo=UTC)


def test_business_day_before_holiday_skips_it():
    """Friday Oct 9, 2026 + 1bd skips the weekend and Sports Day (Mon 12th) → Tuesday 13th."""
    assert add_business_days(jst(2026, 10, 9, 14, 30), 1) == jst(2026, 10, 13, 14, 30)


def test_business_days_across_year_end_closure():
    """Monday Dec 28, 2026 + 1bd jumps the closure to Monday Jan 4, 2027; +2bd is Jan 5."""
    assert add_business_days(jst(2026, 12, 28, 15, 0), 1) == jst(2027, 1, 4, 15, 0)
    assert add_business_days(jst(2026, 12, 28, 15, 0), 2) == jst(2027, 1, 5, 15, 0)


def test_business_days_across_golden_week_2026():
    """Thursday Apr 30, 2026 + 2bd: Fri May 1, then Thu May 7 (May 2–6 are closed)."""
    assert add_business_days(jst(2026, 4, 30, 9, 0), 2) == jst(2026, 5, 7, 9, 0)


def test_start_on_saturday_counts_from_midnight_of_next_business_day():
    """Saturday 10:00 + 1bd is Tuesday 00:00 JST (Monday is the one full business day)."""
    assert add_business_days(jst(2026, 10, 3, 10, 0), 1) == jst(2026, 10, 6, 0, 0)


def test_zero_business_days_on_business_day_is_same_instant():
    """n=0 on a business day returns the start instant unchanged."""
    start = jst(2026, 10, 7, 11, 45, 30)
    assert add_business_days(start, 0) == start


def test_zero_business_days_on_holiday_moves_to_next_business_midnight():
    """n=0 on Sept 22, 2026 (citizens' holiday) gives Thursday Sept 24 00:00 JST."""
    assert add_business_days(jst(2026, 9, 22, 16, 0), 0) == jst(2026, 9, 24, 0, 0)


def test_business_days_use_the_japan_date_of_a_utc_start():
    """2026-10-01T16:00Z is Friday Oct 2 01:00 in Japan; +1bd is Monday Oct 5 01:00 JST."""
    result = add_business_days(datetime(2026, 10, 1, 16, 0, tzinfo=UTC), 1)
    assert result == datetime(2026, 10, 4, 16, 0, tzinfo=UTC)


def test_add_business_days_rejects_negative_n():
    """Counting backwards is not supported."""
    with pytest.raises(ValueError, match="negative"):
        add_business_days(jst(2026, 10, 2, 10, 0), -1)


def test_add_business_days_rejects_naive_start():
    """A naive start is refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_days(datetime(2026, 10, 2, 10, 0), 1)


def test_duration_in_business_days_uses_japanese_calendar():
    """hokoku.core.durations delegates '2bd' to add_business_days (Fri + 2bd → Tue)."""
    assert parse_duration("2bd").after(jst(2026, 10, 2, 10, 0)) == jst(2026, 10, 6, 10, 0)
