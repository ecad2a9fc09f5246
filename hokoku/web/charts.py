"""Server-rendered inline SVG bar charts (no JavaScript, no external assets).

Horizontal bars so that long labels fit on a phone; the SVG scales with its container
(``viewBox``, width 100%). Every label and title is escaped; colours come from CSS classes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from hokoku.i18n import t

ROW = 26
BAR = 18
LABEL_W = 150
VALUE_W = 90
WIDTH = 640
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no value yet (drawn as "-")
    text: str  # the value as shown
    css: str = "bar"
    href: str | None = None


@dataclass(frozen=True)
class Segment:
    value: float
    css: str
    legend: str


def _label(x: float, y: float, text: str, *, anchor: str = "end", href: str | None = None, css: str = "lbl") -> str:
    el = f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" dominant-baseline="middle">{escape(text)}</text>'
    return f'<a href="{escape(href)}">{el}</a>' if href else el


def _frame(title: str, height: int, body: list[str], desc: str | None = None) -> Markup:
    cid = "c" + hashlib.sha256(title.encode()).hexdigest()[:10]
    desc_el = f'<desc id="{cid}d">{escape(desc)}</desc>' if desc else ""
    labelled = f"{cid}t {cid}d" if desc else f"{cid}t"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{labelled}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{cid}t">{escape(title)}</title>{desc_el}'
        + "".join(body)
        + "</svg>"
    )


def bar_chart(title: str, bars: list[Bar], *, empty: str = "-", desc: str | None = None) -> Markup:
    """One horizontal bar per item, scaled to the largest value."""
    if not bars:
        return _frame(title, ROW + TOP, [_label(LABEL_W, TOP + ROW / 2, empty, anchor="start", css="muted")], desc)
    top = max((b.value for b in bars if b.value is not None), default=0) or 1
    span = WIDTH - LABEL_W - VALUE_W - 8
    out = []
    for i, b in enumerate(bars):
        y = TOP + i * ROW
        mid = y + ROW / 2
        out.append(_label(LABEL_W - 6, mid, b.label, href=b.href))
        if b.value is not None and b.value > 0:
            w = max(1.0, span * b.value / top)
            out.append(
                f'<rect class="{escape(b.css)}" x="{LABEL_W}" y="{y + (ROW - BAR) / 2:.1f}" width="{w:.1f}" '
                f'height="{BAR}" rx="2"><title>{escape(b.label)}: {escape(b.text)}</title></rect>'
            )
        else:
            w = 0
        out.append(_label(LABEL_W + w + 6, mid, b.text, anchor="start", css="val"))
    return _frame(title, TOP * 2 + ROW * len(bars), out, desc)


def stacked_chart(
    title: str, rows: list[tuple[str, list[Segment], str | None]], *, empty: str = "-", desc: str | None = None
) -> Markup:
    """One bar per row, split into segments (e.g. deadlines met / missed / open), with a legend."""
    if not rows:
        return _frame(title, ROW + TOP, [_label(LABEL_W, TOP + ROW / 2, empty, anchor="start", css="muted")], desc)
    top = max((sum(s.value for s in segs) for _, segs, _ in rows), default=0) or 1
    span = WIDTH - LABEL_W - VALUE_W - 8
    out = []
    legend: dict[str, str] = {}
    for i, (label, segs, href) in enumerate(rows):
        y = TOP + i * ROW
        mid = y + ROW / 2
        out.append(_label(LABEL_W - 6, mid, label, href=href))
        x = float(LABEL_W)
        for s in segs:
            legend.setdefault(s.css, s.legend)
            if s.value <= 0:
                continue
            w = span * s.value / top
            out.append(
                f'<rect class="{escape(s.css)}" x="{x:.1f}" y="{y + (ROW - BAR) / 2:.1f}" width="{w:.1f}" '
                f'height="{BAR}"><title>{escape(label)}: {escape(s.legend)} {s.value:g}</title></rect>'
            )
            x += w
        text = " / ".join(f"{s.value:g}" for s in segs)
        out.append(_label(x + 6, mid, text, anchor="start", css="val"))
    ly = TOP + len(rows) * ROW + ROW / 2
    lx = float(LABEL_W)
    for css, text in legend.items():
        out.append(f'<rect class="{escape(css)}" x="{lx:.1f}" y="{ly - 6:.1f}" width="12" height="12"/>')
        out.append(_label(lx + 16, ly, text, anchor="start", css="lgd"))
        lx += 24 + 9 * len(text) + (9 * sum(1 for ch in text if ord(ch) > 0x2E80))
    return _frame(title, TOP * 2 + ROW * (len(rows) + 1), out, desc)


def fmt_duration(value: timedelta | None, lang: str) -> str:
    """``1時間5分`` / ``1 h 05 min``; days for long spans; ``-`` for None."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    if minutes <= 0:
        return t("dur.under_minute", lang)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("chart.dur.dh", lang, d=days, h=hours)
    return t("chart.dur.hm", lang, h=hours, m=mins) if hours else t("dur.m", lang, m=mins)


def fmt_relative(target: datetime | None, now: datetime, lang: str) -> str:
    """A due time beside now: ``あと58分`` / ``2時間超過`` (``in 58 min`` / ``2 h overdue``);
    under a minute either way is ``1分未満`` like every other figure."""
    if target is None:
        return ""
    delta = target - now
    if delta.total_seconds() >= 0:
        return t("chart.rel.ahead", lang, text=fmt_duration(delta, lang))
    return t("chart.rel.overdue", lang, text=fmt_duration(-delta, lang))
