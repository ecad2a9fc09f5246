"""Japanese era dates (和暦) and the two-form dates the drafts show.

Japanese documents write ``令和9年2月1日（2027-02-01）``; English ones ``1 February 2027 (Reiwa 9)``.
Eras covered: Reiwa (令和) from 2019-05-01 and Heisei (平成) from 1989-01-08 to 2019-04-30. The
first year of an era is 元年 in Japanese and ``1`` in English. A date before Heisei raises
:class:`ValueError`: no incident this system records can be that old, so such a date is a bug.

Instants (aware datetimes) are shown in Japan time; a naive datetime is taken to be UTC, as
the database returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hokoku.core.timeutil import JST, as_utc
from hokoku.i18n import resolve_lang, t


@dataclass(frozen=True)
class Era:
    name_ja: str
    name_en: str
    start: date


ERAS: tuple[Era, ...] = (  # newest first
    Era("令和", "Reiwa", date(2019, 5, 1)),
    Era("平成", "Heisei", date(1989, 1, 8)),
)

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def japan_date(value: date | datetime) -> date:
    """The calendar date in Japan: a datetime is converted to Japan time, a date is kept."""
    if isinstance(value, datetime):
        return as_utc(value).astimezone(JST).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date or datetime, got {type(value).__name__}")


def era_of(day: date | datetime) -> tuple[Era, int]:
    """The era and the year within it (1 for the first year); ValueError before Heisei."""
    d = japan_date(day)
    for era in ERAS:
        if d >= era.start:
            return era, d.year - era.start.year + 1
    raise ValueError(f"{d.isoformat()} is before the Heisei era (1989-01-08): not supported")


def wareki(day: date | datetime) -> str:
    """``令和9年2月1日``; the first year of an era is ``元年`` (``令和元年5月1日``)."""
    d = japan_date(day)
    era, year = era_of(d)
    return f"{era.name_ja}{'元' if year == 1 else year}年{d.month}月{d.day}日"


def era_year_en(day: date | datetime) -> str:
    """``Reiwa 9`` (``Reiwa 1`` for the first year)."""
    era, year = era_of(day)
    return f"{era.name_en} {year}"


def _date_ja(d: date) -> str:
    return f"{wareki(d)}（{d.isoformat()}）"


def _date_en(d: date) -> str:
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year} ({era_year_en(d)})"


#: Calendar formatting is locale data (as in Babel's ``format_date``): one formatter per language.
_DATE_FORMATS = {"ja": _date_ja, "en": _date_en}


def format_date(day: date | datetime, lang: str = "ja") -> str:
    """``令和9年2月1日（2027-02-01）`` (ja) or ``1 February 2027 (Reiwa 9)`` (en)."""
    return _DATE_FORMATS[resolve_lang(lang)](japan_date(day))


def format_datetime(value: datetime, lang: str = "ja") -> str:
    """``令和9年2月1日（2027-02-01）9時40分`` (ja) or ``1 February 2027 (Reiwa 9) 09:40 JST`` (en)."""
    local = as_utc(value).astimezone(JST)
    return t("datetime.full", lang, date=format_date(local, lang), hour=local.hour, minute=local.minute)
