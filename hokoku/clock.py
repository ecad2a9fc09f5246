"""The one clock: the system time as an aware UTC datetime.

The pure core never reads a clock (``now`` is passed in). Everything else that needs the time
asks :func:`utcnow`, or takes a :data:`Clock` it was given — the web app (``create_app(clock=)``,
read by the ``Now`` dependency), the email notifier, the Slack signature check — so tests
inject a :class:`FixedClock`. Simulated time exists only where it is allowed: the CLI's
``--now`` (demo databases, or ``HOKOKU_ALLOW_SIMULATED_TIME=1``) and clocks injected by tests;
every audit event still records :func:`utcnow` beside its effective time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Anything that answers the current time as an aware UTC datetime when called.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The system clock, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that answers ``now`` until moved (for tests and simulations)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by ``timedelta(**delta)``; returns the new time."""
        self.now = self.now + timedelta(**delta)
        return self.now
