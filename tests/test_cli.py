"""The ``hokoku`` command line, in-process: the acceptance scenario, error paths, JSON output."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.helpers import (
    DEFAULT_SUMMARY,
    DIVISION,
    GM,
    PM,
    PM_DEPUTY,
    PO,
    REPORTER,
    STAFF_NOT_ON_LADDER,
    STAFF_STAGES,
    STATUTORY_STAGES,
    T0,
    iso,
    minutes,
)

T = T0
PID = "INC-2027-0001"


def at(delta: timedelta) -> str:
    """A --now argument T + delta (Japan time)."""
    return iso(T + delta)


def utc(dt: datetime) -> str:
    """How --json output writes an instant (ISO 8601 in UTC)."""
    return dt.astimezone(UTC).isoformat()


def ok(cli, *args) -> str:
    """Run a verb that must succeed; return its stdout."""
    code, out, err = cli(*args)
    assert (code, err) == (0, ""), (args, err)
    return out


def ok_json(cli, *args):
    return json.loads(ok(cli, *args, "--json"))


def init_demo(cli) -> None:
    ok(cli, "init", "--demo", "--now", at(timedelta(0)))


def report_at(cli, delta: timedelta = timedelta(0)) -> dict:
    """`hokoku report` of the demo malware case by yoshida at T + delta; its JSON."""
    return ok_json(
        cli,
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        DEFAULT_SUMMARY,
        "--reporter",
        REPORTER,
        "--now",
        at(delta),
    )


@pytest.fixture
def reported(hokoku_home, cli) -> str:
    """`init --demo`, then one report at T; the incident id."""
    init_demo(cli)
    assert report_at(cli)["incident"] == PID
    return PID


def outbox_rows(cli, **where) -> list[dict]:
    rows = ok_json(cli, "outbox")
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def tick(cli, delta: timedelta) -> dict:
    return ok_json(cli, "tick", "--now", at(delta))


def show(cli, delta: timedelta = timedelta(0)) -> dict:
    return ok_json(cli, "show", PID, "--now", at(delta))


# -- the acceptance scenario ---------------------------------------------------------------
def test_report_tells_the_protection_manager_and_lists_what_to_do_now(hokoku_home, cli):
    """A report notifies the protection manager, sends the reporter a receipt and lists the immediate actions."""
    init_demo(cli)
    result = report_at(cli)
    assert result["incident"] == PID
    notified = [(n["email"], n["role"], n["kind"]) for n in result["notified"]]
    assert notified[0] == (PM, "protection_manager", "notify")
    assert (REPORTER, "reporter", "receipt") in notified
    # a new incident may be reportable: the general manager is told of the statutory duties at once
    assert {n["stage"] for n in result["notified"] if n["email"] == GM} == {
        "ppc-preliminary",
        "ppc-final",
        "individual-notice",
    }
    assert result["immediate_actions"][0].startswith("LANケーブルを抜く")  # the malware playbook, in Japanese
    outbox = outbox_rows(cli)
    assert {(r["kind"], r["to"]) for r in outbox} >= {("notify", PM), ("receipt", REPORTER)}
    assert all(r["incident"] == PID and r["status"] == "pending" for r in outbox)


def test_tick_at_15m_queues_a_reminder_to_the_protection_manager(reported, cli):
    """`tick --now T+15m` puts reminder #1 for the acknowledge stage to nakamura.pm in the outbox."""
    assert outbox_rows(cli, kind="reminder") == []
    tick(cli, minutes(14))
    assert outbox_rows(cli, kind="reminder") == []
    result = tick(cli, minutes(15))
    assert [(e["stage"], e["kind"], e["recipients"]) for e in result["sweep"] if e["kind"] == "reminder"] == [
        ("acknowledge", "reminder", [PM])
    ]
    reminders = outbox_rows(cli, kind="reminder")
    assert [(r["to"], r["stage"], r["status"]) for r in reminders] == [(PM, "acknowledge", "sent")]
    assert DEFAULT_SUMMARY in reminders[0]["body"]


def test_tick_past_30m_escalates_to_the_next_ladder_level(reported, cli):
    """Past T+30m the acknowledge stage escalates to the deputy (kobayashi.pm2) and the officer (kato.po)."""
    tick(cli, minutes(15))
    result = tick(cli, minutes(31))
    escalations = [e for e in result["sweep"] if e["kind"] == "escalation"]
    assert [(e["stage"], e["level"], e["recipients"]) for e in escalations] == [("acknowledge", 1, [PM_DEPUTY, PO])]
    assert sorted(r["to"] for r in outbox_rows(cli, kind="escalation")) == sorted([PM_DEPUTY, PO])


def test_ack_by_the_protection_officer_stops_the_acknowledge_chasing(reported, cli):
    """After kato.po acknowledges, later ticks send no reminder or escalation for the acknowledge stage."""
    tick(cli, minutes(15))
    tick(cli, minutes(31))
    ack = ok_json(cli, "ack", PID, "--as", PO, "--now", at(minutes(35)))
    assert (ack["stages"], ack["started"]) == (["acknowledge"], ["triage", "immediate-measures"])
    chased = {(r["kind"], r["to"]) for r in outbox_rows(cli, stage="acknowledge")}
    later = []
    for delta in (minutes(45), minutes(60), minutes(61), minutes(120), minutes(121), timedelta(hours=5)):
        later += [e for e in tick(cli, delta)["sweep"] if e["stage"] == "acknowledge"]
    assert later == []
    assert {(r["kind"], r["to"]) for r in outbox_rows(cli, stage="acknowledge")} == chased
    stage = {s["code"]: s for s in show(cli, timedelta(hours=5))["stages"]}["acknowledge"]
    assert (stage["status"], stage["acknowledged_by"]) == ("done", PO)


def test_show_lists_every_stage_with_owners_and_due_times(reported, cli):
    """`show --json` lists every stage with owner roles; started ones have owner and due time."""
    ok(cli, "ack", PID, "--as", PM, "--now", at(minutes(10)))
    stages = show(cli, minutes(11))["stages"]
    assert [s["code"] for s in stages] == STAFF_STAGES
    assert all(s["owner_role"] for s in stages)
    started = {s["code"]: (s["status"], s["owner"], s["due_at"]) for s in stages if s["status"] != "pending"}
    end_of_day = lambda d: utc(datetime(2027, 2, d, 23, 59, 59, tzinfo=T.tzinfo))  # noqa: E731
    assert started == {
        "report": ("done", REPORTER, utc(T)),
        "acknowledge": ("done", PM, utc(T + minutes(60))),
        "triage": ("notified", PM, end_of_day(2)),  # the end of the day after awareness
        "immediate-measures": ("notified", PM, utc(T + minutes(10) + timedelta(hours=2))),
        "ppc-preliminary": ("notified", GM, end_of_day(4)),
        "ppc-final": ("notified", GM, utc(datetime(2027, 3, 2, 23, 59, 59, tzinfo=T.tzinfo))),
        "individual-notice": ("notified", GM, utc(datetime(2027, 3, 3, 23, 59, 59, tzinfo=T.tzinfo))),
    }
    pending = [s for s in stages if s["status"] == "pending"]
    assert len(pending) == 6 and all(s["due_at"] is None for s in pending)


def complete_blocking_steps(cli, delta: timedelta) -> None:
    """Complete the incident's open mandatory playbook steps (they gate containment, 27-2)."""
    for step in ok_json(cli, "step", "list", PID):
        if step["mandatory"] and step["status"] not in ("done", "skipped") and step["phase"] != "post-incident":
            ok(
                cli,
                "step",
                "done",
                PID,
                step["ref"],
                "--as",
                PM,
                "--evidence",
                "photo of the unplugged cable",
                "--now",
                at(delta),
            )


def test_advance_through_every_stage_closes_the_incident(reported, cli):
    """Acknowledge, complete each stage in order (two skipped with reasons) and the incident is closed."""
    ok(cli, "ack", PID, "--as", PM, "--now", at(minutes(5)))
    steps = [
        ("immediate-measures", PM, None),
        ("investigation-report", PM, None),
        ("dg-report", GM, "minor case: reported orally, no written report needed"),
        ("root-cause", PM, None),
        ("publication", GM, None),
        ("commission-information", GM, "the secretariat was informed by telephone; no written information"),
    ]
    for n, (stage, who, skip) in enumerate(steps, start=1):
        extra = ["--skip-reason", skip] if skip else ["--note", f"{stage} handled"]
        result = ok_json(cli, "advance", PID, stage, "--as", who, "--now", at(minutes(10 * n)), *extra)
        assert (result["stages"], result["closed"]) == ([stage], False)
    complete_blocking_steps(cli, minutes(70))
    result = ok_json(cli, "advance", PID, "containment", "--as", PM, "--now", at(minutes(80)))
    assert result["closed"] is False  # triage and the statutory duties are still undecided
    ok(
        cli,
        "triage",
        PID,
        "--as",
        PM,
        "--sensitive",
        "no",
        "--financial-risk",
        "no",
        "--unauthorized-purpose",
        "no",
        "--encrypted",
        "no",
        "--individuals",
        "12",
        "--now",
        at(minutes(82)),
    )
    assert show(cli, minutes(83))["status"] == "open"  # not required on the facts, not yet decided
    ok(cli, "reportability", PID, "--as", GM, "--confirm", "--now", at(minutes(85)))

    shown = show(cli, minutes(90))
    assert (shown["status"], shown["closed_at"]) == ("closed", utc(T + minutes(85)))
    status = {s["code"]: s["status"] for s in shown["stages"]}
    assert status == {
        **{c: "done" for c in STAFF_STAGES},
        "dg-report": "skipped",
        "commission-information": "skipped",
        **{c: "skipped" for c in STATUTORY_STAGES},
    }
    reasons = {s["code"]: s["skip_reason"] for s in shown["stages"] if s["skip_reason"]}
    assert reasons == {
        "dg-report": steps[2][2],
        "commission-information": steps[5][2],
        **{c: "報告不要と判断（総括管理者）" for c in STATUTORY_STAGES},
    }
    assert "incident.closed" in [e["action"] for e in shown["timeline"]]
    assert ok_json(cli, "list", "--open", "--now", at(minutes(90))) == []


# -- error paths ---------------------------------------------------------------------------
_REPORT = ["report", "--division", DIVISION, "--category", "malware", "--summary", "x", "--reporter", REPORTER]


def _with(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


ERRORS = {
    "unknown division": (_with(_REPORT, "--division", "IDS-NOPE"), "unknown division 'IDS-NOPE'"),
    "unknown category": (_with(_REPORT, "--category", "meteor"), "unknown category 'meteor'"),
    "unknown reporter": (_with(_REPORT, "--reporter", "nobody@example.org"), "unknown person 'nobody@example.org'"),
    "empty summary": (_with(_REPORT, "--summary", "   "), "--summary: the summary is empty"),
    "malformed --now": ([*_REPORT, "--now", "tomorrow 10am"], "--now: 'tomorrow 10am' is not an ISO 8601 time"),
    "malformed --aware-at": ([*_REPORT, "--aware-at", "2027-02-30T10:00"], "--aware-at: '2027-02-30T10:00' is not"),
    "aware-at in the future": (
        [*_REPORT, "--now", at(timedelta(0)), "--aware-at", at(minutes(5))],
        "--aware-at: the time first known is in the future",
    ),
    "malformed --now on tick": (["tick", "--now", "10:15"], "--now: '10:15' is not an ISO 8601 time"),
    "wrong stage name": (["advance", PID, "contanment", "--as", PM], "unknown stage 'contanment'"),
    "ambiguous article": (
        ["advance", PID, "27-2", "--as", PM],
        "stage '27-2' is ambiguous: immediate-measures, containment",
    ),
    "unknown incident (show)": (["show", "INC-2027-0999"], "unknown incident 'INC-2027-0999'"),
    "unknown incident (ack)": (["ack", "INC-2027-0999", "--as", PM], "unknown incident 'INC-2027-0999'"),
    "unknown person (ack)": (["ack", PID, "--as", "nobody@example.org"], "unknown person 'nobody@example.org'"),
    "advance out of order": (
        ["advance", PID, "root-cause", "--as", PM],
        "stage root-cause cannot be completed before investigation-report is done",
    ),
    "skip of a non-skippable stage": (
        ["advance", PID, "root-cause", "--as", PM, "--skip-reason", ""],
        "stage root-cause (27-5) cannot be skipped",
    ),
    "skip without reason": (
        ["advance", PID, "dg-report", "--as", GM, "--skip-reason", " "],
        "skipping stage dg-report needs a reason",
    ),
    "ack by someone not on the ladder": (
        ["ack", PID, "--as", STAFF_NOT_ON_LADDER],
        f"{STAFF_NOT_ON_LADDER} may not acknowledge stage acknowledge",
    ),
    "missing required option": (["report", "--division", DIVISION], "the following arguments are required"),
}


def state_of(cli) -> tuple:
    """Everything a refused command must leave as it was (the audit log aside)."""
    incidents = ok_json(cli, "list", "--now", at(minutes(1)))
    shown = [
        {k: v for k, v in ok_json(cli, "show", i["incident"], "--now", at(minutes(1))).items() if k != "timeline"}
        for i in incidents
    ]
    return incidents, shown, ok_json(cli, "outbox")


@pytest.mark.parametrize("case", list(ERRORS))
def test_error_exits_2_with_one_line_and_changes_nothing(reported, cli, case):
    """Each user error exits 2 with one `hokoku: ...` line naming the problem; no incident, stage or message changes."""
    args, expected = ERRORS[case]
    before = state_of(cli)
    code, out, err = cli(*args, "--lang", "en")  # the expected texts are the English ones
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert err.startswith("hokoku: ") and expected in err, err
    assert state_of(cli) == before


def test_refused_report_leaves_no_incident_and_no_message(hokoku_home, cli):
    """Refused reports write nothing: no incident, no outbox row, no audit event, no id used up."""
    init_demo(cli)
    audit_before = ok_json(cli, "audit", "verify")["events"]
    for case in ("unknown division", "unknown category", "unknown reporter", "empty summary", "malformed --now"):
        assert cli(*ERRORS[case][0])[0] == 2
    assert ok_json(cli, "list") == []
    assert ok_json(cli, "outbox") == []
    assert ok_json(cli, "audit", "verify")["events"] == audit_before
    assert report_at(cli)["incident"] == PID  # the counter was not bumped by the refusals


def test_refused_ack_is_kept_in_the_audit_log(reported, cli):
    """A refused acknowledgement is recorded as `ack.refused` with the stage and the reason; the stage stays open."""
    code, _out, err = cli("ack", PID, "--as", STAFF_NOT_ON_LADDER, "--now", at(minutes(3)), "--lang", "en")
    assert code == 2
    shown = show(cli, minutes(4))
    refused = [e for e in shown["timeline"] if e["action"] == "ack.refused"]
    assert [(e["actor"], e["data"]["stage"]) for e in refused] == [(STAFF_NOT_ON_LADDER, "acknowledge")]
    assert refused[0]["data"]["reason"] in err
    stage = {s["code"]: s for s in shown["stages"]}["acknowledge"]
    assert (stage["status"], stage["acknowledged_at"]) == ("notified", None)


def test_refused_advance_is_kept_in_the_audit_log(reported, cli):
    """An out-of-order advance is recorded as `stage.refused` naming the stage."""
    assert cli("advance", PID, "root-cause", "--as", PM, "--now", at(minutes(3)))[0] == 2
    refused = [e for e in show(cli, minutes(4))["timeline"] if e["action"] == "stage.refused"]
    assert [(e["actor"], e["data"]["stage"]) for e in refused] == [(PM, "root-cause")]


VERBS_BEFORE_INIT = {
    "report": _REPORT,
    "ack": ["ack", PID, "--as", PM],
    "advance": ["advance", PID, "containment", "--as", PM],
    "tick": ["tick"],
    "show": ["show", PID],
    "list": ["list"],
    "outbox": ["outbox"],
    "org": ["org"],
    "audit verify": ["audit", "verify"],
}


@pytest.mark.parametrize("verb", list(VERBS_BEFORE_INIT))
def test_verb_before_init_says_to_run_init(hokoku_home, cli, verb):
    """On a fresh HOKOKU_HOME every verb exits 2 with one line telling to run `hokoku init`; no key is made."""
    code, out, err = cli(*VERBS_BEFORE_INIT[verb])
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("hokoku: ") and "hokoku init" in err, err
    assert not (hokoku_home / "keys").exists()
    init_demo(cli)  # and the home is still good to initialise
    assert ok_json(cli, "list") == []


# -- audit verify ---------------------------------------------------------------------------
def test_audit_verify_exits_0_then_1_after_tampering(reported, cli, hokoku_home):
    """`audit verify` passes on the untouched log and exits 1 naming the seq after one row is edited."""
    code, out, err = cli("audit", "verify")
    assert (code, err) == (0, "")
    assert out.startswith("OK: ")
    con = sqlite3.connect(hokoku_home / "hokoku.db")
    with con:
        con.execute("UPDATE audit_event SET actor='x' WHERE seq=3")
    con.close()
    code, out, _err = cli("audit", "verify", "--lang", "en")
    assert code == 1
    assert out.startswith("FAILED at audit event seq 3 ")
    assert out.rstrip().endswith(": content does not match its hash (edited)")
    code, out, _err = cli("audit", "verify")
    assert code == 1
    assert out == "失敗: 監査記録 seq 3（行 id 3）: 内容がハッシュと一致しません（改変されています）\n"
    code, out, _err = cli("audit", "verify", "--json")
    assert (code, json.loads(out)["ok"], json.loads(out)["bad_seq"]) == (1, False, 3)


# -- JSON output -----------------------------------------------------------------------------
def test_json_output_parses_for_every_verb(reported, cli):
    """--json prints one JSON document for report, ack, advance, tick, show, list, outbox and org."""
    second = report_at(cli, minutes(1))
    assert (
        second["incident"] == "INC-2027-0002"
        and {"email": PM, "role": "protection_manager", "kind": "notify", "stage": "acknowledge"} in second["notified"]
    )
    assert isinstance(second["immediate_actions"], list) and second["immediate_actions"]
    assert ok_json(cli, "ack", PID, "--as", PM, "--now", at(minutes(2)))["stages"] == ["acknowledge"]
    assert ok_json(cli, "advance", PID, "immediate-measures", "--as", PM, "--now", at(minutes(3)))["started"] == [
        "containment",
        "investigation-report",
    ]
    assert ok_json(cli, "tick", "--now", at(minutes(15)))["now"] == utc(T + minutes(15))
    assert ok_json(cli, "show", PID, "--now", at(minutes(16)))["incident"] == PID
    assert [r["incident"] for r in ok_json(cli, "list", "--now", at(minutes(16)))] == [PID, "INC-2027-0002"]
    assert {r["incident"] for r in ok_json(cli, "outbox")} == {PID, "INC-2027-0002"}
    assert ok_json(cli, "org")["institutes"][0]["divisions"][0]["code"] == DIVISION


def test_deadlines_ppc_moves_past_the_year_end_closure(hokoku_home, cli):
    """Aware on 2026-12-01 (JST): day 30 is Dec 30, a closure day, so the final report is due 2027-01-04."""
    data = ok_json(cli, "deadlines", "ppc", "--aware-at", "2026-12-01T10:00:00+09:00")
    assert (data["aware_date"], data["final_due"]) == ("2026-12-01", "2027-01-04")


# -- one-line errors where a traceback used to be --------------------------------------------
def _hokoku(*args, env_extra=None, stdin=None):
    import os
    import subprocess
    import sys as _sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKOKU_")} | (env_extra or {})
    return subprocess.run([_sys.executable, "-m", "hokoku.cli", *args], env=env, capture_output=True, stdin=stdin)


def test_non_utf8_bytes_in_an_argument_give_a_one_line_error(hokoku_home):
    """A summary with raw Latin-1 bytes (surrogate-escaped by Python): exit 2, one line, nothing written."""
    import os

    env = {"HOKOKU_HOME": str(hokoku_home)}
    assert _hokoku("init", "--demo", env_extra=env).returncode == 0
    bad = os.fsdecode(b"caf\xe9 PC lost")
    r = _hokoku(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        bad,
        "--reporter",
        REPORTER,
        env_extra=env,
    )
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode().strip().splitlines() == [r.stderr.decode().strip()]
    assert "not valid UTF-8" in r.stderr.decode()
    assert json.loads(_hokoku("list", "--json", env_extra=env).stdout) == []


def test_hokoku_home_under_a_regular_file_gives_a_one_line_error(tmp_path):
    """HOKOKU_HOME=/some/file/home: exit 2 with one line naming the problem, no traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    r = _hokoku("init", "--demo", env_extra={"HOKOKU_HOME": str(blocker / "home")})
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "Not a directory" in err


def test_output_piped_into_a_reader_that_leaves_ends_quietly(hokoku_home):
    """`hokoku org | head -1`: no BrokenPipeError traceback on stderr."""
    import os
    import subprocess
    import sys as _sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKOKU_")} | {"HOKOKU_HOME": str(hokoku_home)}
    assert _hokoku("init", "--demo", env_extra={"HOKOKU_HOME": str(hokoku_home)}).returncode == 0
    # `true` exits without reading, long before hokoku has started: every write meets a closed pipe
    pipe = subprocess.run(
        f"{_sys.executable} -m hokoku.cli org | true; {_sys.executable} -m hokoku.cli org --json | true",
        shell=True,
        env=env,
        capture_output=True,
    )
    assert b"Traceback" not in pipe.stderr and b"BrokenPipe" not in pipe.stderr, pipe.stderr


def _cli_command() -> list[str]:
    import sys as _sys

    return [_sys.executable, "-m", "hokoku.cli"]


@pytest.mark.parametrize("args", [["org"], ["org", "--json"], ["outbox"], ["list", "--json"]])
def test_output_into_a_closed_pipe_exits_141_with_nothing_on_stderr(demo_app, args):
    """stdout is a pipe nobody reads any more (the reader left before hokoku wrote): exit 141 as a
    shell reports SIGPIPE, and stderr stays empty — no traceback, no "Exception ignored"."""
    import os
    import subprocess

    from tests.helpers import report

    report(demo_app)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        r = subprocess.run([*_cli_command(), *args], stdout=write_end, stderr=subprocess.PIPE, env=dict(os.environ))
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr.decode()) == (141, "")


def test_output_piped_into_head_stops_quietly_after_the_first_line(demo_app):
    """`hokoku outbox | head -n 1` with more output than the pipe holds: head prints one line,
    hokoku meets the closed pipe mid-output (exit 141) and prints nothing on stderr."""
    import fcntl
    import os
    import subprocess

    from tests.helpers import report

    for i in range(3):
        report(demo_app, now=T + minutes(i))
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)  # a page: the outbox is ~15 kB
    try:
        writer = subprocess.Popen(
            [*_cli_command(), "outbox"], stdout=write_end, stderr=subprocess.PIPE, env=dict(os.environ)
        )
        head = subprocess.Popen(["head", "-n", "1"], stdin=read_end, stdout=subprocess.PIPE)
    finally:
        os.close(read_end)  # head and hokoku hold the only ends now
        os.close(write_end)
    first, _ = head.communicate()
    err = writer.stderr.read().decode()
    writer.wait()
    assert len(first.decode().splitlines()) == 1
    assert (writer.returncode, err) == (141, "")
