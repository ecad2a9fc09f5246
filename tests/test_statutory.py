"""Tests for hokoku.core.statutory: PPC reportability and report deadlines.

Expected dates were worked out by hand (awareness date + 29 or + 59 calendar days, then moved
past Saturdays, Sundays, national holidays and Dec 29 – Jan 3) and checked against printed
calendars, not computed with the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from hokoku.core.exceptions import InputError
from hokoku.core.jpcalendar import JST
from hokoku.core.statutory import (
    EXEMPT_HIGH_GRADE_ENCRYPTION,
    Regime,
    TriageFacts,
    assess_reportability,
    final_due_at,
    parse_regime,
    ppc_deadlines,
    preliminary_due_at,
)

ADMIN = Regime.ADMINISTRATIVE_BODY
BUSINESS = Regime.BUSINESS_LIKE


def facts(individuals: int | None = None, **flags: bool) -> TriageFacts:
    """TriageFacts with every flag known to be off unless given."""
    base = dict(sensitive=False, financial_risk=False, unauthorized_purpose=False, encrypted=False)
    base.update(flags)
    return TriageFacts(individuals=individuals, **base)


def jst(*args: int) -> datetime:
    """An aware datetime in Japan time."""
    return datetime(*args, tzinfo=JST)


# --------------------------------------------------------------------------- reportability


@pytest.mark.parametrize(
    ("regime", "individuals", "required"),
    [
        (ADMIN, 100, False),
        (ADMIN, 101, True),
        (ADMIN, 1000, True),
        (ADMIN, 1001, True),
        (BUSINESS, 100, False),
        (BUSINESS, 101, False),
        (BUSINESS, 1000, False),
        (BUSINESS, 1001, True),
    ],
)
def test_headcount_line_is_strictly_more_than_threshold(regime, individuals, required):
    """Administrative: >100; business-like: >1,000; exactly the threshold is not reportable."""
    result = assess_reportability(facts(individuals), regime)
    assert result.required is required
    assert [g.code for g in result.grounds] == (["headcount"] if required else [])


def test_150_people_administrative_is_required_citing_article_43_item_4():
    """150 individuals at an administrative body: reportable under PPC Rules Art. 43(iv)."""
    result = assess_reportability(facts(150), ADMIN)
    assert result.required
    (ground,) = result.grounds
    assert ground.code == "headcount"
    assert ground.item == 4
    assert ground.citation_ja == "個人情報保護法施行規則第43条第4号（本人の数が100人を超える）"
    assert ground.citation_en == "PPC Rules Art. 43(iv) (more than 100 individuals)"
    assert "Art. 43(iv)" in result.summary("en")
    assert "第43条第4号" in result.summary("ja")


def test_150_people_business_like_is_not_required():
    """150 individuals at a business-like body: below the 1,000 line, nothing else applies."""
    result = assess_reportability(facts(150), BUSINESS)
    assert not result.required
    assert result.grounds == ()
    assert result.summary("en").startswith("No report to the PPC required")


@pytest.mark.parametrize(
    ("flag", "code", "item", "roman"),
    [
        ("sensitive", "sensitive", 1, "i"),
        ("financial_risk", "financial", 2, "ii"),
        ("unauthorized_purpose", "unauthorized_purpose", 3, "iii"),
    ],
)
def test_each_kind_of_case_is_reportable_regardless_of_headcount(flag, code, item, roman):
    """Items 1–3 apply even for a single individual, citing Art. 43 or Art. 7 by regime."""
    admin = assess_reportability(facts(1, **{flag: True}), ADMIN)
    business = assess_reportability(facts(1, **{flag: True}), BUSINESS)
    for result, article in ((admin, 43), (business, 7)):
        assert result.required
        (ground,) = result.grounds
        assert (ground.code, ground.item) == (code, item)
        assert ground.citation_ja.startswith(f"個人情報保護法施行規則第{article}条第{item}号（")
        assert ground.citation_en.startswith(f"PPC Rules Art. {article}({roman}) (")


def test_sensitive_citation_text_for_business_like_regime():
    """Sensitive data under the business-like regime cites Art. 7 item 1 in both languages."""
    (ground,) = assess_reportability(facts(5, sensitive=True), BUSINESS).grounds
    assert ground.citation_ja == "個人情報保護法施行規則第7条第1号（要配慮個人情報）"
    assert ground.citation_en == "PPC Rules Art. 7(i) (sensitive personal information)"


def test_several_grounds_are_listed_in_item_order():
    """All applicable grounds are kept, ordered by item number."""
    result = assess_reportability(facts(5000, sensitive=True, financial_risk=True, unauthorized_purpose=True), BUSINESS)
    assert [g.item for g in result.grounds] == [1, 2, 3, 4]
    assert result.summary("en").count("PPC Rules Art. 7(") == 4


def test_high_grade_encryption_exempts_every_ground():
    """Encrypted data is not reportable even with all four cases; they are kept as exempt."""
    result = assess_reportability(
        facts(5000, sensitive=True, financial_risk=True, unauthorized_purpose=True, encrypted=True),
        ADMIN,
    )
    assert not result.required
    assert result.grounds == ()
    assert result.exempt_reason == EXEMPT_HIGH_GRADE_ENCRYPTION
    assert [g.code for g in result.exempt_grounds] == ["sensitive", "financial", "unauthorized_purpose", "headcount"]
    assert "encryption" in result.summary("en")
    assert "暗号化" in result.summary("ja")


def test_unencrypted_result_has_no_exemption():
    """Without encryption there is no exempt reason."""
    result = assess_reportability(facts(101), ADMIN)
    assert result.exempt_reason is None
    assert result.exempt_grounds == ()


def test_estimated_headcount_above_line_counts_and_is_flagged():
    """An estimate over the line triggers item 4 and the summary says it is estimated."""
    result = assess_reportability(
        TriageFacts(
            sensitive=False,
            financial_risk=False,
            unauthorized_purpose=False,
            encrypted=False,
            individuals=101,
            individuals_estimated=True,
        ),
        ADMIN,
    )
    assert result.required
    assert "101 (estimated)" in result.summary("en")
    assert "101人（推計）" in result.summary("ja")


def test_unknown_headcount_leaves_the_case_undecided_never_not_required():
    """Unknown is never "no": with no other case, an unknown headcount leaves it undecided."""
    result = assess_reportability(facts(None), ADMIN)
    assert result.status == "undecided" and not result.required and result.possibly_required
    assert result.unknown == ("individuals",)
    assert "number of individuals" in result.summary("en")
    assert "本人の数" in result.summary("ja") and "未確定" in result.summary("ja")


def test_a_new_incident_with_every_fact_unknown_is_undecided():
    """Nothing known yet: every fact but encryption (which only exempts) is listed as unknown."""
    result = assess_reportability(TriageFacts(), BUSINESS)
    assert result.status == "undecided"
    assert result.unknown == ("sensitive", "financial_risk", "unauthorized_purpose", "individuals")


def test_a_known_ground_with_encryption_unknown_is_undecided_but_keeps_the_ground():
    """2,000 health records misdirected, encryption not established: possibly reportable."""
    result = assess_reportability(TriageFacts(sensitive=True, individuals=2000, encrypted=None), BUSINESS)
    assert result.status == "undecided" and result.possibly_required
    assert [g.code for g in result.grounds] == ["sensitive", "headcount"]
    assert result.unknown == ("encrypted",)


def test_encryption_established_decides_not_required_even_with_other_facts_unknown():
    """High-grade encryption exempts every case, so unknown facts no longer matter."""
    result = assess_reportability(TriageFacts(encrypted=True), BUSINESS)
    assert result.status == "not_required"


def test_every_fact_known_and_no_case_is_not_required():
    """All facts known, none applies: decided, not required."""
    assert assess_reportability(facts(150), BUSINESS).status == "not_required"


def test_a_fact_that_is_not_yes_no_or_unknown_is_refused():
    """Three-valued facts: anything but True, False or None is an input error naming the fact."""
    with pytest.raises(InputError, match="sensitive must be yes, no or unknown"):
        TriageFacts(sensitive="maybe")  # type: ignore[arg-type]


def test_a_headcount_beyond_any_population_is_refused():
    """A typing error such as 2**63 people is refused, not stored."""
    with pytest.raises(InputError, match="individuals"):
        facts(2**63)


def test_dates_outside_the_holiday_calendar_give_a_one_line_input_error():
    """Aware in 2099-12: the 60-day count leaves the holiday library's range; year 1 is refused."""
    with pytest.raises(InputError, match="cannot count the statutory due date"):
        ppc_deadlines(jst(2099, 12, 1, 10, 0), unauthorized_purpose=True)
    with pytest.raises(InputError, match="out of range"):
        ppc_deadlines(datetime(1, 1, 1, tzinfo=JST))


def test_regime_accepts_configuration_string():
    """The regime may be given as its configuration value."""
    assert assess_reportability(facts(101), "administrative_body").regime is ADMIN
    assert parse_regime("business_like") is BUSINESS


def test_unknown_regime_raises_input_error():
    """A misspelt regime names the choices."""
    with pytest.raises(InputError, match="administrative_body, business_like"):
        assess_reportability(facts(101), "ministry")


def test_negative_headcount_raises_input_error():
    """A negative number of individuals is refused."""
    with pytest.raises(InputError, match="individuals"):
        facts(-1)


def test_summary_rejects_unknown_language():
    """Only English and Japanese summaries exist."""
    with pytest.raises(InputError, match="language"):
        assess_reportability(facts(101), ADMIN).summary("de")


# --------------------------------------------------------------------------- deadlines


def test_known_answer_december_1_2026_is_due_january_4_2027():
    """Aware 2026-12-01 10:00 JST: day 30 is Dec 30 (closure); due Monday 2027-01-04."""
    result = ppc_deadlines(jst(2026, 12, 1, 10, 0))
    assert result.aware_date == date(2026, 12, 1)
    assert result.final_day_count == 30
    assert result.final_nominal == date(2026, 12, 30)
    assert result.final_due == date(2027, 1, 4)
    assert [d for d, _ in result.moved_reasons] == [
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
        date(2027, 1, 3),
    ]


def test_known_answer_moved_reasons_name_closure_holiday_and_weekend():
    """Each skipped day carries its reasons in English and Japanese."""
    result = ppc_deadlines(jst(2026, 12, 1, 10, 0))
    assert dict(result.moved_reasons)[date(2026, 12, 30)] == "year-end closure"
    assert dict(result.moved_reasons)[date(2027, 1, 1)] == "New Year's Day, year-end closure"
    assert dict(result.moved_reasons_ja)[date(2027, 1, 2)] == "土曜日・年末年始の閉庁日"


def test_known_answer_rule_text_explains_the_count():
    """The rule strings state day 1, day 30, the closure and the result."""
    result = ppc_deadlines(jst(2026, 12, 1, 10, 0))
    assert result.rule_ja.startswith(
        "確報は30日以内：把握日（2026-12-01、日本時間）を1日目として30日目は2026-12-30。年末年始の閉庁日のため"
    )
    assert result.rule_ja.endswith("→ 2027-01-04")
    assert "day 30 is 2026-12-30" in result.rule_en
    assert result.rule_en.endswith("→ 2027-01-04.")


def test_utc_instant_is_counted_from_its_japan_date():
    """2026-11-30T15:30Z is Dec 1 in Japan, giving the same answer as the known case."""
    result = ppc_deadlines(datetime(2026, 11, 30, 15, 30, tzinfo=UTC))
    assert result.aware_date == date(2026, 12, 1)
    assert result.final_due == date(2027, 1, 4)


def test_japan_midnight_boundary_changes_the_due_date():
    """Nov 29 23:59:59 JST → day 30 Mon Dec 28 (open); Nov 30 00:00 JST → Dec 29 → Jan 4."""
    before = ppc_deadlines(datetime(2026, 11, 29, 14, 59, 59, tzinfo=UTC))
    after = ppc_deadlines(datetime(2026, 11, 29, 15, 0, 0, tzinfo=UTC))
    assert (before.aware_date, before.final_due) == (date(2026, 11, 29), date(2026, 12, 28))
    assert before.moved_reasons == ()
    assert (after.aware_date, after.final_nominal) == (date(2026, 11, 30), date(2026, 12, 29))
    assert after.final_due == date(2027, 1, 4)


def test_no_move_when_day_30_is_a_business_day():
    """Aware Thu 2026-10-01: day 30 is Fri Oct 30, which is the due date."""
    result = ppc_deadlines(jst(2026, 10, 1, 9, 0))
    assert result.final_nominal == result.final_due == date(2026, 10, 30)
    assert result.moved_reasons == ()
    assert "is due 2026-10-30" in result.rule_en


def test_day_30_on_saturday_moves_over_weekend_to_monday():
    """Aware 2026-10-02: day 30 is Sat Oct 31 → Mon Nov 2 (Culture Day is Tue Nov 3)."""
    result = ppc_deadlines(jst(2026, 10, 2, 9, 0))
    assert result.final_nominal == date(2026, 10, 31)
    assert result.final_due == date(2026, 11, 2)
    assert result.moved_reasons == ((date(2026, 10, 31), "Saturday"), (date(2026, 11, 1), "Sunday"))


def test_golden_week_2026_moves_to_thursday_may_7():
    """Aware 2026-04-04: day 30 is Sun May 3; May 4, 5 and substitute May 6 follow → May 7."""
    result = ppc_deadlines(jst(2026, 4, 4, 12, 0))
    assert result.final_nominal == date(2026, 5, 3)
    assert result.final_due == date(2026, 5, 7)
    assert dict(result.moved_reasons)[date(2026, 5, 6)] == "Substitute Holiday"
    assert "振替休日" in result.rule_ja


def test_golden_week_2027_moves_to_thursday_may_6():
    """Aware 2027-04-02: day 30 is Sat May 1; Sun 2 and holidays 3–5 follow → Thu May 6."""
    result = ppc_deadlines(jst(2027, 4, 2, 12, 0))
    assert result.final_nominal == date(2027, 5, 1)
    assert result.final_due == date(2027, 5, 6)
    assert len(result.moved_reasons) == 5


def test_september_2026_holiday_run_moves_to_thursday_24th():
    """Aware 2026-08-21: day 30 is Sat Sept 19; Sun 20 and holidays 21–23 follow → Sept 24."""
    result = ppc_deadlines(jst(2026, 8, 21, 12, 0))
    assert result.final_nominal == date(2026, 9, 19)
    assert result.final_due == date(2026, 9, 24)
    assert dict(result.moved_reasons_ja)[date(2026, 9, 22)] == "国民の休日"


def test_leap_year_day_30_is_february_29_2028():
    """Aware 2028-01-31: day 30 is Tue Feb 29, 2028, a business day."""
    result = ppc_deadlines(jst(2028, 1, 31, 10, 0))
    assert result.final_due == date(2028, 2, 29)


def test_leap_year_february_1_2028_gives_march_1():
    """Aware 2028-02-01: 29 days later passes Feb 29 and lands on Wed Mar 1, 2028."""
    result = ppc_deadlines(jst(2028, 2, 1, 10, 0))
    assert result.final_due == date(2028, 3, 1)


def test_non_leap_year_january_31_2027_gives_march_1():
    """Aware 2027-01-31: with no Feb 29, day 30 is Mon Mar 1, 2027."""
    result = ppc_deadlines(jst(2027, 1, 31, 10, 0))
    assert result.final_due == date(2027, 3, 1)


def test_unauthorized_purpose_uses_60_days():
    """Aware 2026-10-01 with unauthorised purpose: day 60 is Sun Nov 29 → Mon Nov 30."""
    result = ppc_deadlines(jst(2026, 10, 1, 9, 0), unauthorized_purpose=True)
    assert result.final_day_count == 60
    assert result.final_nominal == date(2026, 11, 29)
    assert result.final_due == date(2026, 11, 30)
    assert "60" in result.rule_en and "不正の目的" in result.rule_ja


def test_unauthorized_purpose_60_days_across_year_end():
    """Aware 2026-11-01 with unauthorised purpose: day 60 is Dec 30 (closure) → Jan 4, 2027."""
    result = ppc_deadlines(jst(2026, 11, 1, 9, 0), unauthorized_purpose=True)
    assert result.final_nominal == date(2026, 12, 30)
    assert result.final_due == date(2027, 1, 4)


def test_preliminary_target_and_warning_are_plain_calendar_days():
    """Aware Tue 2026-12-01: target Fri Dec 4, warning Sat Dec 5 (not moved off the weekend)."""
    result = ppc_deadlines(jst(2026, 12, 1, 10, 0))
    assert result.preliminary_target == date(2026, 12, 4)
    assert result.preliminary_warning == date(2026, 12, 5)


def test_preliminary_days_is_configurable_and_warning_follows():
    """preliminary_days=5 gives Dec 6 and, by default, a warning on Dec 7."""
    result = ppc_deadlines(jst(2026, 12, 1, 10, 0), preliminary_days=5)
    assert result.preliminary_target == date(2026, 12, 6)
    assert result.preliminary_warning == date(2026, 12, 7)


def test_warning_before_target_is_refused():
    """A warning earlier than the target makes no sense."""
    with pytest.raises(InputError, match="preliminary_warning_days"):
        ppc_deadlines(jst(2026, 12, 1, 10, 0), preliminary_days=4, preliminary_warning_days=3)


def test_due_instants_are_end_of_japan_day_in_utc():
    """Final due 2027-01-04 ends 14:59:59Z; preliminary Dec 4 ends 2026-12-04T14:59:59Z."""
    aware = jst(2026, 12, 1, 10, 0)
    assert final_due_at(aware) == datetime(2027, 1, 4, 14, 59, 59, tzinfo=UTC)
    assert preliminary_due_at(aware) == datetime(2026, 12, 4, 14, 59, 59, tzinfo=UTC)
    assert final_due_at(aware).utcoffset().total_seconds() == 0


def test_final_due_at_honours_unauthorized_purpose():
    """The 60-day case is passed through to the stage deadline."""
    aware = jst(2026, 10, 1, 9, 0)
    assert final_due_at(aware, unauthorized_purpose=True) == datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)


def test_to_json_dict_has_iso_strings_and_is_serialisable():
    """The JSON form carries the required keys with ISO dates and survives json.dumps."""
    data = ppc_deadlines(jst(2026, 12, 1, 10, 0)).to_json_dict()
    assert data["aware_date"] == "2026-12-01"
    assert data["preliminary_target"] == "2026-12-04"
    assert data["final_due"] == "2027-01-04"
    assert data["final_nominal"] == "2026-12-30"
    assert data["final_day_count"] == 30
    assert data["unauthorized_purpose"] is False
    assert data["rule"].startswith("Final report within 30 days")
    assert data["rule_ja"].startswith("確報は30日以内")
    assert data["moved"][2] == {
        "date": "2027-01-01",
        "reason": "New Year's Day, year-end closure",
        "reason_ja": "元日・年末年始の閉庁日",
    }
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_naive_awareness_time_raises_input_error():
    """A datetime without a time zone is refused with a message showing the expected form."""
    with pytest.raises(InputError, match=r"no time zone.*\+09:00"):
        ppc_deadlines(datetime(2026, 12, 1, 10, 0))


def test_date_instead_of_datetime_raises_input_error():
    """A bare date is not an awareness time."""
    with pytest.raises(InputError, match="date and time"):
        ppc_deadlines(date(2026, 12, 1))
