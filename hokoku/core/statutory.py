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
from typing import Any

from hokoku.core import jpcalendar
from hokoku.core.exceptions import InputError
from hokoku.core.statuses import ReportabilityStatus
from hokoku.i18n import LANGS, BilingualText, Lang, join_list, resolve_lang, t

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
        return self.basis("en")

    @property
    def basis_ja(self) -> str:
        """Japanese citation of the provisions the duty rests on."""
        return self.basis("ja")

    def basis(self, lang: Lang) -> str:
        """The provisions the duty rests on, in ``lang``."""
        return t(
            f"statutory.basis.{self.value}",
            lang,
            act=self.act_article,
            rules=self.rules_article,
            report=self.rules_article + 1,
        )

    @property
    def label(self) -> str:
        """English label, e.g. ``administrative body (APPI Art. 68)``."""
        return self.label_in("en")

    @property
    def label_ja(self) -> str:
        """Japanese label, e.g. ``行政機関等（個人情報保護法第68条）``."""
        return self.label_in("ja")

    def label_in(self, lang: Lang) -> str:
        """The regime's label in ``lang``."""
        return t(f"statutory.regime.{self.value}", lang, act=self.act_article)


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
        return BilingualText(ja=self.citation_ja, en=self.citation_en).get(lang)


def _ground(code: str, regime: Regime) -> Ground:
    """Build the :class:`Ground` for ``code`` under ``regime`` (items 1–4 of Art. 43 or 7)."""
    item = _ITEMS[code]
    article = regime.rules_article
    what = {lang: t(f"statutory.ground.{code}", lang, limit=f"{regime.headcount_threshold:,}") for lang in LANGS}
    return Ground(
        code=code,
        item=item,
        citation_ja=t("statutory.citation", "ja", article=article, item=item, what=what["ja"]),
        citation_en=t("statutory.citation", "en", article=article, item=_ROMAN[item], what=what["en"]),
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


def fact_label(name: str, lang: Lang = "en") -> str:
    """A fact's name for people, in ``lang``."""
    return t(f"statutory.fact.{name}", lang)


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
        try:
            lang = resolve_lang(lang)
        except ValueError:
            raise InputError(f"unsupported language {lang!r}: expected 'en' or 'ja'") from None
        regime = self.regime.label_in(lang)

        def cite(grounds: tuple[Ground, ...]) -> str:
            return t("statutory.cite_sep", lang).join(g.citation(lang) for g in grounds)

        if self.status == REQUIRED:
            text = t("statutory.summary.required", lang, regime=regime, cited=cite(self.grounds))
        elif self.status == UNDECIDED:
            missing = join_list([fact_label(n, lang) for n in self.unknown], lang)
            text = t("statutory.summary.undecided", lang, regime=regime, missing=missing)
            if self.grounds:
                text += t("statutory.summary.would_apply", lang, cited=cite(self.grounds))
        elif self.exempt_reason == EXEMPT_HIGH_GRADE_ENCRYPTION:
            cited = cite(self.exempt_grounds)
            tail = t("statutory.summary.exempt_cited", lang, cited=cited) if cited else t("sentence.end", lang)
            text = t("statutory.summary.exempt", lang, regime=regime) + tail
        else:
            text = t("statutory.summary.not_required", lang, regime=regime, article=self.regime.rules_article)
        return text + t("statutory.summary.people", lang, people=self._people(lang))

    def _people(self, lang: Lang) -> str:
        if self.individuals is None:
            return t("statutory.people.unknown", lang)
        estimated = t("statutory.people.estimated", lang) if self.individuals_estimated else ""
        return t("statutory.people.count", lang, count=f"{self.individuals:,}") + estimated


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
        return self.preliminary_rule("en")

    @property
    def preliminary_rule_ja(self) -> str:
        """Japanese account of the preliminary report's target date."""
        return self.preliminary_rule("ja")

    def preliminary_rule(self, lang: Lang) -> str:
        """The account of the preliminary report's target date in ``lang``."""
        return t(
            "statutory.rule.preliminary",
            lang,
            days=self.preliminary_days,
            aware=self.aware_date.isoformat(),
            target=self.preliminary_target.isoformat(),
        )

    def rule(self, lang: Lang) -> str:
        """The account of how the final due date was counted, in ``lang``."""
        return BilingualText(ja=self.rule_ja, en=self.rule_en).get(lang)

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
            skipped_en.append((day, t("statutory.reason_sep", "en").join(jpcalendar.non_business_reasons(day, "en"))))
            skipped_ja.append((day, t("statutory.reason_sep", "ja").join(jpcalendar.non_business_reasons(day, "ja"))))
            day += timedelta(days=1)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"cannot count the statutory due date from {nominal.isoformat()}: {exc}") from None
    return day, tuple(skipped_en), tuple(skipped_ja)


def _rule(lang: Lang, aware: date, count: int, nominal: date, due: date, skipped: tuple[tuple[date, str], ...]) -> str:
    """The account of how the final due date was counted, in ``lang``."""
    case = t("statutory.rule.unauthorized_case", lang) if count == FINAL_DAYS_UNAUTHORIZED_PURPOSE else ""
    head = t(
        "statutory.rule.final_head", lang, count=count, case=case, aware=aware.isoformat(), nominal=nominal.isoformat()
    )
    if not skipped:
        return head + t("statutory.rule.final_kept", lang, due=due.isoformat())
    listed = t("statutory.rule.skipped_sep", lang).join(f"{d.isoformat()} {reason}" for d, reason in skipped)
    return head + t("statutory.rule.final_moved", lang, first=skipped[0][1], skipped=listed, due=due.isoformat())


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
        rule_en=_rule("en", aware, count, nominal, due, skipped_en),
        rule_ja=_rule("ja", aware, count, nominal, due, skipped_ja),
    )


def final_due_at(aware_at: datetime, *, unauthorized_purpose: bool = False) -> datetime:
    """End of the final-report due day (23:59:59 Japan time) as aware UTC, for a stage deadline."""
    return ppc_deadlines(aware_at, unauthorized_purpose=unauthorized_purpose).final_due_at


def preliminary_due_at(aware_at: datetime, *, preliminary_days: int = DEFAULT_PRELIMINARY_DAYS) -> datetime:
    """End of the preliminary-report target day (23:59:59 Japan time) as aware UTC."""
    return ppc_deadlines(aware_at, preliminary_days=preliminary_days).preliminary_target_at
