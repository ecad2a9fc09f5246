"""The Chapter 9 chain's rules: pure functions over plain data, ``now`` passed in.

No database, Prefect, Slack or SMTP here. The services load rows into :class:`StageState`,
call these functions and write the decisions back (with audit events and outbox rows).

Statuses: ``pending`` (not started) → ``notified`` (started, owner told) → ``acknowledged``
→ ``done``; or ``skipped`` (with a reason); ``overdue`` when the due time passed before it
was done (the acknowledgement is kept in ``acknowledged_at``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hokoku.core.durations import Duration, before
from hokoku.core.exceptions import TransitionRefused
from hokoku.core.policy import EffectiveTimings, StagePolicy
from hokoku.core.statuses import ACTIVE_STAGES, CLOSED_STAGES, StageStatus
from hokoku.i18n import LazyText, lazy, t_or

PENDING, NOTIFIED, ACKNOWLEDGED, DONE, SKIPPED, OVERDUE = (
    StageStatus.PENDING,
    StageStatus.NOTIFIED,
    StageStatus.ACKNOWLEDGED,
    StageStatus.DONE,
    StageStatus.SKIPPED,
    StageStatus.OVERDUE,
)
ACTIVE = ACTIVE_STAGES
CLOSED = CLOSED_STAGES


def _status(status: str) -> LazyText:
    return lazy(f"stage_status.{status}")


def status_label(status: str, lang: str = "ja") -> str:
    """Human label of a stage status in ``ja`` or ``en`` (an unknown status as it is)."""
    return t_or(f"stage_status.{status}", lang, status)


@dataclass(frozen=True)
class LadderLevel:
    level: int
    at: datetime
    roles: tuple[str, ...]
    emails: tuple[str, ...]


@dataclass(frozen=True)
class StageState:
    code: str
    status: str = PENDING
    activated_at: datetime | None = None
    due_at: datetime | None = None
    next_reminder_at: datetime | None = None
    next_escalation_at: datetime | None = None
    escalation_level: int = 0
    reminders_sent: int = 0
    ladder: tuple[LadderLevel, ...] = ()
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    overdue_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    next_warning_at: datetime | None = None

    @property
    def next_action_at(self) -> datetime | None:
        """The earliest time the sweep has something to do for this stage (indexed column)."""
        if self.status not in ACTIVE:
            return None
        candidates = [self.next_reminder_at, self.next_escalation_at, self.next_warning_at]
        if self.overdue_at is None:
            candidates.append(self.due_at)
        times = [t for t in candidates if t is not None]
        return min(times) if times else None

    def entitled(self) -> set[str]:
        """Who may acknowledge or complete: the owner, deputies and everyone on the ladder."""
        return {e for lvl in self.ladder for e in lvl.emails}

    def current_recipients(self) -> tuple[str, ...]:
        """The owner plus everyone the ladder has added so far (escalation adds, never replaces)."""
        if not self.ladder:
            return ()
        reached = self.ladder[: min(self.escalation_level, len(self.ladder) - 1) + 1]
        return tuple(dict.fromkeys(e for level in reached for e in level.emails))


# -- decisions the sweep turns into messages ------------------------------------------------
@dataclass(frozen=True)
class Reminder:
    number: int
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Escalation:
    level: int
    roles: tuple[str, ...]
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class DueWarning:
    """A reminder before the due time (e.g. 5 business days before a statutory due date); it
    goes out whether or not the stage was acknowledged, until the stage is done."""

    before: str
    due_at: datetime
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class OverdueMark:
    due_at: datetime
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class SweepOutcome:
    state: StageState
    actions: tuple[Reminder | Escalation | DueWarning | OverdueMark, ...] = field(default_factory=tuple)


def build_ladder(
    timings: EffectiveTimings, start: datetime, people: list[tuple[tuple[str, ...], tuple[str, ...]]]
) -> tuple[LadderLevel, ...]:
    """Level 0 is the owner at ``start``; level i is ladder step i at start + its ``after``.

    ``people`` holds (roles, emails) for level 0 and for each ladder step, already resolved.
    Steps that resolve to nobody (e.g. no deputy) are kept so levels keep their numbers.
    """
    levels = [LadderLevel(0, start, people[0][0], people[0][1])]
    for i, (after, _roles) in enumerate(timings.ladder, start=1):
        roles, emails = people[i]
        levels.append(LadderLevel(i, after.after(start), roles, emails))
    return tuple(levels)


def activate(
    state: StageState,
    timings: EffectiveTimings,
    ladder: tuple[LadderLevel, ...],
    now: datetime,
    *,
    due_at: datetime | None = None,
) -> StageState:
    """Start a pending stage: due time, first reminder, first escalation.

    ``due_at`` overrides the policy's relative deadline for stages whose due time is set by
    law from another instant (the statutory reports count from awareness, not from start).
    """
    if state.status != PENDING:
        raise TransitionRefused(key="err.stage.started", code=state.code)
    due = due_at or timings.deadline.after(now)
    return replace(
        state,
        status=NOTIFIED,
        activated_at=now,
        due_at=due,
        next_reminder_at=timings.remind_every.after(now) if timings.remind_every else None,
        next_escalation_at=ladder[1].at if len(ladder) > 1 else None,
        next_warning_at=next_warning(timings, due, now),
        ladder=ladder,
    )


def warning_times(timings: EffectiveTimings, due_at: datetime) -> list[tuple[datetime, Duration]]:
    """The policy's reminders before ``due_at`` (``remind_before``), earliest first."""
    return sorted(((before(due_at, d), d) for d in timings.remind_before), key=lambda pair: pair[0])


def next_warning(timings: EffectiveTimings, due_at: datetime | None, now: datetime) -> datetime | None:
    """The first reminder before the due time that is still ahead of ``now`` (None if none)."""
    if due_at is None:
        return None
    return next((t for t, _d in warning_times(timings, due_at) if now < t < due_at), None)


def reschedule(state: StageState, timings: EffectiveTimings, due_at: datetime, now: datetime) -> StageState:
    """Move a started stage's due time (a fact changed: awareness corrected, triage).

    An overdue stage whose new due time is still ahead is no longer overdue; the reminders
    before the due time are recounted from the new due time.
    """
    if state.status not in ACTIVE:
        raise TransitionRefused(key="err.stage.due_fixed", code=state.code, status=_status(state.status))
    status, overdue_at = state.status, state.overdue_at
    if state.status == OVERDUE and due_at > now:
        status, overdue_at = (ACKNOWLEDGED if state.acknowledged_at else NOTIFIED), None
    return replace(
        state, due_at=due_at, status=status, overdue_at=overdue_at, next_warning_at=next_warning(timings, due_at, now)
    )


def _next_after(start: datetime, every: Duration, now: datetime) -> datetime:
    """The first time start + k*every (k >= 1) strictly after now."""
    if every.unit in ("minutes", "hours", "days"):
        step = every.approx_timedelta()
        if step <= timedelta(0):
            return now + timedelta(minutes=1)
        k = (now - start) // step + 1 if now >= start else 1
        return start + k * step
    t = every.after(start)
    while t <= now:
        t = every.after(t)
    return t


def sweep_stage(state: StageState, timings: EffectiveTimings, now: datetime) -> SweepOutcome:
    """What is due for one stage as of ``now``: escalations, one reminder, the overdue mark.

    Idempotent: the returned state moves every due time past ``now``, so a second sweep at
    the same ``now`` decides nothing.
    """
    if state.status not in ACTIVE:
        return SweepOutcome(state)
    actions: list[Reminder | Escalation | DueWarning | OverdueMark] = []
    unacked = state.acknowledged_at is None
    level, next_esc = state.escalation_level, state.next_escalation_at
    escalated = False
    while unacked and next_esc is not None and next_esc <= now:
        level += 1
        step = state.ladder[level]
        actions.append(Escalation(level, step.roles, step.emails))
        escalated = True
        next_esc = state.ladder[level + 1].at if level + 1 < len(state.ladder) else None
    state = replace(state, escalation_level=level, next_escalation_at=next_esc if unacked else None)

    next_rem = state.next_reminder_at
    if unacked and next_rem is not None and next_rem <= now and timings.remind_every is not None:
        if not escalated:  # an escalation message already reminds everyone concerned
            number = state.reminders_sent + 1
            actions.append(Reminder(number, state.current_recipients()))
            state = replace(state, reminders_sent=number)
        state = replace(state, next_reminder_at=_next_after(next_rem, timings.remind_every, now))
    elif not unacked:
        state = replace(state, next_reminder_at=None)

    if state.next_warning_at is not None and state.next_warning_at <= now:
        passed = [d for t, d in warning_times(timings, state.due_at) if t <= now] if state.due_at else []
        if passed and state.due_at is not None and now < state.due_at:
            actions.append(DueWarning(str(passed[-1]), state.due_at, state.current_recipients()))
        state = replace(state, next_warning_at=next_warning(timings, state.due_at, now))

    if state.overdue_at is None and state.due_at is not None and state.due_at <= now:
        actions.append(OverdueMark(state.due_at, state.current_recipients()))
        state = replace(state, status=OVERDUE, overdue_at=now, next_warning_at=None)
    return SweepOutcome(state, tuple(actions))


def acknowledge(stage: StagePolicy, state: StageState, *, actor: str, now: datetime) -> StageState:
    """Acknowledge a started stage: reminders and escalation stop; an ``ack`` stage is done."""
    if state.status == PENDING:
        raise TransitionRefused(key="err.stage.not_started", code=state.code)
    if state.status in CLOSED:
        raise TransitionRefused(key="err.stage.already", code=state.code, status=_status(state.status))
    if state.acknowledged_at is not None:
        raise TransitionRefused(key="err.stage.already_acked", code=state.code, by=state.acknowledged_by)
    _require_entitled(state, actor, "acknowledge")
    state = replace(
        state,
        acknowledged_at=now,
        acknowledged_by=actor,
        next_reminder_at=None,
        next_escalation_at=None,
        status=state.status if state.status == OVERDUE else ACKNOWLEDGED,
    )
    if stage.completed_by == "ack":
        state = replace(state, status=DONE, completed_at=now, completed_by=actor, next_warning_at=None)
    return state


def complete(
    stage: StagePolicy,
    state: StageState,
    statuses: dict[str, str],
    *,
    actor: str,
    now: datetime,
    skip_reason: str | None = None,
    skip: bool = False,
) -> StageState:
    """Mark a stage done (or skipped, with a reason), refusing what the policy forbids."""
    if state.status in CLOSED:
        raise TransitionRefused(key="err.stage.already", code=state.code, status=_status(state.status))
    if skip:
        if stage.when == "statutory":
            raise TransitionRefused(key="err.stage.statutory_skip", code=state.code)
        if not stage.skippable:
            raise TransitionRefused(key="err.stage.no_skip", code=state.code, article=stage.article)
        if not (skip_reason or "").strip():
            raise TransitionRefused(key="err.stage.skip_reason", code=state.code)
    else:
        if stage.completed_by == "intake":
            raise TransitionRefused(key="err.stage.by_intake", code=state.code)
        if stage.completed_by == "assessment":
            raise TransitionRefused(key="err.stage.by_assessment", code=state.code)
        if stage.completed_by == "notice":
            raise TransitionRefused(key="err.stage.by_notice", code=state.code)
        if state.status == PENDING and not stage.allow_early:
            open_ = [r for r in stage.requires if statuses.get(r) not in CLOSED]
            if open_:
                raise TransitionRefused(key="err.stage.before", code=state.code, open=", ".join(open_))
            raise TransitionRefused(key="err.stage.before_start", code=state.code)
    _require_entitled(state, actor, "skip" if skip else "complete")
    acknowledged_at, acknowledged_by = state.acknowledged_at, state.acknowledged_by
    if acknowledged_at is None and not skip:
        acknowledged_at, acknowledged_by = now, actor
    return replace(
        state,
        acknowledged_at=acknowledged_at,
        acknowledged_by=acknowledged_by,
        status=SKIPPED if skip else DONE,
        completed_at=now,
        completed_by=actor,
        next_reminder_at=None,
        next_escalation_at=None,
        next_warning_at=None,
    )


def discharge(state: StageState, *, by: str, now: datetime) -> StageState:
    """A duty discharged by a record rather than by ``advance``: the assessment decided
    (triage), the notices recorded (notice to individuals)."""
    if state.status in CLOSED:
        raise TransitionRefused(key="err.stage.already", code=state.code, status=_status(state.status))
    return replace(
        state,
        status=DONE,
        activated_at=state.activated_at or now,
        acknowledged_at=state.acknowledged_at or now,
        acknowledged_by=state.acknowledged_by or by,
        completed_at=now,
        completed_by=by,
        next_reminder_at=None,
        next_escalation_at=None,
        next_warning_at=None,
    )


def set_aside(state: StageState, *, by: str, now: datetime) -> StageState:
    """Skip a stage that no longer applies (a decision, or a stage it depends on was skipped)."""
    if state.status in CLOSED:
        raise TransitionRefused(key="err.stage.already", code=state.code, status=_status(state.status))
    return replace(
        state,
        status=SKIPPED,
        completed_at=now,
        completed_by=by,
        next_reminder_at=None,
        next_escalation_at=None,
        next_warning_at=None,
    )


def received(state: StageState, *, actor: str, now: datetime) -> StageState:
    """The 27-1 report stage: done the moment the report is received."""
    return replace(
        state,
        status=DONE,
        activated_at=state.activated_at or now,
        due_at=state.due_at or now,
        acknowledged_at=now,
        acknowledged_by=actor,
        completed_at=now,
        completed_by=actor,
        next_reminder_at=None,
        next_escalation_at=None,
    )


def ready_to_start(stages: list[StagePolicy], statuses: dict[str, str]) -> list[str]:
    """Codes of pending stages whose required stages are all done or skipped, and whose
    ``requires_done`` stages are done (not skipped)."""
    return [
        st.code
        for st in stages
        if statuses.get(st.code) == PENDING
        and all(statuses.get(r, DONE) in CLOSED for r in st.requires)
        and all(statuses.get(r, DONE) == DONE for r in st.requires_done)
    ]


def not_applicable(stages: list[StagePolicy], statuses: dict[str, str]) -> list[str]:
    """Codes of pending stages that can no longer apply: a stage they need done was skipped
    (28-2 informs the Commission about a published case; nothing published, nothing to inform)."""
    return [
        st.code
        for st in stages
        if statuses.get(st.code) == PENDING and any(statuses.get(r) == SKIPPED for r in st.requires_done)
    ]


def _require_entitled(state: StageState, actor: str, verb: str) -> None:
    if actor.lower() not in state.entitled():
        owners = ", ".join(state.ladder[0].emails) if state.ladder else lazy("err.nobody")
        raise TransitionRefused(
            key="err.stage.not_entitled", actor=actor, verb=lazy(f"err.verb.{verb}"), code=state.code, owners=owners
        )


def permitted_actions(
    stage: StagePolicy, state: StageState, statuses: dict[str, str], *, actor: str, now: datetime
) -> frozenset[str]:
    """What ``actor`` may do to this stage now — ``ack``, ``done``, ``skip`` — decided by running
    the very rules that decide the transition itself (:func:`acknowledge`, :func:`complete`), so a
    page offers exactly what a POST would be allowed to do."""
    allowed = set()
    attempts: tuple[tuple[str, Callable[[], object]], ...] = (
        ("ack", lambda: acknowledge(stage, state, actor=actor, now=now)),
        ("done", lambda: complete(stage, state, statuses, actor=actor, now=now)),
        ("skip", lambda: complete(stage, state, statuses, actor=actor, now=now, skip=True, skip_reason="-")),
    )
    for verb, attempt in attempts:
        try:
            attempt()
        except TransitionRefused:
            continue
        allowed.add(verb)
    return frozenset(allowed)
