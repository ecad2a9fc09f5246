"""Time helpers: everything is stored as aware UTC and shown in Japan time."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hokoku.exceptions import InputError

UTC = timezone.utc
JST = ZoneInfo("Asia/Tokyo")


def parse_instant(text: str, *, what: str = "time") -> datetime:
    """Parse an ISO 8601 instant; a value without offset is taken as Japan time.

    Raises :class:`InputError` naming ``what`` and the bad text.
    """
    try:
        value = datetime.fromisoformat(text.strip()[:64].replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InputError(
            f"{what}: {str(text)[:64]!r} is not an ISO 8601 time (e.g. 2026-12-01T10:00:00+09:00)"
        ) from None
    return in_range(value, what=what)


#: Times hokoku accepts at its edges (command line, forms, API): year 0001 or 9999 would
#: overflow once converted or once a deadline is added to it.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def in_range(value: datetime, *, what: str = "time") -> datetime:
    """``value`` as aware UTC (no offset: Japan time) if it lies in 2000–2099 (UTC); else :class:`InputError`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    if not EARLIEST.year - 1 <= value.year <= LATEST.year or not EARLIEST <= value.astimezone(UTC) < LATEST:
        raise InputError(f"{what}: {value.isoformat()[:40]} is outside the years 2000–2099")
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


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (for JSON output)."""
    return None if value is None else as_utc(value).isoformat()
