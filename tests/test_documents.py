"""Tests for hokoku.documents: the document drafts (PPC reports, publication, notices, summary).

The fixture is a malware incident at the demo organisation (an administrative body): 150
individuals, so reportable under PPC Rules Art. 43(iv). Expected dates and durations were
worked out by hand from the fixture's Japan-time instants, not computed with the code under test.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from markupsafe import Markup

from hokoku.core.exceptions import InputError
from hokoku.core.jpcalendar import JST
from hokoku.documents import KINDS, md_escape, render_draft
from hokoku.documents.diff import diff_items
from hokoku.documents.durations_fmt import deadline_verdict, format_duration
from hokoku.documents.wareki import format_date, format_datetime, wareki

LANGS = ("ja", "en")
FORMATS = ("md", "html")

SCRIPT = "<script>alert(1)</script><!channel>"
SCRIPT_HTML = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;!channel&gt;"
MARKDOWN = "**bold** [link](javascript:alert(1))"
MARKDOWN_INERT = r"\*\*bold\*\* \[link\](javascript:alert(1))"


def jst(*args: int) -> datetime:
    """An instant given in Japan time, as aware UTC (as the builder hands them over)."""
    return datetime(*args, tzinfo=JST).astimezone(UTC)


PM, GM = "中村 美咲", "鈴木 一郎"

SUMMARY_FACTS_JA = (
    "発生日時：現時点で未確定\n発覚の経緯：職員が画面上の不審な表示に気づき、直ちに報告しました。\n"
    "事態を知った日時：令和9年2月1日（2027-02-01）9時40分"
)
PRELIMINARY_ITEMS = {
    "summary": "端末PC-17がランサムウェアに感染し、調査票データの共有フォルダが暗号化された。\n" + SUMMARY_FACTS_JA,
    "data_items": "氏名、住所、電話番号、調査回答",
    "individuals": "約150人（推計）",
    "cause": "VPN機器の脆弱性を突かれた不正侵入の可能性。\n定義ファイルが更新されていなかった。",
    "secondary_damage": None,
    "individual_response": None,
    "publication": None,
    "prevention": None,
    "other": None,
}

FINAL_ITEMS = {
    "summary": "端末PC-17がランサムウェアに感染し、調査票データの共有フォルダが暗号化された。",
    "data_items": "氏名、住所、電話番号、調査回答",
    "individuals": None,
    "cause": "VPN機器の脆弱性（修正プログラム未適用）を突かれた不正侵入。\n定義ファイルが更新されていなかった。",
    "secondary_damage": "二次被害は確認されていない。不審な電話のおそれがある。",
    "individual_response": "対象者150人に郵送で通知した。",
    "publication": "機構ウェブサイトで公表した。",
    "prevention": "修正プログラム適用手順の見直し。",
    "other": None,
}


def _stage(
    code: str,
    article: str,
    title_ja: str,
    title_en: str,
    owner: str | None,
    status: str,
    due: datetime | None,
    done: datetime | None = None,
    note: str | None = None,
) -> dict:
    return {
        "code": code,
        "article": article,
        "title_ja": title_ja,
        "title_en": title_en,
        "owner_name": owner,
        "status": status,
        "activated_at": jst(2027, 2, 1, 9, 55),
        "due_at": due,
        "acknowledged_at": done,
        "completed_at": done,
        "completed_by_name": owner if done else None,
        "note": note,
        "skip_reason": None,
    }


CONTACT = {
    "office_ja": "総務部 個人情報保護相談窓口",
    "office_en": "Personal Information Desk",
    "phone": "03-0000-0000",
    "email": "privacy-desk@example.org",
    "hours_ja": "平日9時から17時まで",
    "hours_en": "weekdays 9:00–17:00",
    "person": "森田 誠",
}
PUBLIC = {
    "summary": "当機構の職員が使用する業務用パソコン1台が、コンピュータウイルスに感染しました。",
    "discovery": "職員が画面上の不審な表示に気づき、直ちに報告しました。",
    "cause": "外部からの不正な侵入によるものと考えられます。",
    "secondary_damage": "現時点で、二次被害は確認されていません。",
    "measures": "感染したパソコンをネットワークから切り離しました。",
    "prevention": "ソフトウェアの更新手順を見直します。",
    "other": "対象の方には、順次お知らせしています。",
}


def make_data() -> dict[str, Any]:
    """The malware incident, preliminary report filed, final report late, root cause open."""
    return {
        "generated_at": jst(2027, 3, 4, 10, 0),
        "organisation": {
            "name_ja": "架空総合研究機構",
            "name_en": "Fictional Research Organisation",
            "regime": "administrative_body",
            "contact": dict(CONTACT),
        },
        "incident": {
            "public_id": "INC-2027-0001",
            "category": "malware",
            "category_label_ja": "不正プログラム感染",
            "category_label_en": "Malware infection",
            "division_name_ja": "社会調査データ室",
            "division_name_en": "Social Survey Data Office",
            "institute_name_ja": "データ科学研究所",
            "institute_name_en": "Institute of Data Science",
            "serious": True,
            "status": "open",
            "aware_at": jst(2027, 2, 1, 9, 40),
            "reported_at": jst(2027, 2, 1, 9, 55),
            "closed_at": None,
            "report_delay_ja": "15分",
            "report_delay_en": "15 min",
            "report_late": False,
            "summary": "PC-17 shows a ransom note",
            "reporter_name": "吉田 翔",
            "protection_manager_name": PM,
            "general_manager_name": GM,
            "institute_manager_name": "伊藤 四郎",
            "director_general_name": "山田 太郎",
        },
        "stages": [
            _stage(
                "report",
                "27-1",
                "事案の報告（職員から保護管理者へ）",
                "Report received from staff",
                "吉田 翔",
                "done",
                jst(2027, 2, 1, 9, 55),
                jst(2027, 2, 1, 9, 55),
            ),
            _stage(
                "immediate-measures",
                "27-2",
                "直ちに行い得る被害拡大防止措置",
                "Immediate measures against spreading damage",
                PM,
                "done",
                jst(2027, 2, 1, 13, 0),
                jst(2027, 2, 1, 10, 50),
                note="PC-17のLANケーブルを抜線",
            ),
            _stage(
                "containment",
                "27-2",
                "被害の拡大防止・復旧のための措置",
                "Containment and recovery",
                PM,
                "done",
                jst(2027, 2, 3, 17, 0),
                jst(2027, 2, 2, 15, 0),
                note="VPN機器を停止し、バックアップから復旧",
            ),
            _stage(
                "investigation-report",
                "27-3",
                "経緯・被害状況の調査と報告",
                "Investigation and report",
                PM,
                "done",
                jst(2027, 2, 9, 17, 0),
                jst(2027, 2, 5, 16, 0),
            ),
            _stage(
                "root-cause",
                "27-5",
                "原因分析と再発防止措置",
                "Root cause analysis and recurrence prevention",
                PM,
                "acknowledged",
                jst(2027, 3, 5, 17, 0),
            ),
            _stage(
                "individuals-publication",
                "28-1",
                "本人への対応と公表",
                "Response to individuals and publication",
                GM,
                "done",
                jst(2027, 2, 19, 17, 0),
                jst(2027, 2, 12, 10, 0),
            ),
            _stage(
                "ppc-preliminary",
                "APPI",
                "個人情報保護委員会への速報",
                "Preliminary report to the Commission",
                GM,
                "done",
                jst(2027, 2, 4, 23, 59, 59),
                jst(2027, 2, 4, 15, 0),
            ),
            _stage(
                "ppc-final",
                "APPI",
                "個人情報保護委員会への確報",
                "Final report to the Commission",
                GM,
                "done",
                jst(2027, 3, 2, 23, 59, 59),
                jst(2027, 3, 4, 3, 0),
            ),
        ],
        "triage": {
            "at": jst(2027, 2, 1, 11, 30),
            "by_name": PM,
            "sensitive": False,
            "financial_risk": False,
            "unauthorized_purpose": False,
            "individuals": 150,
            "individuals_estimated": True,
            "encrypted": False,
            "required": True,
            "grounds": [
                {
                    "code": "headcount",
                    "citation_ja": "個人情報保護法施行規則第43条第4号（本人の数が100人を超える）",
                    "citation_en": "PPC Rules Art. 43(iv) (more than 100 individuals)",
                }
            ],
            "exempt_reason": None,
            "summary_ja": "個人情報保護委員会への報告が必要：個人情報保護法施行規則第43条第4号。本人の数：150人（推計）。",
            "summary_en": "Report to the PPC required: PPC Rules Art. 43(iv). Individuals: 150 (estimated).",
            "decision": {"kind": "confirmed", "by_name": GM, "at": jst(2027, 2, 1, 12, 0), "reason": None},
        },
        "ppc": {
            "aware_date": date(2027, 2, 1),
            "preliminary_target": date(2027, 2, 4),
            "final_due": date(2027, 3, 2),
            "final_day_count": 30,
            "rule_ja": "確報は30日以内：把握日（2027-02-01、日本時間）を1日目として30日目は2027-03-02。",
            "rule_en": "Final report within 30 days: the awareness date 2027-02-01 (Japan time) is day 1.",
        },
        "items": dict(FINAL_ITEMS),
        "public": dict(PUBLIC),
        "headcount": {"count": 150, "estimated": True, "source": "triage"},
        "preliminary_items": dict(PRELIMINARY_ITEMS),
        "prevention_actions": [
            {
                "title": "修正プログラム適用手順の見直し",
                "owner_name": PM,
                "due_at": jst(2027, 3, 31, 17, 0),
                "status": "open",
                "completed_at": None,
            },
            {
                "title": "定義ファイル更新の監視",
                "owner_name": "加藤 由美",
                "due_at": jst(2027, 2, 28, 17, 0),
                "status": "done",
                "completed_at": jst(2027, 2, 20, 10, 0),
            },
        ],
        "notices": [{"count": 150, "notified_at": jst(2027, 2, 10, 10, 0), "method": "郵送", "substitute": None}],
        "metrics": {
            "time_to_acknowledge": timedelta(minutes=38),
            "time_to_contain": timedelta(days=1, hours=5, minutes=20),
        },
        "deadlines": [
            {
                "name_ja": "27-2 直ちに行い得る措置",
                "name_en": "27-2 immediate measures",
                "due_at": jst(2027, 2, 1, 13, 0),
                "done_at": jst(2027, 2, 1, 10, 50),
                "met": True,
                "margin": timedelta(hours=2, minutes=10),
            },
            {
                "name_ja": "確報",
                "name_en": "Final report",
                "due_at": jst(2027, 3, 2, 23, 59, 59),
                "done_at": jst(2027, 3, 4, 3, 0),
                "met": False,
                "margin": -timedelta(days=1, hours=3, seconds=1),
            },
            {
                "name_ja": "27-5 原因分析",
                "name_en": "27-5 root cause",
                "due_at": jst(2027, 3, 5, 17, 0),
                "done_at": None,
                "met": None,
                "margin": None,
            },
        ],
        "timeline": [
            {
                "at": jst(2027, 2, 1, 10, 50),
                "actor_name": PM,
                "action": "LANケーブルを抜線",
                "stage": "immediate-measures",
            },
            {"at": jst(2027, 2, 1, 9, 55), "actor_name": "吉田 翔", "action": "事案を報告", "stage": "report"},
        ],
    }


def fresh_data() -> dict[str, Any]:
    """A just-reported incident: no triage, no deadlines, nothing established, nothing done."""
    data = make_data()
    data.update(
        triage=None,
        ppc=None,
        items={key: None for key in FINAL_ITEMS},
        preliminary_items=None,
        public={},
        headcount=None,
        stages=[],
        prevention_actions=[],
        notices=[],
        deadlines=[],
        timeline=[],
        metrics={"time_to_acknowledge": None, "time_to_contain": None},
    )
    data["incident"].update(summary="PC-17 shows a ransom note", closed_at=None)
    return data


def hostile_data() -> dict[str, Any]:
    """Hostile text in the reporter's summary, every report item, stage notes and the timeline."""
    data = make_data()
    text = f"{SCRIPT} {MARKDOWN}"
    data["incident"]["summary"] = text
    data["items"] = {key: text for key in FINAL_ITEMS}
    data["public"] = {key: text for key in PUBLIC}
    data["triage"]["decision"]["reason"] = text  # shown on the internal cover page
    data["preliminary_items"] = None  # the preliminary draft then shows the current items
    for stage in data["stages"]:
        stage["note"] = text
    for entry in data["timeline"]:
        entry["action"] = text
    data["prevention_actions"][0]["title"] = text
    return data


def section(text: str, start: str, end: str | None = None) -> str:
    """The part of ``text`` from ``start`` up to ``end`` (or the end of the text)."""
    assert start in text, f"{start!r} not in output"
    rest = text[text.index(start) :]
    if end is None:
        return rest
    stop = rest.find(end, len(start))
    assert stop != -1, f"{end!r} not after {start!r}"
    return rest[:stop]


# --------------------------------------------------------------------------- every kind

NINE_JA = [
    "概要",
    "漏えい等が発生し、又は発生したおそれがある個人データ（保有個人情報）の項目",
    "本人の数",
    "原因",
    "二次被害又はそのおそれの有無及びその内容",
    "本人への対応の実施状況",
    "公表の実施状況",
    "再発防止のための措置",
    "その他参考となる事項",
]
NINE_EN = [
    "Summary",
    "Items of personal data (retained personal information) leaked, lost or damaged, or possibly so",
    "Number of individuals",
    "Cause",
    "Secondary damage or risk of it, and its nature",
    "Response to the individuals concerned",
    "Publication",
    "Measures to prevent recurrence",
    "Other relevant matters",
]
PPC_HEADER = {
    "ja": [
        "報告者及び報告の根拠",
        "報告対象となる事態",
        "報告者の連絡先",
        "架空総合研究機構",
        "INC-2027-0001",
        "行政機関等",
        "個人情報保護法第68条",
        "施行規則第43条",
        "令和9年2月1日（2027-02-01）9時40分",
        "個人情報保護法施行規則第43条第4号（本人の数が100人を超える）",
        "総務部 個人情報保護相談窓口",
        "森田 誠",
        "03-0000-0000",
        "privacy-desk@example.org",
    ],
    "en": [
        "Reporting body and legal basis",
        "Reportable case",
        "Reporter’s contact",
        "Fictional Research Organisation",
        "INC-2027-0001",
        "Administrative body",
        "APPI Art. 68",
        "PPC Rules Art. 43",
        "1 February 2027 (Reiwa 9)",
        "PPC Rules Art. 43(iv) (more than 100 individuals)",
        "Personal Information Desk",
        "森田 誠",
        "03-0000-0000",
        "privacy-desk@example.org",
    ],
}
COVER = {
    "ja": [
        "個人情報保護委員会への報告に関する内部確認票",
        "本票は内部用です",
        "報告期限",
        "報告要否の判定",
        "総括管理者の判定",
        "速報からの変更点",
        "令和9年3月2日（2027-03-02）",
        "令和9年2月4日（2027-02-04）",
        "確報は30日以内",
    ],
    "en": [
        "Internal cover page for the reports to the Commission",
        "For internal use",
        "Deadlines",
        "Decision on reporting",
        "General manager’s decision",
        "Changes since the preliminary report",
        "2 March 2027 (Reiwa 9)",
        "4 February 2027 (Reiwa 9)",
        "Final report within 30 days",
    ],
}
SECTIONS: dict[tuple[str, str], list[str]] = {
    ("ppc-preliminary", "ja"): ["個人情報保護委員会への報告（速報）", "報告事項", *PPC_HEADER["ja"], *NINE_JA],
    ("ppc-preliminary", "en"): [
        "Preliminary report to the Personal Information Protection Commission",
        "Matters reported",
        *PPC_HEADER["en"],
        *NINE_EN,
    ],
    ("ppc-final", "ja"): ["個人情報保護委員会への報告（確報）", "報告事項", *PPC_HEADER["ja"], *NINE_JA],
    ("ppc-final", "en"): [
        "Final report to the Personal Information Protection Commission",
        "Matters reported",
        *PPC_HEADER["en"],
        *NINE_EN,
    ],
    ("ppc-cover", "ja"): COVER["ja"],
    ("ppc-cover", "en"): COVER["en"],
    ("ppc-information", "ja"): [
        "個人情報保護委員会事務局への情報提供",
        "個人情報保護委員会事務局 御中",
        "第28条第2項",
        "1. 事案の内容",
        "2. 経緯",
        "3. 被害状況",
        "4. 原因及び再発防止策",
        "5. 法令に基づく報告",
        "令和9年2月12日（2027-02-12）",
        "連絡先",
        "03-0000-0000",
    ],
    ("ppc-information", "en"): [
        "Information to the secretariat of the Personal Information Protection Commission",
        "Art. 28(2)",
        "1. Content",
        "2. Course of events",
        "3. Damage",
        "4. Cause and recurrence prevention",
        "5. Statutory report",
        "12 February 2027 (Reiwa 9)",
        "Contact",
        "03-0000-0000",
    ],
    ("publication", "ja"): [
        "個人情報の漏えい等に関するお詫びとお知らせ",
        "深くお詫び申し上げます",
        "1. 発生した事態",
        "2. 漏えい等のおそれがある個人情報の項目",
        "3. 対象となる方の人数",
        "4. 発生の原因",
        "5. 二次被害又はそのおそれ",
        "6. 当機構の対応",
        "7. 再発防止策",
        "8. お問い合わせ窓口",
        "03-0000-0000",
        PUBLIC["summary"],
        PUBLIC["measures"],
        "150人（推計）",
    ],
    ("publication", "en"): [
        "Apology and notice concerning a personal data incident",
        "We sincerely apologise",
        "1. What happened",
        "2. Personal information concerned",
        "3. Number of people affected",
        "4. Cause",
        "5. Secondary damage",
        "6. What we have done",
        "7. Preventing recurrence",
        "8. Contact",
        "03-0000-0000",
        PUBLIC["summary"],
        "150 (estimated)",
    ],
    ("individual-notice", "ja"): [
        "個人情報の漏えい等に関するお知らせ",
        "〔対象の方のお名前〕様",
        "1. 概要",
        "2. 対象となるあなたの個人情報の項目",
        "3. 原因",
        "4. 二次被害又はそのおそれの有無及びその内容",
        "不審な電話",
        "5. 当機構の対応",
        "6. その他参考となる事項",
        "7. お問い合わせ窓口",
        "privacy-desk@example.org",
        PUBLIC["cause"],
        PUBLIC["other"],
    ],
    ("individual-notice", "en"): [
        "Notice concerning your personal information",
        "Dear [name of the person]",
        "1. What happened",
        "2. Your information concerned",
        "3. Cause",
        "4. Secondary damage or risk of it",
        "suspicious telephone calls",
        "5. What we have done",
        "6. Other relevant matters",
        "7. Contact",
        "privacy-desk@example.org",
    ],
    ("investigation-report", "ja"): [
        "事案の経緯及び被害状況等の調査報告（規程第27条第3項）",
        "総括管理者 鈴木 一郎 殿",
        "研究所等管理者 伊藤 四郎 殿",
        "保護管理者 中村 美咲",
        "特に重大と認める事案",
        "1. 事案の概要",
        "2. 経緯",
        "3. 被害状況",
        "4. 講じた措置",
        "5. 調査の結果",
        "6. 未解明の事項",
        "令和9年2月1日（2027-02-01）10時50分",
        "PC-17のLANケーブルを抜線",
        "本人の数は150人（推計）であり",
        "規程第27条第5項",
    ],
    ("investigation-report", "en"): [
        "Investigation report on the course and damage of the incident (Art. 27(3))",
        "鈴木 一郎, general manager",
        "伊藤 四郎, institute manager",
        "中村 美咲, protection manager",
        "Especially serious case",
        "1. The incident",
        "2. Course of events",
        "3. Damage",
        "4. Measures taken",
        "5. Findings",
        "6. Open questions",
        "1 February 2027 (Reiwa 9) 10:50 JST",
        "PC-17のLANケーブルを抜線",
        "The number of individuals, 150 (estimated), is an estimate",
    ],
    ("dg-report", "ja"): [
        "機構長への報告（規程第27条第4項）",
        "機構長 山田 太郎 殿",
        "総括管理者 鈴木 一郎",
        "1. 事案の内容",
        "2. 経緯",
        "3. 被害状況",
        "4. 対応の状況",
        "令和9年2月2日（2027-02-02）15時00分",
        "確報の期限：令和9年3月2日（2027-03-02）",
    ],
    ("dg-report", "en"): [
        "Report to the director-general (Art. 27(4))",
        "山田 太郎, director-general",
        "鈴木 一郎, general manager",
        "1. Content",
        "2. Course of events",
        "3. Damage",
        "4. Response",
        "2 February 2027 (Reiwa 9) 15:00 JST",
        "Final report due: 2 March 2027 (Reiwa 9)",
    ],
    ("summary", "ja"): [
        "事案の事後総括",
        "受領確認までの時間",
        "38分",
        "封じ込めまでの時間",
        "1日5時間20分",
        "1. 概要",
        "2. 期限の遵守状況",
        "3. 経過",
        "4. 根本原因",
        "5. 再発防止策",
        "6. 本人への通知",
        "修正プログラム適用手順の見直し",
        "実施中",
        "郵送",
    ],
    ("summary", "en"): [
        "Post-incident summary",
        "Time to acknowledge",
        "38 min",
        "Time to contain",
        "1 d 5 h 20 min",
        "1. Summary",
        "2. Deadlines",
        "3. Timeline",
        "4. Root cause",
        "5. Recurrence prevention",
        "6. Notices to individuals",
        "修正プログラム適用手順の見直し",
        "in progress",
        "郵送",
    ],
}


def test_sections_table_covers_every_kind_and_language():
    """The expectations below cover every kind in both languages."""
    assert set(SECTIONS) == {(kind, lang) for kind in KINDS for lang in LANGS}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_all_its_sections(kind, lang, fmt):
    """Each kind shows its title, sections and the incident's facts in both languages and formats."""
    out = render_draft(kind, make_data(), lang=lang, fmt=fmt)
    missing = [text for text in SECTIONS[(kind, lang)] if text not in out]
    assert not missing, f"{kind}/{lang}/{fmt} lacks {missing}"
    assert "None" not in out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_just_reported_incident_renders_unknowns_plainly(kind, lang, fmt):
    """With no triage, deadlines or items, every kind still renders, marking unknowns, never 'None'."""
    out = render_draft(kind, fresh_data(), lang=lang, fmt=fmt)
    assert {"ja": "現時点で未確定", "en": "Not yet established"}[lang] in out
    assert "None" not in out


def test_defaults_are_japanese_markdown():
    """Without lang and fmt the draft is Japanese Markdown."""
    out = render_draft("ppc-preliminary", make_data())
    assert out.startswith("# 個人情報保護委員会への報告（速報）\n")


# --------------------------------------------------------------------------- PPC reports


def _item_section(md: str, number: int) -> str:
    """The body of report item ``number`` in a Markdown PPC report."""
    start = re.search(rf"^### {number}\. .*$", md, re.M)
    assert start, f"item {number} heading missing"
    end = re.search(r"^#{2,3} ", md[start.end() :], re.M)
    return md[start.end() : start.end() + end.start()] if end else md[start.end() :]


@pytest.mark.parametrize("lang,marker", [("ja", "**現時点で未確定**"), ("en", "**Not yet established**")])
def test_preliminary_marks_unknown_items_not_yet_established(lang, marker):
    """Items the filed preliminary report did not know show the not-yet-established marker."""
    md = render_draft("ppc-preliminary", make_data(), lang=lang)
    for number in (5, 6, 7, 8, 9):  # None in the preliminary snapshot
        assert marker in _item_section(md, number)
    for number in (1, 2, 3, 4):
        assert marker not in _item_section(md, number)
    assert "約150人（推計）" in _item_section(md, 3)  # the snapshot, not the final "150人"


def test_preliminary_before_filing_uses_the_current_items():
    """Without a filed snapshot the preliminary draft shows what is known now."""
    data = make_data()
    data["preliminary_items"] = None
    data["public"]["other"] = None
    md = render_draft("ppc-preliminary", data)
    assert "150人（推計）" in _item_section(md, 3) and "約150人" not in md
    assert "現時点で未確定" in _item_section(md, 9)
    assert "現時点で未確定" not in _item_section(md, 5)


def test_unknown_item_is_styled_in_html():
    """In HTML an unknown item is a visible, styled marker."""
    html = render_draft("ppc-preliminary", make_data(), fmt="html")
    assert '<span class="unknown">現時点で未確定</span>' in html


def test_business_like_body_cites_art_26_and_rules_7_and_8():
    """A body treated like a business cites APPI Art. 26 and PPC Rules Art. 7 and 8."""
    data = make_data()
    data["organisation"]["regime"] = "business_like"
    ja = render_draft("ppc-preliminary", data)
    en = render_draft("ppc-preliminary", data, lang="en")
    assert "個人情報保護法第26条" in ja and "施行規則第7条" in ja and "第8条（報告事項）" in ja
    assert "APPI Art. 26" in en and "PPC Rules Art. 7" in en and "Art. 8 (matters to report)" in en


def test_not_reportable_triage_says_so_with_the_exemption():
    """An encrypted-data exemption is shown as the reason no case applies."""
    data = make_data()
    data["triage"].update(required=False, grounds=[], exempt_reason="high_grade_encryption")
    out = render_draft("ppc-preliminary", data)
    assert "報告対象外：高度な暗号化" in out


def test_final_diff_shows_changed_items_old_and_new():
    """A changed item shows the preliminary text struck out and the final text added."""
    md = render_draft("ppc-cover", make_data())
    changes = section(md, "## 速報からの変更点")
    individuals = section(changes, "#### 3. 本人の数: 変更あり", "####")
    assert "| − | ~~約150人（推計）~~ |" in individuals
    assert "| + | **150人（推計）** |" in individuals
    cause = section(changes, "#### 4. 原因: 変更あり", "####")
    assert "~~VPN機器の脆弱性を突かれた不正侵入の可能性。~~" in cause
    assert "**VPN機器の脆弱性（修正プログラム未適用）を突かれた不正侵入。**" in cause
    assert "|  | 定義ファイルが更新されていなかった。 |" in cause  # the shared line, once, unmarked


def test_final_diff_shows_newly_established_unchanged_and_still_unknown():
    """The changes table names every item's status; newly established items show their text."""
    data = make_data()
    data["public"]["other"] = None
    md = render_draft("ppc-cover", data)
    changes = section(md, "## 速報からの変更点")
    assert "| 1. 概要 | 変更なし |" in changes
    assert "| 5. 二次被害又はそのおそれの有無及びその内容 | 新たに判明 |" in changes
    assert "| 9. その他参考となる事項 | 引き続き未確定 |" in changes
    new = section(changes, "#### 5. 二次被害又はそのおそれの有無及びその内容: 新たに判明", "####")
    assert "二次被害は確認されていない。不審な電話のおそれがある。" in new
    assert "#### 1. 概要" not in changes  # unchanged items get no detail block


def test_final_diff_in_html_and_english():
    """The HTML diff marks old text <del> and new text <ins>; English labels the statuses."""
    html = render_draft("ppc-cover", make_data(), fmt="html")
    assert '<tr class="del"><td>−</td><td><del>約150人（推計）</del></td></tr>' in html
    assert '<tr class="ins"><td>+</td><td><ins>150人（推計）</ins></td></tr>' in html
    en = render_draft("ppc-cover", make_data(), lang="en")
    assert "| 3. Number of individuals | changed |" in en
    assert "| 6. Response to the individuals concerned | newly established |" in en


def test_cover_lists_items_still_unknown():
    """The internal cover page warns which items are still not established."""
    data = make_data()
    data["public"]["other"] = None
    md = render_draft("ppc-cover", data)
    assert "次の事項が未確定です：その他参考となる事項" in md


def test_final_without_preliminary_says_changes_cannot_be_shown():
    """With no preliminary snapshot the cover page says so instead of a diff."""
    data = make_data()
    data["preliminary_items"] = None
    md = render_draft("ppc-cover", data)
    assert "速報の記録がないため、変更点を示すことができません。" in md
    assert "変更あり" not in md


def test_information_to_secretariat_without_a_publication_stage_leaves_the_date_open():
    """28-2 information where the chain has no publication stage: the date is not yet established."""
    data = make_data()
    data["stages"] = [s for s in data["stages"] if s["code"] != "individuals-publication"]
    md = render_draft("ppc-information", data)
    assert "| 公表日 | **現時点で未確定** |" in md


@pytest.mark.parametrize("code", ["publication", "individuals-publication"])
def test_publication_status_is_read_from_either_stage_code(code):
    """Before and after the split of 28-1, item 7 reads the publication stage by whichever code exists."""
    data = make_data()
    for stage in data["stages"]:
        if stage["code"] == "individuals-publication":
            stage["code"] = code
    md = render_draft("ppc-final", data)
    assert "実施状況：実施済（令和9年2月12日（2027-02-12）公表）" in _item_section(md, 7)


# --------------------------------------------------------------------------- diff


def test_diff_items_statuses():
    """Each item gets unchanged / changed / new / removed / unknown; blank counts as unknown."""
    before = {"summary": "same  \n", "data_items": "old", "individuals": None, "cause": "gone", "other": "   "}
    after = {"summary": "same", "data_items": "new", "individuals": "150人", "cause": None, "other": None}
    by_key = {d.key: d for d in diff_items(before, after)}
    assert [by_key[k].status for k in ("summary", "data_items", "individuals", "cause", "other")] == [
        "unchanged",
        "changed",
        "new",
        "removed",
        "unknown",
    ]
    assert by_key["data_items"].lines == (("-", "old"), ("+", "new"))
    assert [d.number for d in diff_items(before, after)] == list(range(1, 10))


def test_diff_lines_keep_shared_lines_once():
    """A multi-line change lists replaced lines old-then-new and shared lines once."""
    d = {x.key: x for x in diff_items({"cause": "a\nb\nc"}, {"cause": "a\nB\nc\nd"})}["cause"]
    assert d.lines == ((" ", "a"), ("-", "b"), ("+", "B"), (" ", "c"), ("+", "d"))


# --------------------------------------------------------------------------- summary and durations


def test_summary_shows_each_deadline_met_or_missed_by_how_much_in_japanese():
    """Each deadline row says 期限内（残り…）, 超過（…） or 未完了."""
    md = render_draft("summary", make_data())
    rows = section(md, "## 2. 期限の遵守状況", "## 3.")
    assert re.search(r"\| 27-2 直ちに行い得る措置 \|.*\| 期限内（残り2時間10分） \|", rows)
    assert re.search(r"\| 確報 \|.*\| 超過（1日3時間） \|", rows)
    assert re.search(r"\| 27-5 原因分析 \|.*\| 未完了 \|", rows)


def test_summary_shows_each_deadline_met_or_missed_by_how_much_in_english():
    """Each deadline row says met with … to spare, missed by …, or still open."""
    md = render_draft("summary", make_data(), lang="en")
    rows = section(md, "## 2. Deadlines", "## 3.")
    assert "| met with 2 h 10 min to spare |" in rows
    assert "| missed by 1 d 3 h |" in rows
    assert "| still open |" in rows


def test_summary_timeline_is_in_time_order():
    """The timeline lists entries by time, whatever order the builder gave."""
    md = render_draft("summary", make_data())
    timeline = section(md, "## 3. 経過", "## 4.")
    assert timeline.index("事案を報告") < timeline.index("LANケーブルを抜線")


@pytest.mark.parametrize(
    "value,ja,en",
    [
        (timedelta(days=1, hours=3), "1日3時間", "1 d 3 h"),
        (timedelta(hours=2, minutes=10), "2時間10分", "2 h 10 min"),
        (timedelta(days=2, minutes=5, seconds=59), "2日5分", "2 d 5 min"),
        (-timedelta(hours=1), "1時間", "1 h"),
        (timedelta(seconds=20), "1分未満", "under 1 min"),
    ],
)
def test_format_duration(value, ja, en):
    """Durations read as days, hours and minutes, zero units left out, to the minute."""
    assert (format_duration(value, "ja"), format_duration(value, "en")) == (ja, en)


def test_deadline_verdict_without_due_or_margin():
    """A deadline without a due time, or met without a margin, still reads plainly."""
    assert deadline_verdict(due_at=None, met=None, margin=None, lang="ja") == "期限なし"
    assert deadline_verdict(due_at=jst(2027, 2, 1), met=False, margin=None, lang="en") == "missed"


# --------------------------------------------------------------------------- hostile text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_text_is_escaped_in_html(kind, lang):
    """Script and mentions from the record appear as text in HTML, never as markup."""
    html = render_draft(kind, hostile_data(), lang=lang, fmt="html")
    assert "<script" not in html.lower()
    assert "<!channel>" not in html
    assert 'href="javascript' not in html
    assert SCRIPT_HTML in html


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_text_is_inert_in_markdown(kind, lang):
    """Script, mentions, emphasis and links from the record stay literal text in Markdown."""
    md = render_draft(kind, hostile_data(), lang=lang, fmt="md")
    assert "<script" not in md.lower()
    assert "<!channel>" not in md
    assert MARKDOWN not in md
    assert SCRIPT_HTML in md and MARKDOWN_INERT in md


def test_hostile_markdown_renders_as_literal_text():
    """Rendered by a CommonMark parser, the hostile Markdown output has no tag, link or emphasis."""
    markdown_it = pytest.importorskip("markdown_it")
    parser = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    html = parser.render(render_draft("investigation-report", hostile_data()))
    assert "<script" not in html.lower()
    assert "<a " not in html
    assert "<strong>bold</strong>" not in html
    assert "**bold** [link](javascript:alert(1))" in html  # shown literally


def test_markdown_is_not_html_escaped():
    """Markdown output keeps quotes as they are; HTML output escapes them."""
    data = make_data()
    data["items"]["other"] = 'He said "stop" & left'
    md = render_draft("ppc-final", data)
    html = render_draft("ppc-final", data, fmt="html")
    assert 'He said "stop" &amp; left' in md
    assert "He said &#34;stop&#34; &amp; left" in html


@pytest.mark.parametrize(
    "text,expected",
    [
        ("# heading", r"\# heading"),
        ("1. first", r"1\. first"),
        ("- item\n+ item\n===", "\\- item\\\n\\+ item\\\n\\==="),
        ("a | b `c` ~d~ $x$", r"a \| b \`c\` \~d\~ \$x\$"),
        ("    indented code", "indented code"),
        ("line one\n\nline two", "line one\\\nline two"),
        ("<b>&amp;</b>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"),
    ],
)
def test_md_escape(text, expected):
    """md_escape neutralises inline and line-start Markdown syntax and raw HTML."""
    assert md_escape(text) == expected


def test_md_escape_leaves_markup_alone():
    """Markup (already safe output) passes through md_escape unchanged."""
    assert md_escape(Markup("**ok**")) == "**ok**"


# --------------------------------------------------------------------------- HTML page


def test_html_is_a_complete_self_contained_page():
    """The HTML draft is a whole page with inline CSS, a CSP forbidding scripts, no external files."""
    html = render_draft("publication", make_data(), fmt="html", lang="en")
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert html.rstrip().endswith("</html>")
    assert "<style>" in html and "@media print" in html
    assert "default-src 'none'" in html
    assert "<link" not in html and "src=" not in html


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "day,expected",
    [
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2027, 2, 1), "令和9年2月1日"),
        (date(1989, 1, 8), "平成元年1月8日"),
    ],
)
def test_wareki(day, expected):
    """Dates are written in the Japanese era, 元年 for an era's first year."""
    assert wareki(day) == expected


def test_wareki_refuses_dates_before_heisei():
    """A date before 1989-01-08 raises ValueError."""
    with pytest.raises(ValueError, match="before the Heisei era"):
        wareki(date(1989, 1, 7))


def test_dates_show_both_calendars():
    """A date shows era and Western forms: 令和9年2月1日（2027-02-01） / 1 February 2027 (Reiwa 9)."""
    assert format_date(date(2027, 2, 1), "ja") == "令和9年2月1日（2027-02-01）"
    assert format_date(date(2027, 2, 1), "en") == "1 February 2027 (Reiwa 9)"
    assert format_date(date(2019, 5, 1), "en") == "1 May 2019 (Reiwa 1)"


def test_utc_instant_is_shown_on_its_japan_date():
    """2026-11-30T15:30Z is 2026-12-01 00:30 in Japan, in helpers and in a rendered draft."""
    instant = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
    assert format_datetime(instant, "ja") == "令和8年12月1日（2026-12-01）0時30分"
    assert format_datetime(instant, "en") == "1 December 2026 (Reiwa 8) 00:30 JST"
    data = copy.deepcopy(make_data())
    data["incident"]["aware_at"] = instant
    out = render_draft("investigation-report", data)
    assert "| 事態を知った日時 | 令和8年12月1日（2026-12-01）0時30分 |" in out
    assert "2026-11-30" not in out


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs,listed",
    [
        ({"kind": "ppc-interim"}, ", ".join(KINDS)),
        ({"kind": "summary", "lang": "fr"}, "ja, en"),
        ({"kind": "summary", "fmt": "pdf"}, "md, html"),
    ],
)
def test_unknown_kind_language_or_format_is_an_input_error(kwargs, listed):
    """An unknown kind, language or format raises InputError listing the valid values on one line."""
    kind = kwargs.pop("kind")
    with pytest.raises(InputError) as err:
        render_draft(kind, make_data(), **kwargs)
    message = str(err.value)
    assert listed in message and "\n" not in message


def test_data_without_incident_is_an_input_error():
    """Data lacking the incident section raises InputError naming it."""
    data = make_data()
    del data["incident"]
    with pytest.raises(InputError, match="'incident'"):
        render_draft("summary", data)


# --------------------------------------------------------------------------- Word


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_exports_to_word_with_its_sections(kind, lang):
    """The .docx of each kind (read back with python-docx) holds the HTML draft's sections, and a
    just-reported incident exports too."""
    from hokoku.documents.docx import docx_text, render_docx

    text = docx_text(render_docx(kind, make_data(), lang=lang))
    missing = [t for t in SECTIONS[(kind, lang)] if t not in text]
    assert not missing, f"{kind}/{lang}/docx lacks {missing}"
    assert "None" not in text
    assert {"ja": "現時点で未確定", "en": "Not yet established"}[lang] in docx_text(
        render_docx(kind, fresh_data(), lang=lang)
    )


def test_word_keeps_hostile_text_as_plain_text():
    """Script and markup from the record are plain characters in the Word document."""
    from hokoku.documents.docx import docx_text, render_docx

    text = docx_text(render_docx("investigation-report", hostile_data()))
    assert SCRIPT in text and MARKDOWN in text


def test_word_sets_a_japanese_font_and_a4():
    """Normal text: East Asian font MS Mincho; the page is A4."""
    import io

    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Mm

    from hokoku.documents.docx import render_docx

    doc = Document(io.BytesIO(render_docx("publication", make_data())))
    assert doc.styles["Normal"].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "MS Mincho"
    assert abs(doc.sections[0].page_width - Mm(210)) < Mm(1)


@pytest.mark.parametrize(
    "stages,notices,expected",
    [
        ([("individual-notice", "acknowledged")], True, "実施状況：実施中"),
        ([("individual-notice", "notified")], False, "実施状況：未実施"),
        ([("individual-notice", "done")], True, "実施状況：実施済"),
        ([("individuals-publication", "pending")], False, "実施状況：未実施"),
        ([], False, "現時点で未確定"),  # no notice duty on the chain, nothing recorded: not established
        ([], True, "実施状況：実施済"),
    ],
)
def test_item_6_reads_the_notice_duty_by_either_stage_code(stages, notices, expected):
    """Item 6's status word comes from the notice stage (new or old code) and the notice records;
    a missing stage code counts as not applicable, never as 'not done'."""
    data = make_data()
    data["items"]["individual_response"] = None
    data["stages"] = [s for s in data["stages"] if s["code"] != "individuals-publication"]
    for code, status in stages:
        data["stages"].append(
            _stage(code, "28-1", "本人への通知", "Notice to individuals", GM, status, jst(2027, 2, 19, 17, 0))
        )
    if not notices:
        data["notices"] = []
    item = _item_section(render_draft("ppc-final", data), 6)
    assert expected in item


def test_a_finding_on_item_3_explains_the_headcount_but_never_replaces_it():
    """Item 3 is the one headcount; the owner's answer follows as how it was counted."""
    data = make_data()
    data["items"]["individuals"] = "名簿の件数から算定"
    item = _item_section(render_draft("ppc-final", data), 3)
    assert item.strip() == "150人（推計）\\\n（算定方法等）名簿の件数から算定"
