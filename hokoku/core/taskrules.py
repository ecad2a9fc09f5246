"""Rules for tasks (playbook steps and recurrence-prevention actions): pure, ``now`` passed in.

A task is reminded once when 80 % of the time from its creation to its due time has passed
("due soon"), and marked overdue once at its due time. Done or skipped tasks need nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hokoku.core.statuses import TaskStatus

OPEN, OVERDUE, DONE, SKIPPED = TaskStatus.OPEN, TaskStatus.OVERDUE, TaskStatus.DONE, TaskStatus.SKIPPED
CLOSED = frozenset({DONE, SKIPPED})
REMIND_AT_FRACTION = 0.8
MIN_LEAD_FOR_REMINDER = timedelta(minutes=10)


@dataclass(frozen=True)
class TaskState:
    status: str
    created_at: datetime
    due_at: datetime | None
    next_reminder_at: datetime | None = None
    reminders_sent: int = 0
    overdue_at: datetime | None = None

    @property
    def next_action_at(self) -> datetime | None:
        if self.status in CLOSED:
            return None
        candidates = [self.next_reminder_at]
        if self.overdue_at is None:
            candidates.append(self.due_at)
        times = [t for t in candidates if t is not None]
        return min(times) if times else None


def first_reminder(created_at: datetime, due_at: datetime | None) -> datetime | None:
    """When the "due soon" reminder goes out; None when the task is too short to need one."""
    if due_at is None or due_at - created_at < MIN_LEAD_FOR_REMINDER:
        return None
    return created_at + (due_at - created_at) * REMIND_AT_FRACTION


def new_task(created_at: datetime, due_at: datetime | None) -> TaskState:
    return TaskState(OPEN, created_at, due_at, first_reminder(created_at, due_at))


def sweep_task(state: TaskState, now: datetime) -> tuple[TaskState, tuple[str, ...]]:
    """Actions due for a task as of ``now``: ``due_soon`` and/or ``overdue``, each at most once."""
    if state.status in CLOSED:
        return state, ()
    actions: list[str] = []
    if state.next_reminder_at is not None and state.next_reminder_at <= now:
        if state.due_at is None or state.due_at > now:
            actions.append("due_soon")
            state = replace(state, reminders_sent=state.reminders_sent + 1)
        state = replace(state, next_reminder_at=None)
    if state.overdue_at is None and state.due_at is not None and state.due_at <= now:
        actions.append("overdue")
        state = replace(state, status=OVERDUE, overdue_at=now)
    return state, tuple(actions)


def close(state: TaskState, *, skip: bool = False) -> TaskState:
    return replace(state, status=SKIPPED if skip else DONE, next_reminder_at=None)
