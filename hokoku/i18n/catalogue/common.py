"""Texts shared by every area: list separators, yes/no, units.  ``key: (ja, en)``."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "list.sep": ("、", ", "),
    "list.and": ("・", " and "),
    "paren.open": ("（", " ("),
    "paren.close": ("）", ")"),
    "label.sep": ("：", ": "),
    # durations, largest unit first, zero units left out (hokoku.documents.durations_fmt)
    "dur.zero": ("0分", "0 min"),
    "dur.under_minute": ("1分未満", "under 1 min"),
    "dur.d": ("{d}日", "{d} d"),
    "dur.h": ("{h}時間", "{h} h"),
    "dur.m": ("{m}分", "{m} min"),
    "dur.dh": ("{d}日{h}時間", "{d} d {h} h"),
    "dur.dm": ("{d}日{m}分", "{d} d {m} min"),
    "dur.hm": ("{h}時間{m}分", "{h} h {m} min"),
    "dur.dhm": ("{d}日{h}時間{m}分", "{d} d {h} h {m} min"),
    # the charts' figures: days and hours, or hours and two-digit minutes
    "chart.dur.dh": ("{d}日{h}時間", "{d} d {h} h"),
    "chart.dur.hm": ("{h}時間{m}分", "{h} h {m:02d} min"),
    "chart.rel.ahead": ("あと{text}", "in {text}"),
    "chart.rel.overdue": ("{text}超過", "{text} overdue"),
    # whether a deadline was met
    "verdict.no_deadline": ("期限なし", "no deadline"),
    "verdict.open": ("未完了", "still open"),
    "verdict.met": ("期限内", "met"),
    "verdict.missed": ("超過", "missed"),
    "verdict.met_by": ("期限内（残り{amount}）", "met with {amount} to spare"),
    "verdict.missed_by": ("超過（{amount}）", "missed by {amount}"),
    "locale.tag": ("ja-JP", "en-GB"),
    "datetime.full": ("{date}{hour}時{minute:02d}分", "{date} {hour:02d}:{minute:02d} JST"),
}
