"""Documents an official can file as they stand (issue 15), built from real incidents through the
CLI and the web app: public texts only in public-facing drafts, a notice with every item the
rules ask of it, one headcount everywhere, no codes or slugs in Japanese text, Word export.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest

from hokoku.documents import KINDS
from hokoku.documents.render import COMMISSION_KINDS, PUBLIC_KINDS
from tests.helpers import DIVISION, PM, REPORTER, T0, iso, minutes

REPORTER_SUMMARY = "解析サーバで外部からの不正ログインの痕跡がある"  # the reporter's raw words
STEP_NOTE = "配線を抜き該当アカウントを停止済"  # an internal step note
STAGE_NOTE = "封じ込め完了の内部記録"  # an internal stage note
FINDING_CAUSE = "保守用アカウントのパスワードが推測可能なものであったため"  # for the Commission only
PUBLIC = {
    "summary": "当機構の研究用サーバ1台に、外部から不正にログインされたことが判明しました。",
    "discovery": "当機構の職員が通信記録の確認中に気づきました。",
    "cause": "サーバの認証の設定に不備があったためと考えられます。",
    "secondary_damage": "現時点で、二次被害は確認されていません。",
    "measures": "サーバをネットワークから切り離し、不正なログインができない状態にしました。",
    "prevention": "認証の設定を見直し、定期的な点検を行います。",
    "other": "対象の方には、郵送でお知らせしています。",
}
HEADCOUNT = "1,200人（推計）"
NUMBER = re.compile(r"1,?200")
PUBLIC_FACING = PUBLIC_KINDS + COMMISSION_KINDS
# Allowed ASCII in Japanese drafts: ids, ISO dates, the contact's email and phone, nothing else.
ALLOWED = re.compile(r"INC-\d{4}-\d{4}|\d{4}-\d{2}-\d{2}|[\w.+-]+@[\w.-]+\.\w+|\d{2,4}-\d{2,4}-\d{3,4}")
ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z_.-]*[A-Za-z]|[A-Za-z]")
MD_SYNTAX = re.compile(r"<br>|&lt;|&gt;|&amp;")


def _cli_incident(cli, tmp_path):
    """An unauthorised-access incident taken through the CLI: report, steps, findings, public texts,
    a notice batch and a prevention action."""
    code, out, err = cli("init", "--demo", "--now", iso(T0))
    assert code == 0, err
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        REPORTER_SUMMARY,
        "--reporter",
        REPORTER,
        "--aware-at",
        iso(T0 - minutes(30)),
        "--occurred-at",
        iso(T0 - timedelta(hours=5)),
        "--data-items",
        "氏名、住所、電話番号",
        "--individuals",
        "1200",
        "--json",
        "--now",
        iso(T0),
    )
    assert code == 0, err
    incident = re.search(r'"incident": "(INC-[0-9-]+)"', out).group(1)
    steps = [
        ("ack", incident, "--as", PM, "--now", iso(T0 + minutes(5))),
        ("step", "done", incident, "isolate-host", "--as", PM, "--note", STEP_NOTE, "--now", iso(T0 + minutes(10))),
        ("advance", incident, "immediate-measures", "--as", PM, "--note", STAGE_NOTE, "--now", iso(T0 + minutes(15))),
        ("finding", "set", incident, "cause", "--text", FINDING_CAUSE, "--as", PM, "--now", iso(T0 + minutes(20))),
        (
            "finding",
            "set",
            incident,
            "data_items",
            "--text",
            "氏名、住所、電話番号",
            "--as",
            PM,
            "--now",
            iso(T0 + minutes(20)),
        ),
        (
            "notice",
            "add",
            incident,
            "--count",
            "80",
            "--method",
            "letter",
            "--at",
            iso(T0 + timedelta(days=2)),
            "--as",
            PM,
            "--now",
            iso(T0 + timedelta(days=2)),
        ),
        (
            "action",
            "add",
            incident,
            "--title",
            "認証設定の定期点検",
            "--owner",
            PM,
            "--due",
            iso(T0 + timedelta(days=30)),
            "--as",
            PM,
            "--now",
            iso(T0 + timedelta(days=2)),
        ),
    ]
    # In time order: an acting verb refuses a --now before the incident's latest event (issue 11).
    steps += [
        (
            "public-text",
            incident,
            "--field",
            field,
            "--text",
            text,
            "--as",
            PM,
            "--now",
            iso(T0 + timedelta(days=2, hours=1)),
        )
        for field, text in PUBLIC.items()
    ]
    for args in steps:
        code, out, err = cli(*args)
        assert code == 0, (args, err)
    return incident


def _drafts(cli, tmp_path, incident, *, lang="ja") -> dict[tuple[str, str], str]:
    """Every kind in md, html and docx (as text read back with python-docx), written by the CLI."""
    from hokoku.documents.docx import docx_text

    out: dict[tuple[str, str], str] = {}
    for kind in KINDS:
        for fmt in ("md", "html", "docx"):
            path = tmp_path / f"{kind}.{lang}.{fmt}"
            code, _, err = cli(
                "draft",
                kind,
                incident,
                "--lang",
                lang,
                "--format",
                fmt,
                "--out",
                str(path),
                "--now",
                iso(T0 + timedelta(days=3)),
            )
            assert code == 0, (kind, fmt, err)
            out[(kind, fmt)] = docx_text(path.read_bytes()) if fmt == "docx" else path.read_text(encoding="utf-8")
    return out


@pytest.fixture
def cli_drafts(demo_app, cli, tmp_path):
    incident = _cli_incident(cli, tmp_path)
    return incident, _drafts(cli, tmp_path, incident)


def test_reporter_text_and_internal_notes_appear_in_no_public_facing_draft(cli_drafts):
    """Publication, notice and Commission drafts (md, html, docx) never carry the reporter's summary,
    a step note or a stage note; the public texts the owner wrote are there instead."""
    _, drafts = cli_drafts
    leaks = [
        (kind, fmt, text)
        for (kind, fmt), body in drafts.items()
        if kind in PUBLIC_FACING
        for text in (REPORTER_SUMMARY, STEP_NOTE, STAGE_NOTE)
        if text in body
    ]
    assert leaks == []
    for kind in PUBLIC_KINDS:
        assert PUBLIC["summary"] in drafts[(kind, "md")] and PUBLIC["cause"] in drafts[(kind, "md")]
        assert FINDING_CAUSE not in drafts[(kind, "md")]  # the Commission's cause stays with the Commission


def test_the_notice_to_individuals_has_every_item_the_rules_ask_with_the_contact_point(cli_drafts):
    """概要 (with occurrence, discovery, awareness), 項目, 原因, 二次被害, その他 and the contact point."""
    _, drafts = cli_drafts
    md = drafts[("individual-notice", "md")]
    for heading in (
        "## 1. 概要",
        "## 2. 対象となるあなたの個人情報の項目",
        "## 3. 原因",
        "## 4. 二次被害又はそのおそれの有無及びその内容",
        "## 6. その他参考となる事項",
        "## 7. お問い合わせ窓口",
    ):
        assert heading in md
    assert re.search(r"## 3\. 原因\n\n" + re.escape(PUBLIC["cause"]), md)
    assert "発生日時：令和9年2月1日（2027-02-01）5時00分" in md
    assert "発覚の経緯：" + PUBLIC["discovery"] in md
    assert "事態を知った日時：令和9年2月1日（2027-02-01）9時30分" in md
    assert "03-0000-0000" in md and "privacy-desk@example.org" in md


def test_the_headcount_reads_identically_in_every_draft(cli_drafts):
    """Every mention of the 1,200 individuals, in every kind and format, is 1,200人（推計）."""
    _, drafts = cli_drafts
    mentions = {body[m.start() : m.end() + 5] for body in drafts.values() for m in NUMBER.finditer(body)}
    assert mentions == {HEADCOUNT}
    assert all(
        HEADCOUNT in drafts[(kind, "md")]
        for kind in (
            "publication",
            "ppc-preliminary",
            "ppc-final",
            "ppc-information",
            "investigation-report",
            "dg-report",
        )
    )


def _ascii_words(text: str) -> list[str]:
    text = ALLOWED.sub(" ", MD_SYNTAX.sub(" ", text))
    return ASCII_WORD.findall(text)


def test_no_ascii_slug_or_event_code_appears_in_any_japanese_draft(cli_drafts):
    """Scanning every Japanese draft (Markdown and Word text): no slug, code or English word."""
    _, drafts = cli_drafts
    found = {(kind, fmt): _ascii_words(body) for (kind, fmt), body in drafts.items() if fmt in ("md", "docx")}
    assert {key: words for key, words in found.items() if words} == {}


def test_the_timeline_of_the_investigation_report_is_sentences(cli_drafts):
    """The course of events reads as sentences, not event codes."""
    _, drafts = cli_drafts
    md = drafts[("investigation-report", "md")]
    timeline = md[md.index("## 2. 経緯") : md.index("## 3.")]
    assert "- 令和9年2月1日（2027-02-01）10時00分　吉田 翔が事案を報告した。" in timeline
    assert "中村 美咲が手順「感染端末のネットワーク隔離」を完了した。" in timeline
    assert "中村 美咲が報告事項「原因」を記録した。" in timeline
    assert "中村 美咲が「公表用の原因」を記録した。" in timeline
    assert "incident.reported" not in md and "isolate-host" not in md


def test_statuses_are_in_words_and_unknown_is_not_not_done(cli_drafts):
    """Item 6 (notices sent, duty open) is 実施中; item 7 (publication not started) 未実施; item 8
    lists the action as 実施中."""
    _, drafts = cli_drafts
    md = drafts[("ppc-final", "md")]
    item6 = md[md.index("### 6.") : md.index("### 7.")]
    item7 = md[md.index("### 7.") : md.index("### 8.")]
    item8 = md[md.index("### 8.") : md.index("### 9.")]
    assert "実施状況：実施中" in item6 and "80人に郵送により通知" in item6
    assert "実施状況：未実施" in item7
    assert "・認証設定の定期点検（実施中）" in item8
    assert "letter" not in md and "（open）" not in md


def test_commission_drafts_carry_the_reporters_contact_and_no_internal_sections(cli_drafts):
    """速報・確報: the contact from the organisation file; deadlines and the decision are on the cover."""
    _, drafts = cli_drafts
    for kind in ("ppc-preliminary", "ppc-final"):
        md = drafts[(kind, "md")]
        assert "## 報告者の連絡先" in md and "03-0000-0000" in md and "総務部 個人情報保護相談窓口" in md
        assert "報告期限" not in md and "総括管理者の判定" not in md
    cover = drafts[("ppc-cover", "md")]
    assert "## 報告期限" in cover and "総括管理者の判定" in cover


def test_a_missing_public_text_is_a_marked_gap_not_internal_text(demo_app, cli, tmp_path):
    """Without public texts the publication shows 【未記入：…】, never the reporter's words."""
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        REPORTER_SUMMARY,
        "--reporter",
        REPORTER,
        "--data-items",
        "氏名と住所の一覧",
        "--json",
        "--now",
        iso(T0),
    )
    incident = re.search(r'"incident": "(INC-[0-9-]+)"', out).group(1)
    path = tmp_path / "pub.md"
    code, _, err = cli("draft", "publication", incident, "--out", str(path), "--now", iso(T0 + minutes(5)))
    assert code == 0, err
    md = path.read_text(encoding="utf-8")
    assert "【未記入：公表用の概要】" in md and "【未記入：公表用の原因】" in md
    assert "【未記入：個人情報の項目（保護管理者が確認したもの）】" in md
    assert REPORTER_SUMMARY not in md and "氏名と住所の一覧" not in md  # the reporter's words stay out


def test_public_texts_are_encrypted_at_rest_and_audited(cli_drafts, demo_app):
    """The texts are stored encrypted (no plaintext in the database) and each write is audited."""
    from tests.helpers import audit_actions, raw_sql

    incident, _ = cli_drafts
    blobs = b"".join(bytes(r[0]) for r in raw_sql(demo_app, "SELECT text_enc FROM public_text"))
    assert PUBLIC["cause"].encode() not in blobs and len(blobs) > 0
    fields = [
        d["field"] for action, d in audit_actions(demo_app, incident=incident) if action == "public_text.recorded"
    ]
    assert sorted(fields) == sorted(PUBLIC)


def test_only_the_incidents_managers_write_public_texts(demo_app, cli):
    """The reporter may not write a public text (one line, exit 2)."""
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        REPORTER_SUMMARY,
        "--reporter",
        REPORTER,
        "--json",
        "--now",
        iso(T0),
    )
    incident = re.search(r'"incident": "(INC-[0-9-]+)"', out).group(1)
    code, out, err = cli(
        "public-text", incident, "--field", "summary", "--text", "x", "--as", REPORTER, "--now", iso(T0 + minutes(1))
    )
    assert code == 2 and "may not write public texts" in err


def test_the_occurrence_time_is_checked(demo_app, cli):
    """An occurrence time after the awareness time is refused with one line."""
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        REPORTER_SUMMARY,
        "--reporter",
        REPORTER,
        "--aware-at",
        iso(T0 - minutes(30)),
        "--occurred-at",
        iso(T0),
        "--now",
        iso(T0),
    )
    assert code == 2 and "--occurred-at" in err


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_kind_renders_in_both_languages_in_html_md_and_docx(cli_drafts, cli, tmp_path, lang):
    """Nine kinds × md, html, docx: each carries the incident id; the Word files open with python-docx."""
    incident, drafts = cli_drafts
    if lang == "en":
        drafts = _drafts(cli, tmp_path, incident, lang="en")
    assert {kind for kind, _ in drafts} == set(KINDS)
    for (kind, fmt), body in drafts.items():
        assert incident in body, (kind, fmt)
        if fmt == "html":
            assert body.startswith("<!DOCTYPE html>") and "@media print" in body


def test_the_word_draft_has_headings_tables_and_a_japanese_font(cli_drafts, cli, tmp_path):
    """The ppc-final docx: Title and Heading styles, tables, East Asian font set on Normal."""
    from docx import Document
    from docx.oxml.ns import qn

    incident, _ = cli_drafts
    path = tmp_path / "final.docx"
    assert cli("draft", "ppc-final", incident, "--format", "docx", "--out", str(path), "--now", iso(T0))[0] == 0
    doc = Document(io.BytesIO(path.read_bytes()))
    styles = [p.style.name for p in doc.paragraphs]
    assert "Title" in styles and "Heading 1" in styles and "Heading 2" in styles
    assert len(doc.tables) >= 3
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) in ("MS Mincho", "IPAexMincho")
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert headings[:9] == [
        "1. 概要",
        "2. 漏えい等が発生し、又は発生したおそれがある個人データ（保有個人情報）の項目",
        "3. 本人の数",
        "4. 原因",
        "5. 二次被害又はそのおそれの有無及びその内容",
        "6. 本人への対応の実施状況",
        "7. 公表の実施状況",
        "8. 再発防止のための措置",
        "9. その他参考となる事項",
    ]


def test_docx_without_out_is_refused(demo_app, cli):
    """A Word draft needs --out (it is not text for the terminal)."""
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        REPORTER_SUMMARY,
        "--reporter",
        REPORTER,
        "--json",
        "--now",
        iso(T0),
    )
    incident = re.search(r'"incident": "(INC-[0-9-]+)"', out).group(1)
    code, out, err = cli("draft", "summary", incident, "--format", "docx", "--now", iso(T0))
    assert code == 2 and "--out" in err
