"""Slack interactivity over HTTP (signed requests) and Socket Mode, against the Slack stub.

Requests are signed by hand with Slack's documented ``v0:{timestamp}:{body}`` HMAC scheme
(``tests.channel_helpers.sign``), including forged and stale ones. The web app's clock is
injected; Slack calls go to the loopback stub through ``HOKOKU_SLACK_API_URL``.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.web import create_app
from hokoku.web.context import WebContext
from hokoku.web.socket_mode import dispatch_socket_request
from tests.channel_helpers import (
    SIGNING_SECRET,
    FakeClock,
    audit_actions,
    block_action,
    command_body,
    configure,
    interaction_body,
    rows,
    sign,
    stage_row,
)
from tests.helpers import PM, PM_DEPUTY, STAFF_NOT_ON_LADDER, T0, minutes, report
from tests.slack_stub import SlackStub


@pytest.fixture
def stub():
    with SlackStub() as s:
        yield s


@pytest.fixture
def app(demo_app, stub, monkeypatch):
    return configure(monkeypatch, slack_url=stub.base_url)


@pytest.fixture
def clock():
    return FakeClock(T0 + minutes(5))


@pytest.fixture
def client(app, clock):
    return TestClient(create_app(app, notifiers=build_notifiers(app.settings), clock=clock))


@pytest.fixture
def incident(app):
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
    return incident


def post_signed(client, path, body: bytes, *, timestamp: int, secret: str = SIGNING_SECRET):
    return client.post(path, content=body, headers=sign(body, timestamp=timestamp, secret=secret))


def click(client, clock, *, user, incident, stage="acknowledge", action="acknowledge", **kw):
    body = interaction_body(block_action(user=user, incident=incident, stage=stage, action=action))
    return post_signed(client, "/slack/interactions", body, timestamp=int(clock.now.timestamp()), **kw)


def refused_requests(app) -> list[dict]:
    return [d for a, d in audit_actions(app) if a == "slack.request_refused"]


# -- signatures ------------------------------------------------------------------------------
@pytest.mark.slow
def test_forged_signature_gets_401_and_acknowledges_nothing(app, stub, incident, client, clock):
    """Signed with the wrong secret → 401, audited, the stage stays unacknowledged."""
    answer = click(client, clock, user="U0PM00001", incident=incident, secret="not-the-signing-secret")
    assert answer.status_code == 401
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert refused_requests(app) == [
        {"path": "/slack/interactions", "reason": "bad_signature", "client": "testclient", "source": "slack:testclient"}
    ]
    assert not stub.calls("chat.update") and not stub.calls("chat.postEphemeral")


@pytest.mark.slow
def test_six_minute_old_timestamp_gets_401_and_acknowledges_nothing(app, incident, client, clock):
    """A correctly signed request whose timestamp is 6 minutes old is a replay: 401."""
    body = interaction_body(block_action(user="U0PM00001", incident=incident, stage="acknowledge"))
    answer = post_signed(client, "/slack/interactions", body, timestamp=int(clock.now.timestamp()) - 6 * 60)
    assert answer.status_code == 401
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert [r["reason"] for r in refused_requests(app)] == ["stale"]


@pytest.mark.slow
def test_tampered_body_missing_headers_and_commands_are_verified_too(app, incident, client, clock):
    """A body changed after signing, no signature headers, and the slash-command endpoint: all 401."""
    now = int(clock.now.timestamp())
    body = interaction_body(block_action(user="U0PM00001", incident=incident, stage="acknowledge"))
    headers = sign(body, timestamp=now)
    tampered = body.replace(b"U0PM00001", b"U0PO00001")
    assert client.post("/slack/interactions", content=tampered, headers=headers).status_code == 401
    assert (
        client.post(
            "/slack/interactions", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        ).status_code
        == 401
    )
    command = command_body(text="report IDS-SURVEY malware forged", user_id="U0ST00001")
    assert post_signed(client, "/slack/commands", command, timestamp=now, secret="wrong").status_code == 401
    # one audit row a minute per address; the other two refusals are counted, not audited
    assert [r["reason"] for r in refused_requests(app)] == ["bad_signature"]
    from hokoku.services.refusals import suppressed_now

    assert suppressed_now(app, source="slack:testclient", now=clock.now) == 2
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    assert len(rows(app, kind="notify", stage_code="acknowledge")) == 1  # no second incident


@pytest.mark.slow
def test_without_a_signing_secret_slack_endpoints_are_unavailable(demo_app, stub, monkeypatch):
    """No HOKOKU_SLACK_SIGNING_SECRET: 503, never an unverified request."""
    configure(monkeypatch, slack_url=stub.base_url)
    monkeypatch.delenv("HOKOKU_SLACK_SIGNING_SECRET")
    from hokoku.app import open_app

    client = TestClient(create_app(open_app(), notifiers={}, clock=FakeClock(T0)))
    assert client.post("/slack/interactions", content=b"payload=%7B%7D").status_code == 503
    assert client.post("/slack/commands", content=b"text=help").status_code == 503


# -- who may click ---------------------------------------------------------------------------
@pytest.mark.slow
def test_a_slack_user_mapped_by_users_info_may_acknowledge(app, stub, incident, client, clock):
    """The deputy has no slack_id in the organisation file; users.info gives their email."""
    stub.add_user(PM_DEPUTY, "U0DEP0001")
    answer = click(client, clock, user="U0DEP0001", incident=incident)
    assert answer.status_code == 200
    assert stage_row(app, incident, "acknowledge").acknowledged_by == PM_DEPUTY
    assert [c.body["user"] for c in stub.calls("users.info")] == ["U0DEP0001"]
    [update] = stub.calls("chat.update")  # the protection manager's DM loses its buttons
    assert update.body["channel"] == "D0PM00001"
    assert "小林 健" in json.dumps(update.body["blocks"], ensure_ascii=False)


@pytest.mark.slow
def test_someone_not_entitled_gets_an_ephemeral_refusal_and_it_is_audited(app, stub, incident, client, clock):
    """Staff not on the ladder: refused ephemerally (chat.postEphemeral), ack.refused audited."""
    stub.add_user(STAFF_NOT_ON_LADDER, "U0ST00002")
    answer = click(client, clock, user="U0ST00002", incident=incident)
    assert answer.status_code == 200
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    [ephemeral] = stub.calls("chat.postEphemeral")
    assert ephemeral.body["user"] == "U0ST00002" and ephemeral.body["channel"] == "D0PM00001"
    assert "できませんでした" in ephemeral.body["text"]
    refused = [d for a, d in audit_actions(app, incident) if a == "ack.refused"]
    assert refused and refused[-1]["channel"] == "slack"
    assert not stub.calls("chat.update")


@pytest.mark.slow
def test_an_unknown_slack_user_is_refused_and_audited(app, stub, incident, client, clock):
    """A Slack user neither in the organisation file nor resolvable by users.info."""
    answer = click(client, clock, user="U0STRANGER", incident=incident)
    assert answer.status_code == 200
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    [ephemeral] = stub.calls("chat.postEphemeral")
    assert "組織ファイル" in ephemeral.body["text"]
    [refused] = [(a, d) for a, d in audit_actions(app, incident) if a == "ack.refused"]
    assert refused[1]["reason"] == "Slack user not in the organisation"


@pytest.mark.slow
def test_a_second_click_is_told_the_stage_is_already_acknowledged(app, stub, incident, client, clock):
    """Two clicks: the first acknowledges, the second gets an ephemeral 'already acknowledged'."""
    assert click(client, clock, user="U0PM00001", incident=incident).status_code == 200
    clock.now = T0 + minutes(6)
    assert click(client, clock, user="U0PM00001", incident=incident).status_code == 200
    assert stage_row(app, incident, "acknowledge").acknowledged_at == T0 + minutes(5)
    [ephemeral] = stub.calls("chat.postEphemeral")
    assert "already" in ephemeral.body["text"] or "すでに" in ephemeral.body["text"]
    assert len(stub.calls("chat.update")) == 1


@pytest.mark.slow
def test_mark_done_completes_a_stage_that_allows_it(app, stub, incident, client, clock):
    """Mark done on immediate measures (completed_by: advance) completes it as the clicker."""
    assert click(client, clock, user="U0PM00001", incident=incident).status_code == 200
    [dm] = [
        c
        for c in stub.calls("chat.postMessage")
        if "27-2" in c.body.get("text", "") and c.body.get("channel") == "D0PM00001"
    ]
    assert "mark_done" in json.dumps(dm.body["blocks"])
    clock.now = T0 + minutes(20)
    answer = click(client, clock, user="U0PM00001", incident=incident, stage="immediate-measures", action="mark_done")
    assert answer.status_code == 200
    row = stage_row(app, incident, "immediate-measures")
    assert (row.status, row.completed_by, row.completed_at) == ("done", PM, T0 + minutes(20))
    assert ("stage.done", {"stage": "immediate-measures", "channel": "slack", "with_note": False}) in audit_actions(
        app, incident
    )
    assert len(stub.calls("chat.update")) == 2  # both DMs now show who and when, without buttons


@pytest.mark.slow
def test_the_open_link_button_is_acknowledged_and_ignored(app, stub, incident, client, clock):
    """Slack reports clicks on URL buttons too; they change nothing."""
    answer = click(client, clock, user="U0PM00001", incident=incident, action="open")
    assert answer.status_code == 200 and answer.content == b""
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None


# -- the /hokoku command and the report modal -------------------------------------------------
@pytest.mark.slow
def test_slash_command_with_arguments_files_a_report(app, stub, client, clock):
    """`/hokoku report IDS-SURVEY malware <summary>` answers at once (ephemeral), then files the
    report as the mapped person and tells them the incident id through the response_url."""
    response_url = f"{stub.base_url}response.hook"
    body = command_body(
        text="report IDS-SURVEY malware PC-17 shows a ransom note", user_id="U0ST00001", response_url=response_url
    )
    answer = post_signed(client, "/slack/commands", body, timestamp=int(clock.now.timestamp()))
    assert answer.status_code == 200
    assert answer.json() == {"response_type": "ephemeral", "text": "報告を受け付けています…"}
    [hook] = stub.calls("response.hook")
    assert hook.body["response_type"] == "ephemeral" and "INC-2027-0001" in hook.body["text"]
    [notify] = rows(app, kind="notify", channel="slack")
    assert notify.status == "sent"  # delivered right away, not at the next scheduled dispatch
    assert [c.body["channel"] for c in stub.calls("chat.postMessage")][:1] == ["D0PM00001"]
    reported = [d for a, d in audit_actions(app, "INC-2027-0001") if a == "incident.reported"]
    assert reported[0]["source"] == "slack"


@pytest.mark.slow
def test_slash_command_with_bad_arguments_is_answered_and_files_nothing(app, stub, client, clock):
    """An unknown division is refused in the immediate answer; a bare `help` shows usage."""
    now = int(clock.now.timestamp())
    answer = post_signed(
        client, "/slack/commands", command_body(text="report NOPE malware x", user_id="U0ST00001"), timestamp=now
    )
    assert answer.status_code == 200 and "NOPE" in answer.json()["text"]
    usage = post_signed(client, "/slack/commands", command_body(text="help", user_id="U0ST00001"), timestamp=now)
    assert "/hokoku report" in usage.json()["text"]
    assert rows(app) == []


@pytest.mark.slow
def test_slash_command_without_arguments_opens_the_report_modal_and_submission_reports(app, stub, client, clock):
    """`/hokoku` opens a modal (views.open); submitting it files the report; an empty summary
    is answered with field errors and files nothing."""
    now = int(clock.now.timestamp())
    answer = post_signed(client, "/slack/commands", command_body(text="", user_id="U0ST00001"), timestamp=now)
    assert answer.status_code == 200 and answer.content == b""
    [opened] = stub.calls("views.open")
    view = opened.body["view"]
    assert opened.body["trigger_id"] == "1337.42.abcd" and view["callback_id"] == "hokoku_report"
    divisions = [o["value"] for o in view["blocks"][0]["element"]["options"]]
    assert "IDS-SURVEY" in divisions

    def submission(summary: str) -> bytes:
        return interaction_body(
            {
                "type": "view_submission",
                "user": {"id": "U0ST00001"},
                "view": {
                    "callback_id": "hokoku_report",
                    "private_metadata": view["private_metadata"],
                    "state": {
                        "values": {
                            "division": {
                                "value": {"type": "static_select", "selected_option": {"value": "IDS-SURVEY"}}
                            },
                            "category": {
                                "value": {"type": "static_select", "selected_option": {"value": "lost-device"}}
                            },
                            "summary": {"value": {"type": "plain_text_input", "value": summary}},
                            "serious": {"value": {"type": "checkboxes", "selected_options": [{"value": "serious"}]}},
                        }
                    },
                },
            }
        )

    empty = post_signed(client, "/slack/interactions", submission("   "), timestamp=now)
    assert empty.json()["response_action"] == "errors" and "summary" in empty.json()["errors"]
    assert rows(app) == []
    done = post_signed(
        client, "/slack/interactions", submission("USB stick with survey data lost on the train"), timestamp=now
    )
    assert done.status_code == 200 and done.content == b""
    reported = [d for a, d in audit_actions(app, "INC-2027-0001") if a == "incident.reported"]
    assert reported[0]["category"] == "lost-device" and reported[0]["serious"] is True
    [ephemeral] = stub.calls("chat.postEphemeral")
    assert ephemeral.body["channel"] == "C0INCIDENT" and "INC-2027-0001" in ephemeral.body["text"]


# -- Socket Mode -----------------------------------------------------------------------------
class FakeSocketClient:
    def __init__(self):
        self.responses = []

    def send_socket_mode_response(self, response):
        self.responses.append(response)


class FakeSlackNotifier:
    """The bits of SlackNotifier the handlers use, recorded (no network)."""

    channel = "slack"

    def __init__(self):
        self.ephemeral = []
        self.updates = []

    def user_email(self, user_id):
        return None

    def post_ephemeral(self, *, channel, user, text):
        self.ephemeral.append((channel, user, text))

    def send(self, message):
        from hokoku.notifiers.base import DeliveryResult

        return DeliveryResult(provider_id="slack:D0PM00001:1.0")

    def update_acknowledged(self, provider_id, **kw):
        from hokoku.notifiers.base import DeliveryResult

        self.updates.append(provider_id)
        return DeliveryResult(provider_id=provider_id)


def test_socket_mode_dispatch_acknowledges_first_then_runs_the_same_handler(demo_app, monkeypatch):
    """An interactive envelope is acknowledged (envelope id, no payload) and then the click is
    handled exactly as over HTTP: the stage is acknowledged and the DM update delivered."""
    app = configure(monkeypatch, slack_url="http://127.0.0.1:9/api/")
    fake = FakeSlackNotifier()
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers={"slack": fake})
    ctx = WebContext(app, {"slack": fake}, FakeClock(T0 + minutes(2)))
    client = FakeSocketClient()
    req = SimpleNamespace(
        type="interactive",
        envelope_id="env-1",
        payload=block_action(user="U0PM00001", incident=incident, stage="acknowledge"),
    )
    dispatch_socket_request(ctx, client, req)
    [response] = client.responses
    assert response.envelope_id == "env-1" and response.payload is None
    assert stage_row(app, incident, "acknowledge").acknowledged_by == PM
    assert fake.updates == ["slack:D0PM00001:1.0"]


def test_socket_mode_slash_commands_and_other_envelopes(demo_app, monkeypatch):
    """A slash command's immediate answer goes back in the envelope; unknown envelope types are
    acknowledged and ignored; refusals reach the user ephemerally."""
    app = configure(monkeypatch, slack_url="http://127.0.0.1:9/api/")
    fake = FakeSlackNotifier()
    ctx = WebContext(app, {"slack": fake}, FakeClock(T0))
    client = FakeSocketClient()
    dispatch_socket_request(
        ctx,
        client,
        SimpleNamespace(
            type="slash_commands",
            envelope_id="env-2",
            payload={"command": "/hokoku", "text": "help", "user_id": "U0ST00001"},
        ),
    )
    dispatch_socket_request(ctx, client, SimpleNamespace(type="events_api", envelope_id="env-3", payload={"event": {}}))
    dispatch_socket_request(
        ctx,
        client,
        SimpleNamespace(
            type="interactive",
            envelope_id="env-4",
            payload=block_action(user="U0STRANGER", incident="INC-2027-0001", stage="acknowledge"),
        ),
    )
    assert [r.envelope_id for r in client.responses] == ["env-2", "env-3", "env-4"]
    assert "/hokoku report" in client.responses[0].payload["text"]
    assert client.responses[1].payload is None and client.responses[2].payload is None
    assert fake.ephemeral and fake.ephemeral[0][1] == "U0STRANGER"


def test_a_replayed_signed_slash_command_files_one_incident(app, stub, client, clock):
    """The same signed `/hokoku report …` sent three times within its 5-minute window: the first
    files the report, the replays get 401 (remembered in the database) and file nothing."""
    body = command_body(
        text="report IDS-SURVEY malware PC-17 shows a ransom note",
        user_id="U0ST00001",
        response_url=f"{stub.base_url}response.hook",
    )
    headers = sign(body, timestamp=int(clock.now.timestamp()))
    assert client.post("/slack/commands", content=body, headers=headers).status_code == 200
    clock.now += minutes(1)
    for _ in range(2):
        replay = client.post("/slack/commands", content=body, headers=headers)
        assert replay.status_code == 401 and "replayed" in replay.text
    reported = [a for a, _ in audit_actions(app) if a == "incident.reported"]
    assert len(reported) == 1
    assert "replayed" in [r["reason"] for r in refused_requests(app)]
