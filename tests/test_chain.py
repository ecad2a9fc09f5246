"""The pure core (hokoku.core.chain): reminders, the escalation ladder, overdue marks, transitions.

Everything here is plain data with ``now`` passed in; the ladder's people come from the demo
organisation file through the pure ``hokoku.config.org`` look-ups (no database).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from hokoku.config.org import DEMO_ORG, load_organisation
from hokoku.config.policyfile import load_policy
from hokoku.core import chain
from hokoku.core.chain import Escalation, OverdueMark, Reminder, StageState
from hokoku.core.durations import parse_duration
from hokoku.core.exceptions import TransitionRefused
from hokoku.core.policy import EffectiveTimings
from hokoku.core.timeutil import JST
from tests.helpers import GM, IM, PM, PM_DEPUTY, PO, STAFF_NOT_ON_LADDER, T0, minutes

POLICY = load_policy()
ORG = load_organisation(DEMO_ORG)
DIVISION = "IDS-SURVEY"


def _emails(roles, owner_role: str) -> tuple[str, ...]:
    found = [p.email for role in roles for p in ORG.resolve(role, DIVISION, owner_role=owner_role)]
    return tuple(dict.fromkeys(found))


def start(code: str, *, at: datetime = T0, serious: bool = False, timings: EffectiveTimings | None = None):
    """(policy stage, timings, activated state) for ``code`` in IDS-SURVEY, started ``at``."""
    sp = POLICY.stage(code)
    timings = timings or sp.timings(serious)
    people = [((sp.owner,), _emails((sp.owner,), sp.owner))]
    people += [(roles, _emails(roles, sp.owner)) for _after, roles in timings.ladder]
    ladder = chain.build_ladder(timings, at, people)
    return sp, timings, chain.activate(StageState(code), timings, ladder, at)


def reminders_only(every: str = "15m", deadline: str = "1d") -> EffectiveTimings:
    """Timings with reminders and no ladder, to look at the reminder cadence alone."""
    return EffectiveTimings(deadline=parse_duration(deadline), remind_every=parse_duration(every), ladder=())


def walk(
    state: StageState,
    timings: EffectiveTimings,
    *,
    until: timedelta,
    origin: datetime = T0,
    step: timedelta = timedelta(minutes=1),
) -> tuple[StageState, list[tuple[timedelta, object]]]:
    """Sweep every ``step`` from origin+step to origin+until; (offset, action) for each action."""
    seen = []
    offset = step
    while offset <= until:
        outcome = chain.sweep_stage(state, timings, origin + offset)
        state = outcome.state
        seen.extend((offset, action) for action in outcome.actions)
        offset += step
    return state, seen


# -- reminders -----------------------------------------------------------------------------
def test_no_reminder_before_the_interval_has_passed():
    """At 14:59 after the start of a 15-minute-reminder stage nothing is due."""
    _sp, timings, state = start("acknowledge")
    outcome = chain.sweep_stage(state, timings, T0 + timedelta(minutes=14, seconds=59))
    assert outcome.actions == ()
    assert outcome.state.reminders_sent == 0


def test_first_reminder_at_exactly_the_interval_goes_to_the_owner():
    """At 15:00 the first reminder goes to the protection manager and the next is set for 30:00."""
    _sp, timings, state = start("acknowledge")
    outcome = chain.sweep_stage(state, timings, T0 + minutes(15))
    assert outcome.actions == (Reminder(1, (PM,)),)
    assert outcome.state.reminders_sent == 1
    assert outcome.state.next_reminder_at == T0 + minutes(30)


def test_second_reminder_falls_due_at_twice_the_interval():
    """With reminders every 15m: none at 29:59, the second at 30:00."""
    _sp, timings, state = start("acknowledge", timings=reminders_only("15m"))
    state = chain.sweep_stage(state, timings, T0 + minutes(15)).state
    assert chain.sweep_stage(state, timings, T0 + timedelta(minutes=29, seconds=59)).actions == ()
    assert chain.sweep_stage(state, timings, T0 + minutes(30)).actions == (Reminder(2, (PM,)),)


def test_reminder_cadence_minute_by_minute():
    """Swept every minute for 2h, 15-minute reminders fire at 15, 30, 45 ... 120 and nowhere else."""
    _sp, timings, state = start("acknowledge", timings=reminders_only("15m"))
    _state, seen = walk(state, timings, until=timedelta(hours=2))
    assert [(off, a) for off, a in seen if isinstance(a, Reminder)] == [
        (minutes(15 * n), Reminder(n, (PM,))) for n in range(1, 9)
    ]


def test_long_gap_sends_one_reminder_not_a_flood():
    """After a 3h07m gap one reminder is sent (not twelve) and the next moves past now, on the grid."""
    _sp, timings, state = start("acknowledge", timings=reminders_only("15m"))
    now = T0 + timedelta(hours=3, minutes=7)
    outcome = chain.sweep_stage(state, timings, now)
    assert outcome.actions == (Reminder(1, (PM,)),)
    assert outcome.state.next_reminder_at == T0 + timedelta(hours=3, minutes=15)
    assert outcome.state.next_reminder_at > now


def test_reminder_with_a_frozen_clock():
    """Driven by datetime.now() under freezegun: nothing at 14m, one reminder at 15m, none again at 15m."""
    with freeze_time(T0) as clock:
        _sp, timings, state = start("acknowledge", at=datetime.now(UTC))
        clock.tick(minutes(14))
        assert chain.sweep_stage(state, timings, datetime.now(UTC)).actions == ()
        clock.tick(minutes(1))
        outcome = chain.sweep_stage(state, timings, datetime.now(UTC))
        assert outcome.actions == (Reminder(1, (PM,)),)
        assert chain.sweep_stage(outcome.state, timings, datetime.now(UTC)).actions == ()


# -- the escalation ladder -----------------------------------------------------------------
def test_ladder_levels_resolve_to_the_policy_roles():
    """The acknowledge ladder: owner at 0, deputy+officer at 30m, institute manager at 1h, GM at 2h."""
    _sp, _t, state = start("acknowledge")
    assert [(lvl.level, lvl.at, lvl.emails) for lvl in state.ladder] == [
        (0, T0, (PM,)),
        (1, T0 + minutes(30), (PM_DEPUTY, PO)),
        (2, T0 + minutes(60), (IM,)),
        (3, T0 + minutes(120), (GM,)),
    ]


def test_escalation_level_1_at_30m_to_deputy_and_protection_officer():
    """Nothing escalates at 29:59; at 30:00 level 1 goes to the deputy and the protection officer."""
    _sp, timings, state = start("acknowledge")
    state = chain.sweep_stage(state, timings, T0 + minutes(15)).state
    before = chain.sweep_stage(state, timings, T0 + timedelta(minutes=29, seconds=59))
    assert not [a for a in before.actions if isinstance(a, Escalation)]
    outcome = chain.sweep_stage(state, timings, T0 + minutes(30))
    assert outcome.actions == (Escalation(1, ("deputy", "protection_officer"), (PM_DEPUTY, PO)),)
    assert outcome.state.escalation_level == 1
    assert outcome.state.next_escalation_at == T0 + minutes(60)


def test_ladder_minute_by_minute():
    """Swept every minute: level 1 at 30m, level 2 (institute manager) at 1h, level 3 (GM) at 2h, once each."""
    _sp, timings, state = start("acknowledge")
    state, seen = walk(state, timings, until=timedelta(hours=4))
    assert [(off, a) for off, a in seen if isinstance(a, Escalation)] == [
        (minutes(30), Escalation(1, ("deputy", "protection_officer"), (PM_DEPUTY, PO))),
        (minutes(60), Escalation(2, ("institute_manager",), (IM,))),
        (minutes(120), Escalation(3, ("general_manager",), (GM,))),
    ]
    assert state.escalation_level == 3
    assert state.next_escalation_at is None


def test_escalation_stands_in_for_the_reminder_due_at_the_same_minute():
    """At 30:00 the escalation replaces reminder #2; at 45:00 reminder #2 reaches the owner and level 1."""
    _sp, timings, state = start("acknowledge")
    state = chain.sweep_stage(state, timings, T0 + minutes(15)).state
    at_30 = chain.sweep_stage(state, timings, T0 + minutes(30))
    assert [type(a) for a in at_30.actions] == [Escalation]
    assert at_30.state.reminders_sent == 1
    assert at_30.state.next_reminder_at == T0 + minutes(45)
    at_45 = chain.sweep_stage(at_30.state, timings, T0 + minutes(45))
    assert at_45.actions == (Reminder(2, (PM, PM_DEPUTY, PO)),)


def test_stall_escalates_every_passed_level_once():
    """A first sweep 2h05m late escalates levels 1, 2 and 3 in order, marks overdue, sends no reminder."""
    _sp, timings, state = start("acknowledge")
    now = T0 + timedelta(hours=2, minutes=5)
    outcome = chain.sweep_stage(state, timings, now)
    assert [(a.level, a.recipients) for a in outcome.actions if isinstance(a, Escalation)] == [
        (1, (PM_DEPUTY, PO)),
        (2, (IM,)),
        (3, (GM,)),
    ]
    assert [type(a) for a in outcome.actions] == [Escalation, Escalation, Escalation, OverdueMark]
    later = chain.sweep_stage(outcome.state, timings, now + minutes(30))
    assert not [a for a in later.actions if isinstance(a, (Escalation, OverdueMark))]


def test_people_added_by_the_ladder_keep_getting_reminders_after_a_higher_level():
    """After level 2 (1h), reminders still go to the owner, the level-1 people and the institute manager."""
    _sp, timings, state = start("acknowledge")
    state, _seen = walk(state, timings, until=minutes(60))
    outcome = chain.sweep_stage(state, timings, T0 + minutes(75))
    assert outcome.actions == (Reminder(outcome.state.reminders_sent, (PM, PM_DEPUTY, PO, IM)),)


def test_overdue_notice_reaches_everyone_the_ladder_has_reached():
    """The 1h overdue mark of the acknowledge stage (same minute as level 2) names the institute manager."""
    _sp, timings, state = start("acknowledge")
    _state, seen = walk(state, timings, until=minutes(60))
    marks = [a for _off, a in seen if isinstance(a, OverdueMark)]
    assert len(marks) == 1 and {PM, IM} <= set(marks[0].recipients)


# -- serious cases -------------------------------------------------------------------------
def test_serious_timings_are_tighter_than_normal():
    """Serious: due 15m, reminders every 5m, ladder at 10/20/30m; normal: 1h, 15m, 30m/1h/2h."""
    _sp, _t, normal = start("acknowledge")
    _sp, _t, serious = start("acknowledge", serious=True)
    assert (normal.due_at, normal.next_reminder_at) == (T0 + minutes(60), T0 + minutes(15))
    assert [lvl.at for lvl in normal.ladder[1:]] == [T0 + minutes(m) for m in (30, 60, 120)]
    assert (serious.due_at, serious.next_reminder_at) == (T0 + minutes(15), T0 + minutes(5))
    assert [lvl.at for lvl in serious.ladder[1:]] == [T0 + minutes(m) for m in (10, 20, 30)]


def test_serious_case_minute_by_minute():
    """Serious: reminders at 5 and 15 (10 and 20 are escalations), ladder at 10/20/30m, overdue at 15m."""
    _sp, timings, state = start("acknowledge", serious=True)
    _state, seen = walk(state, timings, until=minutes(30))
    assert [(off, type(a).__name__, getattr(a, "level", getattr(a, "number", None))) for off, a in seen] == [
        (minutes(5), "Reminder", 1),
        (minutes(10), "Escalation", 1),
        (minutes(15), "Reminder", 2),
        (minutes(15), "OverdueMark", None),
        (minutes(20), "Escalation", 2),
        (minutes(25), "Reminder", 3),
        (minutes(30), "Escalation", 3),
    ]


# -- acknowledgement -----------------------------------------------------------------------
def test_acknowledgement_stops_reminders_and_escalation():
    """Acknowledged at 20m, the acknowledge stage is done: no reminder or escalation for 4 hours."""
    sp, timings, state = start("acknowledge")
    state = chain.sweep_stage(state, timings, T0 + minutes(15)).state
    state = chain.acknowledge(sp, state, actor=PO, now=T0 + minutes(20))
    assert (state.status, state.acknowledged_by, state.completed_by) == (chain.DONE, PO, PO)
    assert state.next_action_at is None
    _state, seen = walk(state, timings, until=timedelta(hours=4), origin=T0 + minutes(20))
    assert seen == []


def test_acknowledged_advance_stage_gets_no_reminders_but_still_goes_overdue():
    """An acknowledged immediate-measures stage gets no reminders or escalations, only its overdue mark."""
    sp, timings, state = start("immediate-measures")
    state = chain.acknowledge(sp, state, actor=PM, now=T0 + minutes(10))
    assert state.status == chain.ACKNOWLEDGED
    _state, seen = walk(state, timings, until=timedelta(hours=5), origin=T0)
    assert [(off, type(a)) for off, a in seen] == [(timedelta(hours=2), OverdueMark)]


def test_acknowledgement_by_someone_not_on_the_ladder_is_refused_with_a_reason():
    """A staff member who is not on the ladder may not acknowledge; the reason names the owner."""
    sp, _t, state = start("acknowledge")
    with pytest.raises(TransitionRefused) as err:
        chain.acknowledge(sp, state, actor=STAFF_NOT_ON_LADDER, now=T0 + minutes(5))
    assert f"{STAFF_NOT_ON_LADDER} may not acknowledge stage acknowledge" in str(err.value)
    assert PM in str(err.value)


def test_anyone_on_the_ladder_may_acknowledge_before_being_escalated_to():
    """The institute manager (ladder level 2) may acknowledge at 5m, before level 2 is reached."""
    sp, _t, state = start("acknowledge")
    assert chain.acknowledge(sp, state, actor=IM, now=T0 + minutes(5)).acknowledged_by == IM


def test_second_acknowledgement_is_refused():
    """An acknowledged advance-stage cannot be acknowledged again; the reason names who did."""
    sp, _t, state = start("immediate-measures")
    state = chain.acknowledge(sp, state, actor=PM, now=T0 + minutes(5))
    with pytest.raises(TransitionRefused, match=f"already acknowledged by {PM}"):
        chain.acknowledge(sp, state, actor=PO, now=T0 + minutes(6))


# -- overdue and idempotence ---------------------------------------------------------------
def test_overdue_mark_exactly_once():
    """The overdue mark comes at the due minute, once, however often the sweep runs afterwards."""
    _sp, timings, state = start("immediate-measures")
    state, seen = walk(state, timings, until=timedelta(hours=6))
    marks = [(off, a) for off, a in seen if isinstance(a, OverdueMark)]
    assert [(off, a.due_at) for off, a in marks] == [(timedelta(hours=2), T0 + timedelta(hours=2))]
    assert PM in marks[0][1].recipients
    assert state.status == chain.OVERDUE
    assert state.overdue_at == T0 + timedelta(hours=2)


def test_sweep_is_idempotent_at_the_same_now():
    """A second sweep at the same instant decides nothing and leaves the state as it was."""
    _sp, timings, state = start("acknowledge")
    now = T0 + timedelta(hours=2, minutes=5)
    first = chain.sweep_stage(state, timings, now)
    assert first.actions
    second = chain.sweep_stage(first.state, timings, now)
    assert second.actions == ()
    assert second.state == first.state
    assert first.state.next_action_at > now


# -- completing and skipping ---------------------------------------------------------------
def test_skip_needs_a_reason():
    """Skipping a skippable stage (dg-report) with a blank reason is refused, naming --skip-reason."""
    sp, _t, state = start("dg-report")
    with pytest.raises(TransitionRefused, match=r"skipping stage dg-report needs a reason \(--skip-reason\)"):
        chain.complete(sp, state, {}, actor=GM, now=T0 + minutes(5), skip=True, skip_reason="   ")


def test_skip_of_a_non_skippable_stage_is_refused():
    """root-cause (27-5) cannot be skipped even with a reason."""
    sp, _t, state = start("root-cause")
    with pytest.raises(TransitionRefused, match=r"stage root-cause \(27-5\) cannot be skipped"):
        chain.complete(sp, state, {}, actor=PM, now=T0 + minutes(5), skip=True, skip_reason="no need")


def test_skip_with_a_reason_on_a_skippable_stage():
    """A skippable stage skipped with a reason is closed as skipped and needs no more sweeping."""
    sp, _t, state = start("dg-report")
    state = chain.complete(sp, state, {}, actor=GM, now=T0 + minutes(5), skip=True, skip_reason="minor case")
    assert (state.status, state.completed_by, state.next_action_at) == (chain.SKIPPED, GM, None)


def test_completing_out_of_order_is_refused_naming_the_unmet_stage():
    """containment cannot be completed while immediate-measures is open; the reason names it."""
    sp = POLICY.stage("containment")
    statuses = {"report": "done", "acknowledge": "done", "immediate-measures": "notified", "containment": "pending"}
    with pytest.raises(TransitionRefused) as err:
        chain.complete(sp, StageState("containment"), statuses, actor=PM, now=T0)
    assert str(err.value) == "stage containment cannot be completed before immediate-measures is done"


def test_the_report_stage_cannot_be_advanced():
    """The 27-1 report stage is completed by the report itself, never by advance."""
    sp = POLICY.stage("report")
    with pytest.raises(TransitionRefused, match="completed by the report itself"):
        chain.complete(sp, StageState("report", status=chain.NOTIFIED), {}, actor=PM, now=T0)


def test_completing_without_an_acknowledgement_records_the_completer_as_acknowledging():
    """Completing an unacknowledged stage counts as its acknowledgement and stops the ladder."""
    sp, _t, state = start("immediate-measures")
    done = chain.complete(sp, state, {"acknowledge": "done"}, actor=PM, now=T0 + minutes(40))
    assert (done.status, done.acknowledged_by, done.acknowledged_at) == (chain.DONE, PM, T0 + minutes(40))
    assert (done.next_reminder_at, done.next_escalation_at, done.next_action_at) == (None, None, None)


def test_ready_to_start_follows_requires():
    """After immediate-measures, both containment and investigation-report may start."""
    stages = POLICY.applicable(entry="staff")
    statuses = {st.code: chain.PENDING for st in stages}
    statuses.update(
        {
            "report": "done",
            "acknowledge": "done",
            "triage": "done",
            "immediate-measures": "skipped",
            "ppc-preliminary": "notified",
            "ppc-final": "notified",
            "individual-notice": "notified",
        }
    )
    assert chain.ready_to_start(stages, statuses) == ["containment", "investigation-report"]


LADDER = (chain.LadderLevel(0, T0, ("general_manager",), (PM,)),)


def test_statutory_duties_are_ready_with_the_report_in_parallel():
    """Right after the report both Commission reports and the notice duty may start: the final
    report does not wait for the preliminary one, nor for triage."""
    stages = POLICY.applicable(entry="staff")
    statuses = {st.code: chain.PENDING for st in stages} | {"report": "done"}
    ready = chain.ready_to_start(stages, statuses)
    assert {"acknowledge", "ppc-preliminary", "ppc-final", "individual-notice"} <= set(ready)
    assert "triage" not in ready  # triage starts with the acknowledgement


def test_information_to_the_commission_needs_a_publication_done_not_skipped():
    """28-2 is about a published case: publication skipped → 28-2 no longer applies."""
    stages = POLICY.applicable(entry="staff")
    base = {st.code: chain.DONE for st in stages} | {"commission-information": chain.PENDING}
    assert chain.ready_to_start(stages, base | {"publication": chain.SKIPPED}) == []
    assert chain.not_applicable(stages, base | {"publication": chain.SKIPPED}) == ["commission-information"]
    assert chain.ready_to_start(stages, base) == ["commission-information"]
    assert chain.not_applicable(stages, base) == []


def test_a_statutory_duty_cannot_be_skipped_with_a_reason():
    """The notice to individuals is never ended by a bare skip, whatever the reason given."""
    sp = POLICY.stage("individual-notice")
    state = StageState("individual-notice", status=chain.NOTIFIED, ladder=LADDER)
    with pytest.raises(TransitionRefused, match="statutory duty and cannot be skipped"):
        chain.complete(sp, state, {}, actor=PM, now=T0, skip=True, skip_reason="影響軽微のため公表しない")


def test_reminders_before_a_due_date_count_back_business_days_to_a_working_morning():
    """ppc-final due Fri 2027-03-05: 10/5/2/1 business days before are 09:00 JST on those mornings
    (10 back skips the weekends and 天皇誕生日, Tue 2027-02-23)."""
    timings = POLICY.stage("ppc-final").timings(False)
    due = datetime(2027, 3, 5, 23, 59, 59, tzinfo=JST)
    times = [t.astimezone(JST).strftime("%m-%d %H:%M") for t, _d in chain.warning_times(timings, due)]
    assert times == ["02-18 09:00", "02-26 09:00", "03-03 09:00", "03-04 09:00"]


def test_a_due_warning_goes_out_after_acknowledgement_until_the_stage_is_done():
    """Acknowledging a statutory report does not file it: warnings before the due date continue."""
    sp = POLICY.stage("ppc-final")
    timings = sp.timings(False)
    due = datetime(2027, 3, 5, 23, 59, 59, tzinfo=JST)
    state = chain.activate(StageState("ppc-final"), timings, LADDER, T0, due_at=due)
    state = chain.acknowledge(sp, state, actor=PM, now=T0)
    assert state.next_warning_at is not None
    outcome = chain.sweep_stage(state, timings, datetime(2027, 3, 3, 9, 30, tzinfo=JST))
    warnings = [a for a in outcome.actions if isinstance(a, chain.DueWarning)]
    assert [w.before for w in warnings] == ["2bd"]  # only the latest passed warning, once
    assert outcome.state.next_warning_at == datetime(2027, 3, 4, 9, 0, tzinfo=JST)
    assert chain.sweep_stage(outcome.state, timings, datetime(2027, 3, 3, 9, 30, tzinfo=JST)).actions == ()


def test_rescheduling_an_overdue_stage_to_a_later_due_time_clears_overdue():
    """A withdrawn 30-day case that becomes 60-day: the stage is no longer overdue."""
    timings = POLICY.stage("ppc-final").timings(False)
    state = chain.activate(StageState("ppc-final"), timings, LADDER, T0, due_at=T0 + timedelta(days=1))
    late = chain.sweep_stage(state, timings, T0 + timedelta(days=2)).state
    assert late.status == chain.OVERDUE
    moved = chain.reschedule(late, timings, T0 + timedelta(days=30), T0 + timedelta(days=2))
    assert moved.status == chain.NOTIFIED and moved.overdue_at is None and moved.due_at == T0 + timedelta(days=30)


# -- next_action_at ------------------------------------------------------------------------
@pytest.mark.parametrize("status", [chain.PENDING, chain.DONE, chain.SKIPPED])
def test_next_action_at_is_none_unless_the_stage_is_active(status):
    """Pending, done and skipped stages have no next action even with times left on them."""
    state = StageState("acknowledge", status=status, due_at=T0, next_reminder_at=T0, next_escalation_at=T0)
    assert state.next_action_at is None


def test_next_action_at_is_the_earliest_due_time_of_an_active_stage():
    """For a started stage the next action is the earliest of reminder, escalation and due time."""
    _sp, _t, state = start("acknowledge")
    assert state.next_action_at == T0 + minutes(15)
    assert replace(state, next_reminder_at=None).next_action_at == T0 + minutes(30)
    assert replace(state, next_reminder_at=None, next_escalation_at=None).next_action_at == T0 + minutes(60)


# -- business days -------------------------------------------------------------------------
def test_business_day_deadline_skips_the_weekend():
    """containment (2bd) started on Friday 10:00 JST is due on Tuesday 10:00 JST."""
    friday = datetime(2027, 2, 5, 10, 0, tzinfo=JST)
    assert friday.weekday() == 4
    _sp, _t, state = start("containment", at=friday)
    due = state.due_at.astimezone(JST)
    assert due == datetime(2027, 2, 9, 10, 0, tzinfo=JST)
    assert due.weekday() == 1
