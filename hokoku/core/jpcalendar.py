"""The Japanese legal calendar: national holidays, the year-end closure and business days.

Pure functions: nothing here reads the clock or does I/O; every instant is passed in.

* National holidays (国民の祝日, 振替休日 and 国民の休日) come from the maintained ``holidays``
  library, not from a hand-written list. Each year is computed once and cached (in the process,
  and through a store the edge may install with :func:`use_store`, between processes: the
  library takes a tenth of a second or more to import and compute a year). The library
  covers 1949–2099; a date outside that range raises :class:`ValueError` rather than being
  silently treated as holiday-free.
* The year-end closure (年末年始の閉庁日) is December 29 – January 3, as in the Act on Holidays of
  Administrative Organs (行政機関の休日に関する法律).
* A business day is a day that is none of: Saturday, Sunday, national holiday, closure day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")

Lang = Literal["en", "ja"]

# The library picks holiday-name language from the process locale unless told explicitly,
# so always pass one of these.
_LIBRARY_LANGUAGE: dict[str, str] = {"en": "en_US", "ja": "ja"}

_WEEKDAY_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ja": ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日"),
}
_CLOSURE_NAME: dict[str, str] = {"en": "year-end closure", "ja": "年末年始の閉庁日"}


def _check_lang(lang: str) -> None:
    """Raise :class:`ValueError` unless ``lang`` is ``"en"`` or ``"ja"``."""
    if lang not in _LIBRARY_LANGUAGE:
        raise ValueError(f"unsupported language {lang!r}: expected 'en' or 'ja'")


class HolidayStore(Protocol):
    """Keeps computed years between processes (``key``: ``"<year>-<lang>"``; tables as
    ``{"YYYY-MM-DD": name}``). It must give back exactly what it was given, for the same
    library; :mod:`hokoku.store.holidaystore` keys its file by the library's version."""

    def load(self, key: str) -> dict[str, str] | None: ...

    def save(self, key: str, table: dict[str, str]) -> None: ...


_store: HolidayStore | None = None


def use_store(store: HolidayStore | None) -> None:
    """Keep computed years in ``store`` (None: compute them in every process)."""
    global _store
    _store = store


@cache
def _holidays_for_year(year: int, lang: str) -> Mapping[date, str]:
    """The national holidays of one year as a read-only ``{date: name}`` mapping.

    Copied into a plain dict so that look-ups never trigger the library's auto-expansion
    (which would mutate a cached object and mix years).
    """
    key = f"{year}-{lang}"
    stored = _store.load(key) if _store is not None else None
    if stored is not None:
        return MappingProxyType({date.fromisoformat(d): name for d, name in stored.items()})
    import holidays  # imported when a year is first computed, not by every process that counts days

    cls = holidays.country_holidays("JP")
    if not cls.start_year <= year <= cls.end_year:
        raise ValueError(f"no Japanese holiday data for {year}: supported years are {cls.start_year}–{cls.end_year}")
    table = holidays.country_holidays("JP", years=year, language=_LIBRARY_LANGUAGE[lang])
    result = {d: name for d, name in table.items() if d.year == year}
    if _store is not None:
        _store.save(key, {d.isoformat(): name for d, name in sorted(result.items())})
    return MappingProxyType(result)


def _as_date(d: date) -> date:
    """Strip the time from a datetime passed where a date is expected (dates pass through)."""
    return d.date() if isinstance(d, datetime) else d


def holiday_name(d: date, lang: Lang = "en") -> str | None:
    """The national holiday's name on ``d`` (English or Japanese), or ``None`` if none."""
    _check_lang(lang)
    d = _as_date(d)
    return _holidays_for_year(d.year, lang).get(d)


def is_holiday(d: date) -> bool:
    """True if ``d`` is a national holiday, substitute holiday or citizens' holiday."""
    return holiday_name(d) is not None


def is_year_end_closure(d: date) -> bool:
    """True if ``d`` falls in the year-end closure, December 29 – January 3 inclusive."""
    d = _as_date(d)
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_weekend(d: date) -> bool:
    """True if ``d`` is a Saturday or a Sunday."""
    return _as_date(d).weekday() >= 5


def is_business_day(d: date) -> bool:
    """True if ``d`` is neither a weekend day, a national holiday nor a year-end closure day."""
    return not (is_weekend(d) or is_holiday(d) or is_year_end_closure(d))


def non_business_reasons(d: date, lang: Lang = "en") -> tuple[str, ...]:
    """Why ``d`` is not a business day, in order weekday / holiday / closure; empty if it is.

    E.g. 2027-01-02 gives ``("Saturday", "year-end closure")``; 2026-05-06 gives
    ``("Substitute Holiday",)``.
    """
    _check_lang(lang)
    d = _as_date(d)
    reasons: list[str] = []
    if is_weekend(d):
        reasons.append(_WEEKDAY_NAMES[lang][d.weekday()])
    name = holiday_name(d, lang)
    if name is not None:
        reasons.append(name)
    if is_year_end_closure(d):
        reasons.append(_CLOSURE_NAME[lang])
    return tuple(reasons)


def japan_date(dt: datetime) -> date:
    """The calendar date in Japan (Asia/Tokyo) of the aware instant ``dt``."""
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {dt!r}")
    return dt.astimezone(JST).date()


def next_business_day_on_or_after(d: date) -> date:
    """``d`` itself if it is a business day, otherwise the first business day after it."""
    d = _as_date(d)
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def end_of_japan_day(d: date) -> datetime:
    """23:59:59 Japan time on ``d``, as an aware UTC datetime (the end of a due day)."""
    return datetime.combine(_as_date(d), time(23, 59, 59), tzinfo=JST).astimezone(UTC)


def add_business_days(start: datetime, n: int) -> datetime:
    """The same Japan wall-clock time ``n`` business days after ``start``, as aware UTC.

    Rule: if ``start``'s Japan date is a business day, keep its Japan wall-clock time and move
    forward ``n`` business days (``n == 0`` returns the same instant, expressed in UTC). If it
    is not a business day (weekend, holiday, closure), first treat ``start`` as 00:00 Japan
    time of the next business day, then add ``n`` business days keeping 00:00. So Friday
    10:00 + 1 gives Monday 10:00, and Saturday 10:00 + 1 gives Tuesday 00:00 (one whole
    business day, Monday, has passed); Saturday 10:00 + 0 gives Monday 00:00.

    Raises :class:`ValueError` for a naive ``start`` or a negative / non-integer ``n``.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"business days must be an integer, got {n!r}")
    if n < 0:
        raise ValueError(f"business days must not be negative, got {n}")
    local_day = japan_date(start)
    local = start.astimezone(JST)
    if is_business_day(local_day):
        wall_clock = local.time()
    else:
        local_day = next_business_day_on_or_after(local_day)
        wall_clock = time(0, 0)
    for _ in range(n):
        local_day = next_business_day_on_or_after(local_day + timedelta(days=1))
    return datetime.combine(local_day, wall_clock, tzinfo=JST).astimezone(UTC)


def business_days_before(d: date, n: int) -> date:
    """The business day ``n`` business days before ``d`` (``n == 0``: the last business day on
    or before ``d``)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"business days must be a whole number ≥ 0, got {n!r}")
    day = d
    while not is_business_day(day):
        day -= timedelta(days=1)
    for _ in range(n):
        day -= timedelta(days=1)
        while not is_business_day(day):
            day -= timedelta(days=1)
    return day
