"""Time helpers: everything is stored as aware UTC and shown in Japan time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload
from zoneinfo import ZoneInfo

from hokoku.core.exceptions import InputError

JST = ZoneInfo("Asia/Tokyo")
#: Times hokoku accepts: wide enough for any real incident, narrow enough that every date
#: computed from one (statutory counts, holiday look-ups) stays representable.
MIN_YEAR, MAX_YEAR = 1970, 2200


def parse_instant(text: str, *, what: str = "time") -> datetime:
    """Parse an ISO 8601 instant; a value without offset is taken as Japan time.

    Raises :class:`InputError` naming ``what`` and the bad text.
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InputError(key="err.time.format", what=what, value=repr(text)) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InputError(key="err.time.range", what=what, value=repr(text.strip()), first=MIN_YEAR, last=MAX_YEAR)
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """Aware UTC; naive values (as SQLite returns them) are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fmt_jst(value: datetime | None, *, seconds: bool = False) -> str:
    """``2026-12-01 10:00 JST`` — or ``-`` for None."""
    if value is None:
        return "-"
    return as_utc(value).astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST" if seconds else "%Y-%m-%d %H:%M JST")


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (for JSON output)."""
    return None if value is None else as_utc(value).isoformat()


@overload
def iso_local(value: datetime) -> str: ...
@overload
def iso_local(value: datetime | None) -> str | None: ...
def iso_local(value: datetime | None) -> str | None:
    """ISO 8601 in Japan time with its offset (``2027-02-04T23:59:59+09:00``), for people and JSON."""
    return None if value is None else as_utc(value).astimezone(JST).isoformat()
