"""`/hokoku help | list | status INC | ack INC [stage] | report`, signed, as the owner and as strangers.

Against the loopback Slack stub, over the HTTP endpoint with requests signed by hand. The
owner is the protection manager (U0PM00001); the strangers are a Slack user not in the
organisation (U0NOBODY) and a member of another division (木村, found through users.info).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.web import create_app
from tests.channel_helpers import FakeClock, audit_actions, command_body, configure, sign, stage_row
from tests.helpers import PM, T0, minutes, report
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.slow

OWNER, NOBODY, OTHER_DIVISION = "U0PM00001", "U0NOBODY", "U0KIMURA"


@pytest.fixture
def stub():
    with SlackStub() as s:
        s.add_user("kimura@example.org", OTHER_DIVISION)
        yield s


@pytest.fixture
def setup(demo_app, stub, monkeypatch):
    app = configure(monkeypatch, slack_url=stub.base_url)
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
    clock = FakeClock(T0 + minutes(5))
    client = TestClient(create_app(app, notifiers=build_notifiers(app.settings), clock=clock))

    def command(text: str, user: str):
        body = command_body(text=text, user_id=user)
        answer = client.post("/slack/commands", content=body, headers=sign(body, timestamp=int(clock.now.timestamp())))
        assert answer.status_code == 200, answer.text
        return answer.json()

    return app, incident, command


def _ephemeral_texts(stub, user):
    return [r.body["text"] for r in stub.calls("chat.postEphemeral") if r.body.get("user") == user]


def test_help_is_answered_ephemerally_in_the_organisations_language(setup):
    _, _, command = setup
    for user in (OWNER, NOBODY):
        answer = command("help", user)
        assert answer["response_type"] == "ephemeral"
        for verb in ("list", "status", "ack", "report"):
            assert f"/hokoku {verb}" in answer["text"]
        assert "あなたにだけ表示" in answer["text"]


def test_list_shows_the_owners_open_stages_by_title_and_a_stranger_nothing(setup):
    app, incident, command = setup
    mine = command("list", OWNER)
    assert mine["response_type"] == "ephemeral"
    assert incident in mine["text"] and "受領確認" in mine["text"]
    assert "acknowledge" not in mine["text"]  # titles, never codes
    other = command("list", OTHER_DIVISION)
    assert incident not in other["text"] and "ありません" in other["text"]
    nobody = command("list", NOBODY)
    assert "組織ファイル" in nobody["text"] and incident not in nobody["text"]
    assert any(a == "access.denied" and d.get("via") == "slack" for a, d in audit_actions(app))


def test_status_shows_the_incident_within_scope_audited_and_refuses_a_stranger_without_details(setup):
    app, incident, command = setup
    answer = command(f"status {incident.lower()}", OWNER)
    assert answer["response_type"] == "ephemeral"
    assert incident in answer["text"] and "通知済み・未確認" in answer["text"]
    assert "@" not in answer["text"] and "中村" not in answer["text"]  # no names, no addresses
    assert ("incident.viewed", {"via": "slack"}) in audit_actions(app, incident)
    refused = command(f"status {incident}", OTHER_DIVISION)
    assert "表示できません" in refused["text"] and "@" not in refused["text"]
    assert any(a == "access.denied" and d["via"] == "slack" for a, d in audit_actions(app, incident))
    missing = command("status INC-1999-0001", OWNER)
    assert "表示できません" in missing["text"]
    assert "事案ID" in command("status", OWNER)["text"]


def test_ack_by_the_owner_acknowledges_and_a_stranger_is_refused_in_japanese_without_addresses(setup, stub):
    app, incident, command = setup
    refused = command(f"ack {incident}", OTHER_DIVISION)
    assert refused["response_type"] == "ephemeral"
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    [told] = _ephemeral_texts(stub, OTHER_DIVISION) or [None]
    assert told is not None and "受領確認できませんでした" in told and "@" not in told
    assert any(a == "ack.refused" for a, _ in audit_actions(app, incident))

    answer = command(f"ack {incident} acknowledge", OWNER)
    assert incident in answer["text"]
    row = stage_row(app, incident, "acknowledge")
    assert (row.status, row.acknowledged_by) == ("done", PM)
    assert ("stage.acknowledged", {"stage": "acknowledge", "channel": "slack"}) in audit_actions(app, incident)
    [done] = _ephemeral_texts(stub, OWNER)
    assert "受領確認しました" in done and "acknowledge" not in done


def test_report_by_a_member_files_and_by_a_stranger_files_nothing(setup, stub):
    app, _, command = setup
    answer = command("report IDS-SURVEY malware 不審なメールの添付ファイルを開いた", "U0ST00001")
    assert answer["response_type"] == "ephemeral"
    command("report IDS-SURVEY malware 誰か", NOBODY)
    from tests.channel_helpers import rows

    reports = [d for a, d in audit_actions(app) if a == "report.refused"]
    assert reports and reports[-1]["channel"] == "slack"
    assert rows(app)  # the member's report was filed and notified


def test_unknown_subcommand_says_so_and_points_to_help(setup):
    _, _, command = setup
    assert "/hokoku help" in command("frobnicate", OWNER)["text"]
