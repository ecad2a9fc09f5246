"""Inline SVG bar charts: scaling, escaping, empty charts, durations."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from hokoku.web.charts import LABEL_W, Bar, Segment, bar_chart, fmt_duration, stacked_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_scale_to_the_largest_value_and_parse_as_svg():
    svg = bar_chart(
        "Time to acknowledge", [Bar("INC-1", 10, "10分"), Bar("INC-2", 40, "40分"), Bar("INC-3", None, "-")]
    )
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    rects = root.findall(f".//{SVG}rect")
    widths = [float(r.get("width")) for r in rects]
    assert len(widths) == 2 and abs(widths[1] / widths[0] - 4) < 0.01
    assert all(float(r.get("x")) == LABEL_W for r in rects)
    assert root.find(f"{SVG}title").text == "Time to acknowledge"


def test_labels_are_escaped():
    svg = str(bar_chart("<b>t</b>", [Bar("<script>alert(1)</script>", 1, "&", href="/x?a=1&b=<2>")]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<b>" not in svg
    ET.fromstring(svg)  # still well-formed


def test_empty_chart_says_so():
    svg = str(bar_chart("t", [], empty="まだ値がありません"))
    assert "まだ値がありません" in svg and "<rect" not in svg


def test_stacked_segments_and_legend():
    svg = str(
        stacked_chart(
            "Deadlines",
            [
                (
                    "INC-1",
                    [Segment(3, "seg met", "met"), Segment(1, "seg missed", "missed"), Segment(0, "seg open", "open")],
                    "/incidents/INC-1",
                )
            ],
        )
    )
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if float(r.get("height")) > 12]
    assert [r.get("class") for r in bars] == ["seg met", "seg missed"]
    assert abs(float(bars[0].get("width")) / float(bars[1].get("width")) - 3) < 0.01
    legend = re.findall(r'class="lgd"[^>]*>([^<]+)<', svg)
    assert legend == ["met", "missed", "open"]
    assert 'href="/incidents/INC-1"' in svg


def test_durations_in_both_languages():
    assert fmt_duration(timedelta(minutes=7), "ja") == "7分"
    assert fmt_duration(timedelta(hours=1, minutes=5), "ja") == "1時間5分"
    assert fmt_duration(timedelta(days=2, hours=3), "en") == "2 d 3 h"
    assert fmt_duration(timedelta(hours=1, minutes=5), "en") == "1 h 05 min"
    assert fmt_duration(None, "en") == "-"
