"""Durations used by the policy and the playbooks: minutes, hours, days or business days.

Accepted spellings (case-insensitive, optional space): ``15m``, ``15 min``, ``15 minutes``,
``4h``, ``4 hours``, ``3d``, ``3 days``, ``2bd``, ``2 business days``. ``0m`` means "at once".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from hokoku.core.exceptions import InputError

Unit = Literal["minutes", "hours", "days", "business_days"]

_UNITS: dict[str, Unit] = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "bd": "business_days",
    "business day": "business_days",
    "business days": "business_days",
}
_PATTERN = re.compile(r"^\s*(\d{1,6})\s*([a-z ]+?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: Unit

    def __str__(self) -> str:
        short = {"minutes": "m", "hours": "h", "days": "d", "business_days": "bd"}[self.unit]
        return f"{self.amount}{short}"

    @property
    def is_business(self) -> bool:
        return self.unit == "business_days"

    def approx_timedelta(self) -> timedelta:
        """A calendar approximation (business days counted as days), for ordering only."""
        return {
            "minutes": timedelta(minutes=self.amount),
            "hours": timedelta(hours=self.amount),
            "days": timedelta(days=self.amount),
            "business_days": timedelta(days=self.amount),
        }[self.unit]

    def after(self, start: datetime) -> datetime:
        """The instant this duration after ``start`` (aware); business days use the JP calendar."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.unit == "business_days":
            from hokoku.core.jpcalendar import add_business_days

            return add_business_days(start, self.amount)
        return start + self.approx_timedelta()


#: Reminders counted back from a due day in days or business days go out at this Japan time.
MORNING_HOUR = 9


def before(due: datetime, duration: Duration) -> datetime:
    """When a reminder ``duration`` before ``due`` goes out (aware UTC).

    Minutes and hours count back from the instant. Days and business days count back from the
    due day in Japan and give 09:00 Japan time of that day (a reminder "5 business days before"
    a due date arrives on a working morning).
    """
    if due.tzinfo is None:
        raise ValueError("due must be timezone-aware")
    if duration.unit in ("minutes", "hours"):
        return due - duration.approx_timedelta()
    from datetime import time

    from hokoku.core.jpcalendar import JST, business_days_before, japan_date

    day = japan_date(due)
    day = business_days_before(day, duration.amount) if duration.is_business else day - duration.approx_timedelta()
    return datetime.combine(day, time(MORNING_HOUR), tzinfo=JST).astimezone(UTC)


def parse_duration(text: object) -> Duration:
    """Parse a duration; raise :class:`InputError` naming the bad text."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise InputError(f"bad duration {text!r}: expected e.g. '15m', '4h', '3d' or '2bd'")
    if isinstance(text, int):
        raise InputError(f"bad duration {text!r}: give a unit, e.g. '{text}m' or '{text}h'")
    match = _PATTERN.match(text)
    unit = _UNITS.get(" ".join(match.group(2).lower().split())) if match else None
    if not match or unit is None:
        raise InputError(f"bad duration {text!r}: expected e.g. '15m', '4h', '3d' or '2bd'")
    return Duration(int(match.group(1)), unit)
