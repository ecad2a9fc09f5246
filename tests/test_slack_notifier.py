"""Tests for notifiers.slack against a loopback Slack Web API stub."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from hokoku.notifiers.base import Action, DeliveryError, Notifier, OutgoingMessage
from hokoku.notifiers.slack import SlackNotifier, build_blocks, escape_mrkdwn
from tests.slack_stub import SlackStub
from tests.smtp_sink import closed_port

JST = timezone(timedelta(hours=9), "JST")
HOSTILE = "<script>alert(1)</script><!channel> <@U123>"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """slack-sdk would route even loopback requests through a proxy named in the environment."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def slack_stub():
    with SlackStub() as stub:
        yield stub


@pytest.fixture
def notifier(slack_stub):
    return SlackNotifier("xoxb-test-token", base_url=slack_stub.base_url, timeout=2)


def make_message(**overrides) -> OutgoingMessage:
    fields = dict(
        idempotency_key="inc-1:detect:notify:yamada",
        channel="slack",
        kind="notify",
        lang="ja",
        recipient_email="yamada@example.ac.jp",
        recipient_name="山田 太郎",
        subject="【要対応】個人情報漏えい事案 INC-1",
        text="USBメモリの紛失が報告されました。確認してください。",
        recipient_slack_id="U0YAMADA",
        incident_id="INC-1",
        stage_code="detect",
        actions=(
            Action("acknowledge", "確認しました", value="ack:INC-1:detect"),
            Action("open", "事案を開く", url="https://hokoku.example.ac.jp/incidents/INC-1"),
        ),
    )
    fields.update(overrides)
    return OutgoingMessage(**fields)


def actions_block(blocks: list[dict]) -> dict | None:
    return next((b for b in blocks if b["type"] == "actions"), None)


def test_notifier_satisfies_the_protocol(notifier):
    """SlackNotifier is a Notifier on the 'slack' channel and its repr hides the token."""
    assert isinstance(notifier, Notifier)
    assert notifier.channel == "slack"
    assert "xoxb-test-token" not in repr(notifier)
    assert notifier.client.retry_handlers == []


def test_dm_is_delivered_with_primary_acknowledge_button(notifier, slack_stub):
    """send() opens the DM and posts subject, text and an Acknowledge (primary) button there."""
    result = notifier.send(make_message())

    assert [r.method for r in slack_stub.requests] == ["conversations.open", "chat.postMessage"]
    assert slack_stub.calls("conversations.open")[0].body["users"] == "U0YAMADA"
    post = slack_stub.calls("chat.postMessage")[0]
    assert post.headers["Authorization"] == "Bearer xoxb-test-token"
    assert post.body["channel"] == "D0YAMADA"
    blocks = post.body["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"] == {"type": "plain_text", "text": make_message().subject, "emoji": True}
    assert "USBメモリの紛失" in blocks[1]["text"]["text"]
    ack, link = actions_block(blocks)["elements"]
    assert ack["action_id"] == "acknowledge" and ack["style"] == "primary" and ack["value"] == "ack:INC-1:detect"
    assert link["url"] == "https://hokoku.example.ac.jp/incidents/INC-1" and "style" not in link
    assert post.body["metadata"]["event_payload"]["idempotency_key"] == "inc-1:detect:notify:yamada"
    assert result.provider_id == "slack:D0YAMADA:1700000000.000001"


def test_lookup_by_email_is_used_and_cached_when_no_slack_id(notifier, slack_stub):
    """Without a Slack id the user is found by email once, then served from the cache."""
    slack_stub.add_user("yamada@example.ac.jp", "U0LOOKED")
    message = make_message(recipient_slack_id=None, recipient_email="Yamada@Example.ac.jp")

    notifier.send(message)
    notifier.send(message)

    lookups = slack_stub.calls("users.lookupByEmail")
    assert len(lookups) == 1
    assert lookups[0].body["email"] == "Yamada@Example.ac.jp"
    assert [c.body["users"] for c in slack_stub.calls("conversations.open")] == ["U0LOOKED"]  # the DM is cached too


def test_unknown_email_is_a_permanent_error(notifier, slack_stub):
    """users.lookupByEmail answering users_not_found fails the delivery permanently."""
    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message(recipient_slack_id=None, recipient_email="nobody@example.ac.jp"))
    assert caught.value.permanent is True
    assert slack_stub.calls("chat.postMessage") == []


def test_reminder_is_posted_in_the_thread_of_the_first_message(notifier, slack_stub):
    """A message with thread_ref in the recipient's DM is posted with that thread_ts."""
    first = notifier.send(make_message())
    for ref in (first.provider_id, first.provider_id.removeprefix("slack:")):
        notifier.send(make_message(kind="reminder", thread_ref=ref, idempotency_key=f"rem-{ref}"))

    first_ts = first.provider_id.rsplit(":", 1)[1]
    posts = slack_stub.calls("chat.postMessage")
    assert "thread_ts" not in posts[0].body
    assert [p.body["thread_ts"] for p in posts[1:]] == [first_ts, first_ts]
    assert all(p.body["channel"] == "D0YAMADA" for p in posts)


def test_thread_ref_in_someone_elses_dm_is_not_followed(notifier, slack_stub):
    """A thread_ref pointing outside the recipient's DM is ignored: the post goes top-level in the DM."""
    notifier.send(make_message(kind="escalation", thread_ref="slack:D0OTHER:1700000000.000009"))

    post = slack_stub.calls("chat.postMessage")[0]
    assert post.body["channel"] == "D0YAMADA"
    assert "thread_ts" not in post.body


def test_personal_dms_are_never_copied_to_the_incident_channel(slack_stub):
    """With an incident channel configured, a DM is posted once, in the DM only (issue 16: the
    channel carries the incident thread, not copies of personal messages)."""
    notifier = SlackNotifier("xoxb-t", base_url=slack_stub.base_url, incident_channel="C0INCIDENT", timeout=2)
    notifier.send(make_message())
    assert [p.body["channel"] for p in slack_stub.calls("chat.postMessage")] == ["D0YAMADA"]


def test_acknowledged_update_removes_buttons(notifier, slack_stub):
    """update_acknowledged() chat.updates the DM: text kept, ✅ context line, no actions block."""
    first = notifier.send(make_message())
    _, channel, ts = first.provider_id.split(":")

    result = notifier.update_acknowledged(
        first.provider_id,
        text=HOSTILE,
        lang="en",
        who="Taro <Yamada>",
        at=datetime(2026, 4, 1, 10, 32, tzinfo=JST),
    )

    update = slack_stub.calls("chat.update")[0]
    assert (update.body["channel"], update.body["ts"]) == (channel, ts)
    blocks = update.body["blocks"]
    assert actions_block(blocks) is None
    assert blocks[-1]["type"] == "context"
    assert blocks[-1]["elements"][0]["text"] == "✅ Taro &lt;Yamada&gt; acknowledged at 2026-04-01 10:32 JST"
    assert "<" not in json.dumps(blocks)
    assert result.provider_id == first.provider_id


def test_hostile_text_is_inert_in_posted_blocks(notifier, slack_stub):
    """Mentions and tags in user text reach Slack escaped, so they render literally."""
    notifier.send(make_message(text=HOSTILE, subject=HOSTILE))

    post = slack_stub.calls("chat.postMessage")[0]
    section = next(b for b in post.body["blocks"] if b["type"] == "section")
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "&lt;script&gt;alert(1)&lt;/script&gt;&lt;!channel&gt; &lt;@U123&gt;",
    }
    assert "<!channel>" not in post.body["text"] and "<@U123>" not in post.body["text"]
    header = post.body["blocks"][0]
    assert header["text"]["type"] == "plain_text"  # plain_text is never parsed for mentions


def test_escape_mrkdwn_escapes_ampersand_first():
    """An existing entity is escaped again, so '&lt;' in user text shows as '&lt;' literally."""
    assert escape_mrkdwn("a & b &lt; <c>") == "a &amp; b &amp;lt; &lt;c&gt;"


def test_long_text_is_truncated_without_cutting_an_entity():
    """Section text stays within Slack's 3000 characters and never ends in half an entity."""
    blocks = build_blocks(make_message(text="x" * 2997 + "<<<<", actions=()))
    text = blocks[1]["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("x…")
    assert actions_block(blocks) is None


def test_rate_limit_is_transient_with_retry_after(notifier, slack_stub):
    """HTTP 429 becomes a transient DeliveryError carrying the Retry-After seconds, without retrying."""
    slack_stub.rate_limit("chat.postMessage", retry_after=2)

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.retry_after == 2
    assert len(slack_stub.calls("chat.postMessage")) == 1  # slack-sdk's retry handlers are off


@pytest.mark.parametrize("code", ["user_not_found", "invalid_auth", "channel_not_found", "is_archived"])
def test_permanent_api_errors_are_permanent(notifier, slack_stub, code):
    """Recipient, token and channel errors are not worth retrying."""
    slack_stub.api_error("conversations.open", code)

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())

    assert caught.value.permanent is True
    assert code in str(caught.value)


def test_unknown_api_error_is_transient(notifier, slack_stub):
    """An ok:false code not known to be permanent (e.g. internal_error) is retried."""
    slack_stub.api_error("chat.postMessage", "internal_error")

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())
    assert caught.value.permanent is False


def test_server_error_is_transient(notifier, slack_stub):
    """HTTP 500 becomes a transient DeliveryError, tried once."""
    slack_stub.server_error("chat.postMessage", status=500)

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.retry_after is None
    assert len(slack_stub.calls("chat.postMessage")) == 1


def test_dropped_connection_is_transient_and_not_retried_by_the_sdk(notifier, slack_stub):
    """A connection closed without an answer is transient and tried once (the dispatcher retries)."""
    slack_stub.drop("chat.postMessage")

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())

    assert caught.value.permanent is False
    assert len(slack_stub.calls("chat.postMessage")) == 1


def test_unreachable_port_is_transient():
    """A refused connection becomes a transient DeliveryError."""
    notifier = SlackNotifier("xoxb-t", base_url=f"http://127.0.0.1:{closed_port()}/api/", timeout=0.5)

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())
    assert caught.value.permanent is False


def test_slow_response_times_out_as_transient(slack_stub):
    """A response slower than the timeout becomes a transient DeliveryError."""
    notifier = SlackNotifier("xoxb-t", base_url=slack_stub.base_url, timeout=0.1)
    slack_stub.slow("chat.postMessage", seconds=0.4)

    with pytest.raises(DeliveryError) as caught:
        notifier.send(make_message())
    assert caught.value.permanent is False


def test_the_dm_channel_is_opened_once_per_person_not_before_every_post(notifier, slack_stub):
    """Three posts to one person: one conversations.open, three chat.postMessage in the same DM;
    a DM Slack no longer knows (channel_not_found) is forgotten and the retry opens it again."""
    for n in range(3):
        notifier.send(make_message(idempotency_key=f"k{n}"))
    assert len(slack_stub.calls("conversations.open")) == 1
    assert [r.body["channel"] for r in slack_stub.calls("chat.postMessage")] == ["D0YAMADA"] * 3
    slack_stub.api_error("chat.postMessage", "channel_not_found")
    with pytest.raises(DeliveryError) as failed:
        notifier.send(make_message(idempotency_key="k3"))
    assert not failed.value.permanent  # retried, with the DM opened afresh
    notifier.send(make_message(idempotency_key="k3"))
    assert len(slack_stub.calls("conversations.open")) == 2
