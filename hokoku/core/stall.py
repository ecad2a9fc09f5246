"""Self-check: has the engine itself stalled? (pure: counts, times and ``now`` passed in)

Every due item has a time: a stage's or task's ``next_action_at``, a pending notification's
``next_attempt_at``. A running engine (sweep and dispatch every minute) processes each within
a minute or two of that time. An item more than ``threshold`` past its time was not processed:
the sweep or the dispatch stopped (a dead worker, a paused deployment, a lost schedule). The
general manager is then alerted, at most once per hour (the alert's idempotency key carries
the hour), and the heartbeat that tells an outside monitor "all is well" is not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: The kinds of due items the check looks at, in the order they are reported.
KINDS = ("stage", "task", "notification")
#: How far a sweep's ``now`` may be from the real clock and still count as a live sweep.
LIVE_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class Late:
    """Due items of one kind more than the threshold past their time."""

    kind: str
    count: int
    oldest_due_at: datetime

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "count": self.count, "oldest_due_at": self.oldest_due_at.isoformat()}


@dataclass(frozen=True)
class Verdict:
    now: datetime
    threshold: timedelta
    late: tuple[Late, ...] = ()

    @property
    def stalled(self) -> bool:
        return bool(self.late)

    @property
    def worst_delay(self) -> timedelta | None:
        """How long the oldest late item has waited past its time."""
        return max((self.now - item.oldest_due_at for item in self.late), default=None)

    def to_json(self) -> dict[str, object]:
        worst = self.worst_delay
        return {
            "stalled": self.stalled,
            "threshold_minutes": self.threshold.total_seconds() / 60,
            "worst_delay_minutes": None if worst is None else round(worst.total_seconds() / 60, 1),
            "late": [item.to_json() for item in self.late],
        }


def cutoff(now: datetime, threshold: timedelta) -> datetime:
    """Items due at or before this time are late."""
    return now - threshold


def assess(oldest: Mapping[str, tuple[int, datetime | None]], *, now: datetime, threshold: timedelta) -> Verdict:
    """The verdict from, per kind, (count, oldest due time) of the items due before the cutoff."""
    late = []
    for kind in KINDS:
        count, at = oldest.get(kind, (0, None))
        if count and at is not None and at <= cutoff(now, threshold):
            late.append(Late(kind, count, at))
    return Verdict(now, threshold, tuple(late))


def is_live(now: datetime, wall: datetime) -> bool:
    """A sweep is live when its ``now`` is the real time; simulated sweeps (``--now``, the demo,
    tests) say nothing about whether the engine is running, so they are not checked."""
    return abs(now - wall) <= LIVE_SKEW


def hour_bucket(now: datetime) -> str:
    """The UTC hour ``now`` falls in (``2027-02-01T01``): one stall alert per hour."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H")


def alert_key(now: datetime, recipient: str) -> str:
    """The base idempotency key of the stall alert to ``recipient`` for ``now``'s hour."""
    return f"selfcheck:stall:{hour_bucket(now)}:{recipient}"
