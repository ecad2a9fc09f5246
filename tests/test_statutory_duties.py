"""Statutory duties that cannot be missed (issue 10), through the CLI as a compliance officer
would try them: triage as a stage, three-valued facts, clocks that follow the facts, separate
duties for individuals and publication, nothing closing undecided, the Art. 26 regime."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.helpers import DIVISION, GM, PM, PO, REPORTER, STATUTORY_STAGES, T0, iso, minutes

PID = "INC-2027-0001"
AWARE = "2027-02-01T09:00+09:00"  # Monday; T0 is 10:00 the same day
DUE_30 = "2027-03-02T23:59:59+09:00"  # day 30 counting Feb 1 as day 1
DUE_60 = "2027-04-01T23:59:59+09:00"  # day 60 (unauthorised-purpose case)
KNOWN_NO = ["--sensitive", "no", "--financial-risk", "no", "--unauthorized-purpose", "no", "--encrypted", "no"]


def at(delta: timedelta) -> str:
    return iso(T0 + delta)


def ok(cli, *args) -> str:
    code, out, err = cli(*args)
    assert (code, err) == (0, ""), (args, err)
    return out


def ok_json(cli, *args):
    return json.loads(ok(cli, *args, "--json"))


def refused(cli, *args) -> str:
    code, out, err = cli(*args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (args, code, out, err)
    return err


def stages(cli, delta: timedelta = minutes(1)) -> dict[str, dict]:
    return {s["code"]: s for s in ok_json(cli, "show", PID, "--now", at(delta))["stages"]}


@pytest.fixture
def reported(hokoku_home, cli) -> str:
    ok(cli, "init", "--demo", "--now", at(timedelta(0)))
    ok(
        cli,
        "report",
        "--division",
        DIVISION,
        "--category",
        "misdirected",
        "--reporter",
        REPORTER,
        "--summary",
        "健康診断結果約2,000件を誤送信",
        "--aware-at",
        AWARE,
        "--now",
        at(timedelta(0)),
    )
    return PID


def complete_internal_chain(cli, start: timedelta) -> timedelta:
    """Acknowledge, then complete every non-statutory stage (steps first where they gate)."""
    t = start
    ok(cli, "ack", PID, "--as", PM, "--now", at(t))
    for stage, who in (
        ("immediate-measures", PM),
        ("investigation-report", PM),
        ("dg-report", GM),
        ("root-cause", PM),
        ("publication", GM),
        ("commission-information", GM),
    ):
        t += minutes(5)
        ok(cli, "advance", PID, stage, "--as", who, "--note", f"{stage} handled", "--now", at(t))
    for step in ok_json(cli, "step", "list", PID):
        if step["mandatory"] and step["status"] not in ("done", "skipped") and step["phase"] != "post-incident":
            t += minutes(1)
            ok(cli, "step", "done", PID, step["ref"], "--as", PM, "--evidence", "recorded", "--now", at(t))
    t += minutes(5)
    ok(cli, "advance", PID, "containment", "--as", PM, "--now", at(t))
    return t


def test_a_new_report_has_triage_open_and_both_commission_reports_running_from_awareness(reported, cli):
    """show --json: triage open; ppc-preliminary and ppc-final running in parallel with due times
    counted from awareness (ISO 8601 with offset) and the rule used; every fact unknown."""
    shown = ok_json(cli, "show", PID, "--now", at(minutes(1)))
    by_code = {s["code"]: s for s in shown["stages"]}
    assert by_code["triage"]["status"] == "pending"
    assert by_code["ppc-preliminary"]["status"] == by_code["ppc-final"]["status"] == "notified"
    assert by_code["ppc-preliminary"]["due"] == "2027-02-04T23:59:59+09:00"
    assert by_code["ppc-final"]["due"] == DUE_30
    for s in shown["stages"]:
        assert {"code", "status", "due"} <= set(s)
        if s["due"]:
            assert datetime.fromisoformat(s["due"]).utcoffset() is not None
    for code in STATUTORY_STAGES:
        assert by_code[code]["statutory"] is True and by_code[code]["rule"]
    assert "2027-03-02" in by_code["ppc-final"]["rule"] and "30" in by_code["ppc-final"]["rule"]
    assert shown["reportability"]["status"] == "undecided"
    assert set(shown["reportability"]["unknown"]) == {
        "sensitive",
        "financial_risk",
        "unauthorized_purpose",
        "individuals",
    }
    ok(cli, "ack", PID, "--as", PM, "--now", at(minutes(5)))
    triage = stages(cli, minutes(6))["triage"]
    assert (triage["status"], triage["owner"], triage["due"]) == ("notified", PM, "2027-02-02T23:59:59+09:00")


def test_the_unauthorised_purpose_fact_moves_the_final_report_to_60_days_and_back(reported, cli):
    """Added → the 60-day date; withdrawn → the 30-day date again; each move audited with old and
    new values and told to the owner."""
    ok(cli, "triage", PID, "--as", PM, "--unauthorized-purpose", "yes", "--now", at(minutes(10)))
    assert stages(cli, minutes(11))["ppc-final"]["due"] == DUE_60
    ok(cli, "triage", PID, "--as", PM, "--unauthorized-purpose", "no", "--now", at(minutes(20)))
    assert stages(cli, minutes(21))["ppc-final"]["due"] == DUE_30
    moves = [
        e["data"]
        for e in ok_json(cli, "show", PID, "--now", at(minutes(21)))["timeline"]
        if e["action"] == "stage.due_changed"
    ]
    assert [(m["stage"], m["new_due_at"][:10], m["cause"]) for m in moves] == [
        ("ppc-final", "2027-04-01", "triage"),
        ("ppc-final", "2027-03-02", "triage"),
    ]
    assert moves[0]["old_due_at"][:10] == "2027-03-02"
    told = [r for r in ok_json(cli, "outbox", "--incident", PID) if r["kind"] == "due_changed"]
    assert [r["to"] for r in told] == [GM, GM] and "2027/04/01" in told[0]["body"].replace("-", "/")


def test_facts_not_given_keep_their_value_and_unknown_can_be_said(reported, cli):
    """Triage twice: the second call changes one fact only; 'unknown' sets a fact back to unknown."""
    ok(cli, "triage", PID, "--as", PM, *KNOWN_NO, "--individuals", "40", "--now", at(minutes(10)))
    facts = ok_json(cli, "reportability", PID)["facts"]
    assert (facts["sensitive"], facts["individuals"]) == (False, 40)
    result = ok_json(cli, "triage", PID, "--as", PM, "--sensitive", "unknown", "--now", at(minutes(11)))
    assert result["facts"]["sensitive"] is None and result["facts"]["individuals"] == 40
    assert result["status"] == "undecided" and result["unknown"] == ["sensitive"]
    assert "yes, no or unknown" in refused(cli, "triage", PID, "--as", PM, "--sensitive", "maybe")


def test_correcting_the_awareness_time_moves_both_reports_and_is_recorded(reported, cli):
    """amend --aware-at: the preliminary target and the final due date follow; the old and new
    values and the reason are kept; only the protection manager or general manager may."""
    assert "may not correct" in refused(
        cli, "amend", PID, "--aware-at", "2027-01-29T17:00", "--reason", "log", "--as", PO, "--now", at(minutes(10))
    )
    assert "--reason" in refused(
        cli, "amend", PID, "--aware-at", "2027-01-29T17:00", "--reason", " ", "--as", PM, "--now", at(minutes(10))
    )
    assert "latest when the report was filed" in refused(
        cli, "amend", PID, "--aware-at", "2027-02-01T11:00", "--reason", "x", "--as", PM, "--now", at(minutes(90))
    )
    result = ok_json(
        cli,
        "amend",
        PID,
        "--aware-at",
        "2027-01-29T17:00",
        "--reason",
        "the first alert was Friday",
        "--as",
        PM,
        "--now",
        at(minutes(10)),
    )
    assert {m["stage"] for m in result["moved"]} == {"ppc-preliminary", "ppc-final", "individual-notice"}
    moved = stages(cli, minutes(11))
    assert moved["ppc-preliminary"]["due"] == "2027-02-01T23:59:59+09:00"  # Jan 29 + 3 days
    assert moved["ppc-final"]["due"] == "2027-03-01T23:59:59+09:00"  # day 30 Sat Feb 27 → Mon Mar 1
    shown = ok_json(cli, "show", PID, "--now", at(minutes(11)))
    assert shown["aware_at"].startswith("2027-01-29T08:00")
    amended = [e for e in shown["timeline"] if e["action"] == "incident.amended"]
    assert amended[0]["data"]["old"].startswith("2027-02-01T00:00") and amended[0]["data"]["new"].startswith(
        "2027-01-29T08:00"
    )
    assert "first alert" not in json.dumps(shown["timeline"])  # the reason is kept encrypted, not in the log


def test_completing_every_internal_stage_leaves_the_incident_open_while_a_statutory_duty_is_open(reported, cli):
    """The 2,000-participant case: every Chapter 9 stage done, reportability never triaged → open;
    the reportable facts then keep it open until the reports are filed and the individuals told."""
    t = complete_internal_chain(cli, minutes(5))
    assert ok_json(cli, "show", PID, "--now", at(t))["status"] == "open"
    ok(
        cli,
        "triage",
        PID,
        "--as",
        PM,
        "--sensitive",
        "yes",
        "--financial-risk",
        "no",
        "--unauthorized-purpose",
        "no",
        "--encrypted",
        "no",
        "--individuals",
        "2000",
        "--estimated",
        "--now",
        at(t + minutes(1)),
    )
    assert stages(cli, t + minutes(1))["triage"]["status"] == "done"
    ok(cli, "advance", PID, "ppc-preliminary", "--as", GM, "--note", "filed", "--now", at(t + minutes(2)))
    ok(cli, "advance", PID, "ppc-final", "--as", GM, "--note", "filed", "--now", at(t + minutes(3)))
    shown = ok_json(cli, "show", PID, "--now", at(t + minutes(3)))
    assert shown["status"] == "open"
    assert {s["code"] for s in shown["stages"] if s["status"] not in ("done", "skipped")} == {"individual-notice"}
    ok(cli, "notice", "add", PID, "--count", "1990", "--method", "郵送", "--as", GM, "--now", at(t + minutes(4)))
    assert ok_json(cli, "show", PID, "--now", at(t + minutes(4)))["status"] == "open"  # not all told yet
    ok(
        cli,
        "notice",
        "add",
        PID,
        "--count",
        "10",
        "--method",
        "電話",
        "--complete",
        "--as",
        GM,
        "--now",
        at(t + minutes(5)),
    )
    assert ok_json(cli, "show", PID, "--now", at(t + minutes(5)))["status"] == "closed"


def test_the_notice_to_individuals_cannot_be_skipped_on_a_reportable_incident(reported, cli):
    """ "影響軽微のため公表しない" on a reportable 150-person case: refused; advance is refused too."""
    ok(
        cli,
        "triage",
        PID,
        "--as",
        PM,
        "--sensitive",
        "yes",
        "--financial-risk",
        "no",
        "--unauthorized-purpose",
        "no",
        "--encrypted",
        "no",
        "--individuals",
        "150",
        "--now",
        at(minutes(10)),
    )
    err = refused(
        cli,
        "advance",
        PID,
        "individual-notice",
        "--as",
        GM,
        "--skip-reason",
        "影響軽微のため公表しない",
        "--now",
        at(minutes(11)),
    )
    assert "法令上の義務のため省略できません" in err  # Japanese by default
    assert "notice records" in refused(
        cli, "advance", PID, "individual-notice", "--as", GM, "--now", at(minutes(12)), "--lang", "en"
    )
    assert stages(cli, minutes(12))["individual-notice"]["status"] == "notified"
    assert "stage.refused" in [e["action"] for e in ok_json(cli, "show", PID, "--now", at(minutes(12)))["timeline"]]


def test_notifying_is_difficult_needs_the_alternative_measure_and_publication_must_be_done(reported, cli):
    """The statutory exception: 'publication' as the alternative is refused until 28-1 is done;
    recorded with a reason and a measure, it completes the notice duty."""
    args = [
        "notice",
        "difficult",
        PID,
        "--reason",
        "宛先不明の参加者が多数",
        "--measure",
        "ウェブサイトで公表",
        "--as",
        GM,
    ]
    assert "publication (28-1) is not done" in refused(
        cli, *args, "--alternative", "publication", "--now", at(minutes(10))
    )
    assert "--alternative" in refused(cli, *args, "--alternative", "nothing", "--now", at(minutes(10)))
    result = ok_json(cli, *args, "--alternative", "other", "--now", at(minutes(11)))
    assert result["completed"] == ["individual-notice"]
    assert stages(cli, minutes(12))["individual-notice"]["status"] == "done"


def test_information_to_the_commission_does_not_start_when_publication_was_skipped(reported, cli):
    """28-2 is about a published case: publication skipped → 28-2 set aside, never started."""
    ok(cli, "ack", PID, "--as", PM, "--now", at(minutes(5)))
    for i, stage in enumerate(("immediate-measures", "investigation-report"), start=1):
        ok(cli, "advance", PID, stage, "--as", PM, "--now", at(minutes(5 + i)))
    ok(
        cli,
        "advance",
        PID,
        "publication",
        "--as",
        GM,
        "--skip-reason",
        "公表しない（本人全員に通知済み）",
        "--now",
        at(minutes(10)),
    )
    info = stages(cli, minutes(11))["commission-information"]
    assert (info["status"], info["activated_at"]) == ("skipped", None)
    assert not [r for r in ok_json(cli, "outbox", "--incident", PID) if r["stage"] == "commission-information"]


def test_no_message_is_queued_for_an_incident_after_it_closed(reported, cli):
    """Closing cancels open playbook steps and their reminders: later sweeps queue nothing."""
    t = complete_internal_chain(cli, minutes(5))
    ok(cli, "triage", PID, "--as", PM, *KNOWN_NO, "--individuals", "3", "--now", at(t + minutes(1)))
    ok(cli, "reportability", PID, "--as", GM, "--confirm", "--now", at(t + minutes(2)))
    shown = ok_json(cli, "show", PID, "--now", at(t + minutes(2)))
    assert shown["status"] == "closed"
    steps = ok_json(cli, "step", "list", PID)
    assert all(s["status"] in ("done", "skipped") for s in steps)  # post-incident steps were cancelled
    before = len(ok_json(cli, "outbox", "--incident", PID))
    for days in (1, 5, 30, 90):
        ok(cli, "tick", "--now", at(t + timedelta(days=days)))
    after = ok_json(cli, "outbox", "--incident", PID)
    assert len(after) == before
    timeline = ok_json(cli, "show", PID, "--now", at(t + timedelta(days=90)))["timeline"]
    closed_seq = next(e["seq"] for e in timeline if e["action"] == "incident.closed")
    assert not [e for e in timeline if e["seq"] > closed_seq and e["action"] != "notification.sent"]


def test_the_demo_organisation_is_on_the_article_26_regime_and_says_so(hokoku_home, cli):
    """org, deadlines and the drafts cite APPI Art. 26 and PPC Rules Art. 7 and 8."""
    ok(cli, "init", "--demo", "--now", at(timedelta(0)))
    org = ok_json(cli, "org")
    assert org["regime"] == "business_like" and org["regime_detail"]["headcount_threshold"] == 1000
    printed = ok(cli, "org")
    assert "第26条" in printed and "第7条" in printed and "第8条" in printed and "1,000" in printed
    deadlines = ok(cli, "deadlines", "ppc", "--aware-at", AWARE)
    assert "個人情報保護法第26条第1項" in deadlines and "施行規則第7条" in deadlines and "APPI" not in deadlines
    deadlines = ok(cli, "deadlines", "ppc", "--aware-at", AWARE, "--lang", "en")
    assert "APPI Art. 26(1)" in deadlines and "PPC Rules Art. 7" in deadlines and "Art. 8" in deadlines
    admin = ok_json(cli, "deadlines", "ppc", "--aware-at", AWARE, "--regime", "administrative_body")
    assert "Art. 68" in admin["regime"]["basis"]
    ok(
        cli,
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--reporter",
        REPORTER,
        "--summary",
        "x",
        "--now",
        at(timedelta(0)),
    )
    draft = ok(cli, "draft", "ppc-preliminary", PID, "--lang", "ja", "--now", at(minutes(1)))
    assert "第26条" in draft and "第7条" in draft and "第8条" in draft


def test_an_organisation_file_without_a_regime_is_refused_naming_the_key(hokoku_home, cli, tmp_path):
    """The regime must be stated explicitly: no silent default."""
    from hokoku.config.org import DEMO_ORG

    text = "\n".join(
        line for line in DEMO_ORG.read_text(encoding="utf-8").splitlines() if not line.strip().startswith("regime:")
    )
    (tmp_path / "org.yaml").write_text(text, encoding="utf-8")
    err = refused(cli, "init", "--org", str(tmp_path / "org.yaml"))
    assert "organisation: regime is missing" in err


def test_a_report_filed_hours_after_awareness_is_flagged_as_late(hokoku_home, cli):
    """27-1 says 直ちに: three hours between awareness and report is shown as late (tolerance 1h)."""
    ok(cli, "init", "--demo", "--now", at(timedelta(0)))
    ok(
        cli,
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--reporter",
        REPORTER,
        "--summary",
        "x",
        "--aware-at",
        "2027-02-01T07:00+09:00",
        "--now",
        at(timedelta(0)),
    )
    delay = ok_json(cli, "show", PID, "--now", at(minutes(1)))["report_delay"]
    assert delay == {"minutes": 180, "tolerance": "1h", "late": True}
    assert "報告の遅れ" in ok(cli, "show", PID, "--now", at(minutes(1)))
    ok(
        cli,
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--reporter",
        REPORTER,
        "--summary",
        "y",
        "--aware-at",
        "2027-02-01T09:30+09:00",
        "--now",
        at(timedelta(0)),
    )
    assert ok_json(cli, "show", "INC-2027-0002", "--now", at(minutes(1)))["report_delay"]["late"] is False


@pytest.mark.parametrize(
    "args, expected",
    [
        (["deadlines", "ppc", "--aware-at", "2099-12-20T10:00", "--unauthorized-purpose"], "cannot count"),
        (["deadlines", "ppc", "--aware-at", "0001-01-01T10:00"], "out of range"),
        (["deadlines", "ppc", "--aware-at", "9999-12-31T10:00"], "out of range"),
    ],
)
def test_dates_out_of_range_give_a_one_line_error(hokoku_home, cli, args, expected):
    """Past the holiday library's range or beyond any real date: one line, exit 2, no traceback."""
    assert expected in refused(cli, *args, "--lang", "en")


def test_a_report_whose_statutory_count_leaves_the_calendar_is_refused_before_anything_is_written(hokoku_home, cli):
    """Awareness in 2150: one line, and no incident is created."""
    ok(cli, "init", "--demo", "--now", at(timedelta(0)))
    err = refused(
        cli,
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--reporter",
        REPORTER,
        "--summary",
        "x",
        "--aware-at",
        "2150-01-01T10:00",
        "--now",
        "2150-01-02T10:00",
    )
    assert "--aware-at" in err
    assert ok_json(cli, "list") == []
