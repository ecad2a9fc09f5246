"""Every status a row or a decision can be in, as ``StrEnum``s.

A member equals its string (``StageStatus.DONE == "done"``), so rows written before these
existed read back unchanged and no migration is needed; compare against members, never bare
strings, so a typo is an ``AttributeError`` instead of a silent mismatch.
"""

from __future__ import annotations

from enum import StrEnum


class IncidentStatus(StrEnum):
    """An incident is open until it is closed."""

    OPEN = "open"
    CLOSED = "closed"


class StageStatus(StrEnum):
    """A Chapter 9 stage: not started, notified (awaiting acknowledgement), acknowledged, overdue,
    then done or skipped (with a reason)."""

    PENDING = "pending"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    OVERDUE = "overdue"
    DONE = "done"
    SKIPPED = "skipped"


class TaskStatus(StrEnum):
    """A playbook step or a recurrence-prevention action."""

    OPEN = "open"
    OVERDUE = "overdue"
    DONE = "done"
    SKIPPED = "skipped"


class NotificationStatus(StrEnum):
    """An outbox row: pending until a worker leases it (sending), then sent, failed or cancelled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReportabilityStatus(StrEnum):
    """Whether a report to the Commission is required on the known facts; undecided while a fact
    that could make it required is unknown (the statutory clocks run meanwhile)."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"
    UNDECIDED = "undecided"


class DecisionKind(StrEnum):
    """The general manager's record on a reportability assessment."""

    CONFIRMED = "confirmed"
    OVERRIDE_REQUIRED = "override_required"
    OVERRIDE_NOT_REQUIRED = "override_not_required"


#: Stages still running: they remind and escalate.
ACTIVE_STAGES = frozenset({StageStatus.NOTIFIED, StageStatus.ACKNOWLEDGED, StageStatus.OVERDUE})
#: Stages that are finished either way.
CLOSED_STAGES = frozenset({StageStatus.DONE, StageStatus.SKIPPED})
#: Steps and actions someone still has to do.
OPEN_TASKS = frozenset({TaskStatus.OPEN, TaskStatus.OVERDUE})
