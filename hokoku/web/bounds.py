"""Bounds every number and time must keep at the web edge, so no input becomes a 500.

Times are limited to the years :data:`hokoku.core.timeutil.MIN_YEAR`–:data:`~hokoku.core.timeutil.MAX_YEAR`
(checked before any time-zone conversion, which would overflow at year 1 or 9999); whole
numbers in request bodies to :data:`MAX_INT` (counts of people; the database keeps 32-bit
integers). Errors are ``ValueError`` for pydantic validators, which name the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hokoku.core.timeutil import JST, MAX_YEAR, MIN_YEAR
from hokoku.web.errors import FieldError

MAX_INT = 1_000_000_000


def in_range(value: datetime) -> datetime:
    """``value`` as aware UTC (no offset: Japan time); ValueError outside the accepted years."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"{value.isoformat()[:32]} is out of range (years {MIN_YEAR}–{MAX_YEAR})")
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(UTC)


def bounded_int(value):
    """Whole numbers (not booleans) of more than :data:`MAX_INT` in size are refused."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ValueError(f"at most {MAX_INT:,}")
    return value


def form_int(text: str, field: str) -> int:
    """A whole number typed into ``field``; FieldError (naming it) beyond the bounds."""
    value = int(text)
    try:
        return bounded_int(value)
    except ValueError as exc:
        raise FieldError(field, key="err.at_most", what=field, limit=f"{MAX_INT:,}") from exc


def form_count(text: str, field: str) -> int | None:
    """A count of people typed into ``field`` (blank: None); FieldError when it is not 0 or more."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = form_int(text, field)
    except ValueError:
        raise FieldError(field, key="err.whole_number", what=field, value=repr(text)) from None
    if value < 0:
        raise FieldError(field, key="err.not_negative", what=field)
    return value
