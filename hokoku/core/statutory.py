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
none of these (:mod:`hokoku.core.jpcalendar`).

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
from functools import partial
from typing import Any, Literal

from hokoku.core import jpcalendar
from hokoku.core.exceptions import InputError
from hokoku.core.statuses import ReportabilityStatus

Lang = Literal["en", "ja"]

FINAL_DAYS = 30
FINAL_DAYS_UNAUTHORIZED_PURPOSE = 60
DEFAULT_PRELIMINARY_DAYS = 3
DEFAULT_PRELIMINARY_WARNING_DAYS = DEFAULT_PRELIMINARY_DAYS + 1

EXEMPT_HIGH_GRADE_ENCRYPTION = "high_grade_encryption"

#: Years whose statutory dates can be counted: the Act's reporting duty dates from 2022, and
#: the holiday calendar (``holidays``) covers years up to 2099 (a 60-day count must fit in it).
MIN_YEAR, MAX_YEAR = 2000, 2099


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
    def basis_en(self) -> str:
        """The provisions the duty rests on, e.g. ``APPI Art. 26(1); PPC Rules Art. 7 and 8``."""
        extra = "" if self is Regime.ADMINISTRATIVE_BODY else " (applied by Art. 58(1) and Art. 125)"
        return (
            f"APPI Art. {self.act_article}(1){extra}; PPC Rules Art. {self.rules_article} "
            f"(reportable cases) and Art. {self.rules_article + 1} (report)"
        )

    @property
    def basis_ja(self) -> str:
        """Japanese citation of the provisions the duty rests on."""
        extra = "" if self is Regime.ADMINISTRATIVE_BODY else "（第58条第1項・第125条により適用）"
        return (
            f"個人情報保護法第{self.act_article}条第1項{extra}、個人情報保護法施行規則"
            f"第{self.rules_article}条（報告対象となる事態）・第{self.rules_article + 1}条（報告事項）"
        )

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


#: The facts that can make an incident reportable, in the order they are listed to people.
FACT_NAMES = ("sensitive", "financial_risk", "unauthorized_purpose", "individuals", "encrypted")

REQUIRED, NOT_REQUIRED, UNDECIDED = (
    ReportabilityStatus.REQUIRED,
    ReportabilityStatus.NOT_REQUIRED,
    ReportabilityStatus.UNDECIDED,
)


@dataclass(frozen=True, kw_only=True)
class TriageFacts:
    """What the responsible people established about the incident; ``None`` means unknown.

    Every fact is three-valued: ``True``, ``False`` or ``None`` (not known yet). A new incident
    starts with every fact unknown. ``individuals`` is the number of people affected (``None``
    while unknown); ``individuals_estimated`` says that number is an estimate. ``encrypted``
    means the data was protected to a high standard (高度な暗号化その他の個人の権利利益を保護する
    ために必要な措置), e.g. strong encryption whose key was not also exposed.
    """

    sensitive: bool | None = None
    financial_risk: bool | None = None
    unauthorized_purpose: bool | None = None
    individuals: int | None = None
    individuals_estimated: bool = False
    encrypted: bool | None = None

    def __post_init__(self) -> None:
        for name in ("sensitive", "financial_risk", "unauthorized_purpose", "encrypted"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InputError(f"{name} must be yes, no or unknown, got {value!r}")
        if not isinstance(self.individuals_estimated, bool):
            raise InputError(f"individuals_estimated must be true or false, got {self.individuals_estimated!r}")
        n = self.individuals
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0 or n > MAX_INDIVIDUALS):
            raise InputError(f"individuals must be a whole number from 0 to {MAX_INDIVIDUALS:,} or unknown, got {n!r}")

    def unknown(self) -> tuple[str, ...]:
        """Names of the facts not known yet, in :data:`FACT_NAMES` order."""
        return tuple(name for name in FACT_NAMES if getattr(self, name) is None)


#: More people than live in Japan is a typing error, not a headcount.
MAX_INDIVIDUALS = 200_000_000

_FACT_LABELS = {
    "sensitive": ("要配慮個人情報の有無", "sensitive personal information"),
    "financial_risk": ("財産的被害のおそれの有無", "risk of financial damage"),
    "unauthorized_purpose": ("不正の目的によるおそれの有無", "unauthorised purpose"),
    "individuals": ("本人の数", "number of individuals"),
    "encrypted": ("高度な暗号化等の措置の有無", "high-grade encryption"),
}


def fact_label(name: str, lang: Lang = "en") -> str:
    """A fact's name for people, in ``lang``."""
    ja, en = _FACT_LABELS[name]
    return ja if lang == "ja" else en


@dataclass(frozen=True)
class Reportability:
    """The outcome of :func:`assess_reportability`.

    ``status`` is ``required``, ``not_required`` or ``undecided``. Undecided means a fact that
    could make the incident reportable is still unknown (``unknown`` names them): such an
    incident is treated as possibly reportable, so the statutory clocks run. ``grounds`` are
    the cases that apply on the known facts; ``exempt_grounds`` are cases that would apply but
    are exempt (``exempt_reason`` says why).
    """

    status: str
    regime: Regime
    grounds: tuple[Ground, ...]
    exempt_reason: str | None = None
    exempt_grounds: tuple[Ground, ...] = ()
    individuals: int | None = None
    individuals_estimated: bool = False
    unknown: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        """True only when the report is certainly required on the known facts."""
        return self.status == REQUIRED

    @property
    def possibly_required(self) -> bool:
        """Required or undecided: the statutory clocks run."""
        return self.status != NOT_REQUIRED

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
        if self.status == REQUIRED:
            cited = "; ".join(g.citation_en for g in self.grounds)
            text = f"Report to the PPC required ({regime}): {cited}."
        elif self.status == UNDECIDED:
            missing = ", ".join(fact_label(n, "en") for n in self.unknown)
            text = (
                f"Undecided ({regime}): not yet known: {missing}. Treated as possibly reportable: "
                "the preliminary and final report clocks run from awareness."
            )
            if self.grounds:
                text += " Would apply: " + "; ".join(g.citation_en for g in self.grounds) + "."
        elif self.exempt_reason == EXEMPT_HIGH_GRADE_ENCRYPTION:
            cited = "; ".join(g.citation_en for g in self.exempt_grounds)
            text = (
                f"No report to the PPC required ({regime}): the data was protected by "
                f"high-grade encryption, which exempts every case"
                + (f" (would otherwise apply: {cited})." if cited else ".")
            )
        else:
            text = (
                f"No report to the PPC required ({regime}): no case in PPC Rules "
                f"Art. {self.regime.rules_article} items 1–4 applies."
            )
        return text + f" Individuals: {self._people_en()}."

    def _summary_ja(self) -> str:
        regime = self.regime.label_ja
        if self.status == REQUIRED:
            cited = "、".join(g.citation_ja for g in self.grounds)
            text = f"個人情報保護委員会への報告が必要（{regime}）：{cited}。"
        elif self.status == UNDECIDED:
            missing = "、".join(fact_label(n, "ja") for n in self.unknown)
            text = (
                f"報告要否は未確定（{regime}）：{missing}が判明していない。報告対象となる可能性がある"
                "ものとして扱い、速報・確報の期限は把握時点から進行する。"
            )
            if self.grounds:
                text += "該当し得る事態：" + "、".join(g.citation_ja for g in self.grounds) + "。"
        elif self.exempt_reason == EXEMPT_HIGH_GRADE_ENCRYPTION:
            cited = "、".join(g.citation_ja for g in self.exempt_grounds)
            text = (
                f"個人情報保護委員会への報告は不要（{regime}）：高度な暗号化等の措置が"
                f"講じられており、全ての事態が除外される" + (f"（除外がなければ該当：{cited}）。" if cited else "。")
            )
        else:
            text = (
                f"個人情報保護委員会への報告は不要（{regime}）：個人情報保護法施行規則"
                f"第{self.regime.rules_article}条第1号から第4号までのいずれにも該当しない。"
            )
        return text + f"本人の数：{self._people_ja()}。"


def assess_reportability(facts: TriageFacts, regime: Regime | str) -> Reportability:
    """Which reportable cases apply to ``facts`` under ``regime``, and whether that is decided.

    Grounds, in item order: 1 sensitive, 2 financial damage from unauthorised use,
    3 unauthorised purpose, 4 headcount strictly more than the regime's threshold (100 for
    administrative bodies, 1,000 for business-like bodies; an estimated headcount counts, as
    the rules cover incidents that "may have occurred").

    Unknown is never "no": while a fact that could make the incident reportable is unknown the
    status is ``undecided``. Encryption: when ``facts.encrypted`` is true (high-grade encryption
    or an equivalent protective measure) every ground is exempt, including the
    unauthorised-purpose one — the rules define the exemption once in item 1 and apply it to
    the whole article; the grounds that would have applied are kept in ``exempt_grounds``. A
    ground that applies while encryption is unknown leaves the case undecided (reportable
    unless the protection is established).
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
    outcome = partial(
        Reportability, regime=regime, individuals=facts.individuals, individuals_estimated=facts.individuals_estimated
    )
    if facts.encrypted:
        return outcome(NOT_REQUIRED, grounds=(), exempt_grounds=applicable, exempt_reason=EXEMPT_HIGH_GRADE_ENCRYPTION)
    if applicable:
        if facts.encrypted is None:
            return outcome(UNDECIDED, grounds=applicable, unknown=("encrypted",))
        return outcome(REQUIRED, grounds=applicable)
    unknown = tuple(n for n in facts.unknown() if n != "encrypted")
    if unknown:
        return outcome(UNDECIDED, grounds=(), unknown=unknown)
    return outcome(NOT_REQUIRED, grounds=())


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
    def preliminary_rule_en(self) -> str:
        """English account of the preliminary report's target date."""
        return (
            f"Preliminary report promptly (PPC guidance: roughly 3–5 days): target {self.preliminary_days} "
            f"days after the awareness date {self.aware_date.isoformat()} (Japan time), i.e. "
            f"{self.preliminary_target.isoformat()}; not moved for weekends or holidays."
        )

    @property
    def preliminary_rule_ja(self) -> str:
        """Japanese account of the preliminary report's target date."""
        return (
            f"速報は速やかに（委員会ガイドライン：おおむね3〜5日以内）：把握日（{self.aware_date.isoformat()}、"
            f"日本時間）の{self.preliminary_days}日後の{self.preliminary_target.isoformat()}を目標とする"
            "（土日祝日による繰り延べはしない）。"
        )

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
            "moved": [
                {"date": d.isoformat(), "reason": reason, "reason_ja": ja[d]} for d, reason in self.moved_reasons
            ],
            "rule": self.rule_en,
            "rule_ja": self.rule_ja,
        }


def _check_aware_at(aware_at: datetime) -> None:
    """Raise :class:`InputError` unless ``aware_at`` is a timezone-aware datetime."""
    if not isinstance(aware_at, datetime):
        raise InputError(f"awareness time must be a date and time, got {aware_at!r}")
    if not MIN_YEAR <= aware_at.year <= MAX_YEAR:
        raise InputError(
            f"awareness time {aware_at.isoformat()} is out of range: statutory dates can be counted "
            f"for {MIN_YEAR}–{MAX_YEAR}"
        )
    if aware_at.tzinfo is None or aware_at.utcoffset() is None:
        raise InputError(
            f"awareness time {aware_at.isoformat()} has no time zone: give an offset, e.g. 2026-12-01T10:00:00+09:00"
        )


def check_countable(instant: datetime, what: str) -> None:
    """Raise :class:`InputError` (one line naming ``what``) unless statutory dates can be counted
    from ``instant``: a timezone-aware time whose 60-day count stays inside the holiday calendar."""
    try:
        ppc_deadlines(instant, unauthorized_purpose=True)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None


def _check_days(name: str, value: int) -> None:
    """Raise :class:`InputError` unless ``value`` is a whole number ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name} must be a whole number ≥ 0, got {value!r}")


def _skipped_days(nominal: date) -> tuple[date, tuple[tuple[date, str], ...], tuple[tuple[date, str], ...]]:
    """The due day on or after ``nominal`` and the skipped days with reasons (en, ja)."""
    skipped_en: list[tuple[date, str]] = []
    skipped_ja: list[tuple[date, str]] = []
    day = nominal
    try:
        while not jpcalendar.is_business_day(day):
            skipped_en.append((day, ", ".join(jpcalendar.non_business_reasons(day, "en"))))
            skipped_ja.append((day, "・".join(jpcalendar.non_business_reasons(day, "ja"))))
            day += timedelta(days=1)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"cannot count the statutory due date from {nominal.isoformat()}: {exc}") from None
    return day, tuple(skipped_en), tuple(skipped_ja)


def _rule_en(aware: date, count: int, nominal: date, due: date, skipped: tuple[tuple[date, str], ...]) -> str:
    """English account of how the final due date was counted."""
    head = (
        f"Final report within {count} days"
        + (" (unauthorised-purpose case)" if count == FINAL_DAYS_UNAUTHORIZED_PURPOSE else "")
        + f": the awareness date {aware.isoformat()} (Japan time) is day 1, "
        f"so day {count} is {nominal.isoformat()}."
    )
    if not skipped:
        return (
            head + " It is not a Saturday, Sunday, national holiday or year-end closure day, "
            f"so the final report is due {due.isoformat()}."
        )
    listed = "; ".join(f"{d.isoformat()} {reason}" for d, reason in skipped)
    return (
        head + f" That day is not a business day ({skipped[0][1]}), so the due date moves "
        "to the next day that is not a Saturday, Sunday, national holiday or year-end "
        "closure day "
        f"(skipped: {listed}) → {due.isoformat()}."
    )


def _rule_ja(aware: date, count: int, nominal: date, due: date, skipped: tuple[tuple[date, str], ...]) -> str:
    """Japanese account of how the final due date was counted."""
    head = (
        f"確報は{count}日以内"
        + ("（不正の目的によるおそれがある事態）" if count == FINAL_DAYS_UNAUTHORIZED_PURPOSE else "")
        + f"：把握日（{aware.isoformat()}、日本時間）を1日目として{count}日目は"
        f"{nominal.isoformat()}。"
    )
    if not skipped:
        return head + f"土曜日・日曜日・祝日・年末年始の閉庁日のいずれにも当たらないため、期限は{due.isoformat()}。"
    listed = "、".join(f"{d.isoformat()} {reason}" for d, reason in skipped)
    return (
        head + f"{skipped[0][1]}のため、土曜日・日曜日・祝日・年末年始の閉庁日のいずれでもない"
        f"翌日以降の日に繰り延べ（{listed}）→ {due.isoformat()}"
    )


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
        raise InputError(f"unauthorized_purpose must be true or false, got {unauthorized_purpose!r}")
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


def preliminary_due_at(aware_at: datetime, *, preliminary_days: int = DEFAULT_PRELIMINARY_DAYS) -> datetime:
    """End of the preliminary-report target day (23:59:59 Japan time) as aware UTC."""
    return ppc_deadlines(aware_at, preliminary_days=preliminary_days).preliminary_target_at
