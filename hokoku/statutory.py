"""Statutory breach reports to the Personal Information Protection Commission (PPC).

Pure rules, no I/O and no clock: the caller passes every instant. Two things live here:

* :func:`assess_reportability` — whether a case is reportable to the PPC, and on which grounds,
  under the body's legal regime (:class:`Regime`). It supports a human decision; it does not
  replace one.
* :func:`ppc_deadlines` — the preliminary (速報) and final (確報) report dates.

Final-report counting (shared/regulation/README.md): the day the body became aware, in Japan
time, is day 1; the final report is due on day 30 (day 60 in the unauthorised-purpose case),
i.e. awareness date + 29 (or + 59) calendar days. If that day is a Saturday, Sunday, national
holiday or a year-end closure day (Dec 29 – Jan 3), the due date moves to the next day that is
none of these (:mod:`hokoku.jpcalendar`).

Preliminary report: the law says "promptly" and PPC guidance says roughly 3–5 days. This module
gives two plain calendar dates, never moved for weekends or holidays (they are internal
targets, not a statutory due date):

* ``preliminary_target`` = awareness date + ``preliminary_days`` (default 3, i.e. day 4 when the
  awareness day is day 1);
* ``preliminary_warning`` = awareness date + ``preliminary_warning_days`` (default: one day after
  the target, so 4, i.e. day 5, the last day of the guidance's 3–5 day window) — the date on
  which to escalate if the preliminary report has still not gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from hokoku import jpcalendar
from hokoku.exceptions import InputError

Lang = Literal["en", "ja"]

FINAL_DAYS = 30
FINAL_DAYS_UNAUTHORIZED_PURPOSE = 60
DEFAULT_PRELIMINARY_DAYS = 3
DEFAULT_PRELIMINARY_WARNING_DAYS = DEFAULT_PRELIMINARY_DAYS + 1

EXEMPT_HIGH_GRADE_ENCRYPTION = "high_grade_encryption"


# --------------------------------------------------------------------------- regimes


class Regime(StrEnum):
    """The body's legal status, which decides the articles and the headcount threshold."""

    ADMINISTRATIVE_BODY = "administrative_body"
    """APPI Art. 68; PPC Rules Art. 43 (cases) / 44 (report); more than 100 individuals."""

    BUSINESS_LIKE = "business_like"
    """APPI Art. 26; PPC Rules Art. 7 (cases) / 8 (report); more than 1,000 individuals."""

    @property
    def headcount_threshold(self) -> int:
        """Reportable when the number of individuals is strictly more than this."""
        return 100 if self is Regime.ADMINISTRATIVE_BODY else 1000

    @property
    def act_article(self) -> int:
        """The APPI article imposing the duty to report."""
        return 68 if self is Regime.ADMINISTRATIVE_BODY else 26

    @property
    def rules_article(self) -> int:
        """The PPC Rules article listing the reportable cases."""
        return 43 if self is Regime.ADMINISTRATIVE_BODY else 7

    @property
    def label(self) -> str:
        """English label, e.g. ``administrative body (APPI Art. 68)``."""
        kind = "administrative body" if self is Regime.ADMINISTRATIVE_BODY else "business-like body"
        return f"{kind} (APPI Art. {self.act_article})"

    @property
    def label_ja(self) -> str:
        """Japanese label, e.g. ``行政機関等（個人情報保護法第68条）``."""
        kind = "行政機関等" if self is Regime.ADMINISTRATIVE_BODY else "個人情報取扱事業者と同様の規律"
        return f"{kind}（個人情報保護法第{self.act_article}条）"


def parse_regime(value: Regime | str) -> Regime:
    """Turn a configuration value into a :class:`Regime`; :class:`InputError` if unknown."""
    try:
        return Regime(value)
    except ValueError:
        choices = ", ".join(r.value for r in Regime)
        raise InputError(f"unknown regime {value!r}: expected one of {choices}") from None


# --------------------------------------------------------------------------- reportability

_ROMAN = {1: "i", 2: "ii", 3: "iii", 4: "iv"}
_ITEMS: dict[str, int] = {"sensitive": 1, "financial": 2, "unauthorized_purpose": 3, "headcount": 4}


@dataclass(frozen=True)
class Ground:
    """One reportable case that applies, with its citation in Japanese and English."""

    code: str
    item: int
    citation_ja: str
    citation_en: str

    def citation(self, lang: Lang = "en") -> str:
        """The citation in ``lang``."""
        return self.citation_ja if lang == "ja" else self.citation_en


def _ground(code: str, regime: Regime) -> Ground:
    """Build the :class:`Ground` for ``code`` under ``regime`` (items 1–4 of Art. 43 or 7)."""
    item = _ITEMS[code]
    limit = regime.headcount_threshold
    what_ja = {
        "sensitive": "要配慮個人情報",
        "financial": "不正利用により財産的被害が生じるおそれ",
        "unauthorized_purpose": "不正の目的をもって行われたおそれ",
        "headcount": f"本人の数が{limit:,}人を超える",
    }[code]
    what_en = {
        "sensitive": "sensitive personal information",
        "financial": "risk of financial damage from unauthorised use",
        "unauthorized_purpose": "possibly done for an unauthorised purpose",
        "headcount": f"more than {limit:,} individuals",
    }[code]
    article = regime.rules_article
    return Ground(
        code=code,
        item=item,
        citation_ja=f"個人情報保護法施行規則第{article}条第{item}号（{what_ja}）",
        citation_en=f"PPC Rules Art. {article}({_ROMAN[item]}) ({what_en})",
    )


@dataclass(frozen=True, kw_only=True)
class TriageFacts:
    """What the responsible people established about the incident.

    ``individuals`` is the number of people affected (``None`` while unknown);
    ``individuals_estimated`` says that number is an estimate. ``encrypted`` means the data was
    protected to a high standard (高度な暗号化その他の個人の権利利益を保護するために必要な措置),
    e.g. strong encryption whose key was not also exposed. It defaults to ``False``, the
    conservative answer (no exemption).
    """

    sensitive: bool
    financial_risk: bool
    unauthorized_purpose: bool
    individuals: int | None
    individuals_estimated: bool = False
    encrypted: bool = False

    def __post_init__(self) -> None:
        for name in ("sensitive", "financial_risk", "unauthorized_purpose",
                     "individuals_estimated", "encrypted"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be true or false, got {getattr(self, name)!r}")
        n = self.individuals
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise InputError(f"individuals must be a whole number ≥ 0 or unknown, got {n!r}")


@dataclass(frozen=True)
class Reportability:
    """The outcome of :func:`assess_reportability`.

    ``grounds`` are the cases that make the report required; ``exempt_grounds`` are cases that
    would apply but are exempt (``exempt_reason`` says why). ``headcount_unknown`` flags that
    the headcount line could not be checked; when nothing else decides the case, the summary
    asks for a reassessment once the number is known.
    """

    required: bool
    regime: Regime
    grounds: tuple[Ground, ...]
    exempt_reason: str | None = None
    exempt_grounds: tuple[Ground, ...] = ()
    individuals: int | None = None
    individuals_estimated: bool = False

    @property
    def headcount_unknown(self) -> bool:
        """True when the number of individuals is not known yet."""
        return self.individuals is None

    def summary(self, lang: Lang = "en") -> str:
        """One paragraph for the responsible people, in English (``en``) or Japanese (``ja``)."""
        if lang == "en":
            return self._summary_en()
        if lang == "ja":
            return self._summary_ja()
        raise InputError(f"unsupported language {lang!r}: expected 'en' or 'ja'")

    def _undecided(self) -> bool:
        """True when a known headcount could still change the answer (not required, not exempt)."""
        return not self.required and self.exempt_reason is None

    def _people_en(self) -> str:
        if self.individuals is None:
            return "unknown"
        return f"{self.individuals:,}" + (" (estimated)" if self.individuals_estimated else "")

    def _people_ja(self) -> str:
        if self.individuals is None:
            return "不明"
        return f"{self.individuals:,}人" + ("（推計）" if self.individuals_estimated else "")

    def _summary_en(self) -> str:
        regime = self.regime.label
        if self.required:
            cited = "; ".join(g.citation_en for g in self.grounds)
            text = f"Report to the PPC required ({regime}): {cited}."
        elif self.exempt_reason == EXEMPT_HIGH_GRADE_ENCRYPTION:
            cited = "; ".join(g.citation_en for g in self.exempt_grounds)
            text = (f"No report to the PPC required ({regime}): the data was protected by "
                    f"high-grade encryption, which exempts every case"
                    + (f" (would otherwise apply: {cited})." if cited else "."))
        else:
            text = (f"No report to the PPC required ({regime}): no case in PPC Rules "
                    f"Art. {self.regime.rules_article} items 1–4 applies.")
        text += f" Individuals: {self._people_en()}."
        if self.headcount_unknown and self._undecided():
            text += (" The headcount line (more than "
                     f"{self.regime.headcount_threshold:,}) could not be checked: reassess.")
        return text

    def _summary_ja(self) -> str:
        regime = self.regime.label_ja
        if self.required:
            cited = "、".join(g.citation_ja for g in self.grounds)
            text = f"個人情報保護委員会への報告が必要（{regime}）：{cited}。"
        elif self.exempt_reason == EXEMPT_HIGH_GRADE_ENCRYPTION:
            cited = "、".join(g.citation_ja for g in self.exempt_grounds)
            text = (f"個人情報保護委員会への報告は不要（{regime}）：高度な暗号化等の措置が"
                    f"講じられており、全ての事態が除外される"
                    + (f"（除外がなければ該当：{cited}）。" if cited else "。"))
        else:
            text = (f"個人情報保護委員会への報告は不要（{regime}）：個人情報保護法施行規則"
                    f"第{self.regime.rules_article}条第1号から第4号までのいずれにも該当しない。")
        text += f"本人の数：{self._people_ja()}。"
        if self.headcount_unknown and self._undecided():
            text += (f"本人の数が不明のため、{self.regime.headcount_threshold:,}人超の基準を"
                     "確認できない。判明次第再判定すること。")
        return text


def assess_reportability(facts: TriageFacts, regime: Regime | str) -> Reportability:
    """Which reportable cases apply to ``facts`` under ``regime``.

    Grounds, in item order: 1 sensitive, 2 financial damage from unauthorised use,
    3 unauthorised purpose, 4 headcount strictly more than the regime's threshold (100 for
    administrative bodies, 1,000 for business-like bodies; an estimated headcount counts, as
    the rules cover incidents that "may have occurred"). An unknown headcount never triggers
    item 4 and is flagged on the result instead.

    Encryption: when ``facts.encrypted`` (high-grade encryption or an equivalent protective
    measure) every ground is exempt, including the unauthorised-purpose one — the rules define
    the exemption once in item 1 and apply it to the whole article. The grounds that would
    have applied are kept in ``exempt_grounds`` so a human can review the decision.
    """
    regime = parse_regime(regime)
    if not isinstance(facts, TriageFacts):
        raise InputError(f"expected TriageFacts, got {type(facts).__name__}")
    codes = []
    if facts.sensitive:
        codes.append("sensitive")
    if facts.financial_risk:
        codes.append("financial")
    if facts.unauthorized_purpose:
        codes.append("unauthorized_purpose")
    if facts.individuals is not None and facts.individuals > regime.headcount_threshold:
        codes.append("headcount")
    applicable = tuple(_ground(code, regime) for code in codes)
    common = dict(regime=regime, individuals=facts.individuals,
                  individuals_estimated=facts.individuals_estimated)
    if facts.encrypted:
        return Reportability(required=False, grounds=(), exempt_grounds=applicable,
                             exempt_reason=EXEMPT_HIGH_GRADE_ENCRYPTION, **common)
    return Reportability(required=bool(applicable), grounds=applicable, **common)


# --------------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class PPCDeadlines:
    """Preliminary and final report dates for one incident (see the module docstring).

    ``moved_reasons`` / ``moved_reasons_ja`` list, for each day skipped from ``final_nominal``
    up to ``final_due``, the pair ``(date, reason)``; a day with several reasons has them
    joined (``"Saturday, year-end closure"`` / ``"土曜日・年末年始の閉庁日"``). Empty when the
    nominal day is itself the due day.
    """

    aware_at: datetime
    aware_date: date
    unauthorized_purpose: bool
    preliminary_days: int
    preliminary_target: date
    preliminary_warning: date
    final_day_count: int
    final_nominal: date
    final_due: date
    moved_reasons: tuple[tuple[date, str], ...]
    moved_reasons_ja: tuple[tuple[date, str], ...]
    rule_en: str
    rule_ja: str

    @property
    def final_due_at(self) -> datetime:
        """End of the final due day (23:59:59 Japan time), as aware UTC."""
        return jpcalendar.end_of_japan_day(self.final_due)

    @property
    def preliminary_target_at(self) -> datetime:
        """End of the preliminary target day (23:59:59 Japan time), as aware UTC."""
        return jpcalendar.end_of_japan_day(self.preliminary_target)

    @property
    def preliminary_warning_at(self) -> datetime:
        """End of the preliminary warning day (23:59:59 Japan time), as aware UTC."""
        return jpcalendar.end_of_japan_day(self.preliminary_warning)

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: dates as ISO strings, ``rule`` in English, ``rule_ja`` in Japanese."""
        ja = dict(self.moved_reasons_ja)
        return {
            "aware_at": self.aware_at.isoformat(),
            "aware_date": self.aware_date.isoformat(),
            "unauthorized_purpose": self.unauthorized_purpose,
            "preliminary_days": self.preliminary_days,
            "preliminary_target": self.preliminary_target.isoformat(),
            "preliminary_warning": self.preliminary_warning.isoformat(),
            "final_day_count": self.final_day_count,
            "final_nominal": self.final_nominal.isoformat(),
            "final_due": self.final_due.isoformat(),
            "final_due_at": self.final_due_at.isoformat(),
            "moved": [{"date": d.isoformat(), "reason": reason, "reason_ja": ja[d]}
                      for d, reason in self.moved_reasons],
            "rule": self.rule_en,
            "rule_ja": self.rule_ja,
        }


def _check_aware_at(aware_at: datetime) -> None:
    """Raise :class:`InputError` unless ``aware_at`` is a timezone-aware datetime."""
    if not isinstance(aware_at, datetime):
        raise InputError(f"awareness time must be a date and time, got {aware_at!r}")
    if aware_at.tzinfo is None or aware_at.utcoffset() is None:
        raise InputError(
            f"awareness time {aware_at.isoformat()} has no time zone: give an offset, "
            "e.g. 2026-12-01T10:00:00+09:00"
        )


def _check_days(name: str, value: int) -> None:
    """Raise :class:`InputError` unless ``value`` is a whole number ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name} must be a whole number ≥ 0, got {value!r}")


def _skipped_days(nominal: date) -> tuple[date, tuple[tuple[date, str], ...],
                                          tuple[tuple[date, str], ...]]:
    """The due day on or after ``nominal`` and the skipped days with reasons (en, ja)."""
    skipped_en: list[tuple[date, str]] = []
    skipped_ja: list[tuple[date, str]] = []
    day = nominal
    while not jpcalendar.is_business_day(day):
        skipped_en.append((day, ", ".join(jpcalendar.non_business_reasons(day, "en"))))
        skipped_ja.append((day, "・".join(jpcalendar.non_business_reasons(day, "ja"))))
        day += timedelta(days=1)
    return day, tuple(skipped_en), tuple(skipped_ja)


def _rule_en(aware: date, count: int, nominal: date, due: date,
             skipped: tuple[tuple[date, str], ...]) -> str:
    """English account of how the final due date was counted."""
    head = (f"Final report within {count} days"
            + (" (unauthorised-purpose case)" if count == FINAL_DAYS_UNAUTHORIZED_PURPOSE else "")
            + f": the awareness date {aware.isoformat()} (Japan time) is day 1, "
            f"so day {count} is {nominal.isoformat()}.")
    if not skipped:
        return (head + " It is not a Saturday, Sunday, national holiday or year-end closure day, "
                f"so the final report is due {due.isoformat()}.")
    listed = "; ".join(f"{d.isoformat()} {reason}" for d, reason in skipped)
    return (head + f" That day is not a business day ({skipped[0][1]}), so the due date moves "
            "to the next day that is not a Saturday, Sunday, national holiday or year-end "
            "closure day "
            f"(skipped: {listed}) → {due.isoformat()}.")


def _rule_ja(aware: date, count: int, nominal: date, due: date,
             skipped: tuple[tuple[date, str], ...]) -> str:
    """Japanese account of how the final due date was counted."""
    head = (f"確報は{count}日以内"
            + ("（不正の目的によるおそれがある事態）" if count == FINAL_DAYS_UNAUTHORIZED_PURPOSE else "")
            + f"：把握日（{aware.isoformat()}、日本時間）を1日目として{count}日目は"
            f"{nominal.isoformat()}。")
    if not skipped:
        return (head + "土曜日・日曜日・祝日・年末年始の閉庁日のいずれにも当たらないため、"
                f"期限は{due.isoformat()}。")
    listed = "、".join(f"{d.isoformat()} {reason}" for d, reason in skipped)
    return (head + f"{skipped[0][1]}のため、土曜日・日曜日・祝日・年末年始の閉庁日のいずれでもない"
            f"翌日以降の日に繰り延べ（{listed}）→ {due.isoformat()}")


def ppc_deadlines(
    aware_at: datetime,
    *,
    unauthorized_purpose: bool = False,
    preliminary_days: int = DEFAULT_PRELIMINARY_DAYS,
    preliminary_warning_days: int | None = None,
) -> PPCDeadlines:
    """The PPC report dates for an incident the body became aware of at ``aware_at``.

    ``aware_at`` is when any staff member first knew (not when the protection manager
    acknowledged); it must be timezone-aware, else :class:`InputError`. The awareness date is
    its calendar date in Japan. Final report: day 30 (day 60 if ``unauthorized_purpose``)
    counting the awareness date as day 1, moved forward past weekends, national holidays and
    the year-end closure. Preliminary target and warning: awareness date + ``preliminary_days``
    and + ``preliminary_warning_days`` calendar days, never moved; the warning defaults to one
    day after the target (3 and 4 by default: days 4 and 5 when the awareness day is day 1).
    """
    if preliminary_warning_days is None and isinstance(preliminary_days, int):
        preliminary_warning_days = preliminary_days + 1
    _check_aware_at(aware_at)
    if not isinstance(unauthorized_purpose, bool):
        raise InputError(
            f"unauthorized_purpose must be true or false, got {unauthorized_purpose!r}"
        )
    _check_days("preliminary_days", preliminary_days)
    _check_days("preliminary_warning_days", preliminary_warning_days)
    if preliminary_warning_days < preliminary_days:
        raise InputError(
            f"preliminary_warning_days ({preliminary_warning_days}) must not be before "
            f"preliminary_days ({preliminary_days})"
        )
    aware = jpcalendar.japan_date(aware_at)
    count = FINAL_DAYS_UNAUTHORIZED_PURPOSE if unauthorized_purpose else FINAL_DAYS
    nominal = aware + timedelta(days=count - 1)
    due, skipped_en, skipped_ja = _skipped_days(nominal)
    return PPCDeadlines(
        aware_at=aware_at,
        aware_date=aware,
        unauthorized_purpose=unauthorized_purpose,
        preliminary_days=preliminary_days,
        preliminary_target=aware + timedelta(days=preliminary_days),
        preliminary_warning=aware + timedelta(days=preliminary_warning_days),
        final_day_count=count,
        final_nominal=nominal,
        final_due=due,
        moved_reasons=skipped_en,
        moved_reasons_ja=skipped_ja,
        rule_en=_rule_en(aware, count, nominal, due, skipped_en),
        rule_ja=_rule_ja(aware, count, nominal, due, skipped_ja),
    )


def final_due_at(aware_at: datetime, *, unauthorized_purpose: bool = False) -> datetime:
    """End of the final-report due day (23:59:59 Japan time) as aware UTC, for a stage deadline."""
    return ppc_deadlines(aware_at, unauthorized_purpose=unauthorized_purpose).final_due_at


def preliminary_due_at(aware_at: datetime, *,
                       preliminary_days: int = DEFAULT_PRELIMINARY_DAYS) -> datetime:
    """End of the preliminary-report target day (23:59:59 Japan time) as aware UTC."""
    return ppc_deadlines(aware_at, preliminary_days=preliminary_days).preliminary_target_at
