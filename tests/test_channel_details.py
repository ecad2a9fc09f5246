"""Smaller channel behaviours from issue 16, against the loopback Slack stub (and aiosmtpd).

Overdue notices threaded under the stage's first DM with the Acknowledge button; refusals in
the organisation's language naming nobody; the report modal's division error in Japanese; no
message-kind codes in Japanese delivery alerts.
"""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.services.sweep import sweep
from hokoku.web import create_app
from hokoku.web.context import WebContext
from hokoku.web.slack import validate_report
from tests.channel_helpers import FakeClock, block_action, configure, interaction_body, rows, sign
from tests.helpers import T0, minutes, report
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.slow


def _kind(post) -> str | None:
    return (post.body.get("metadata") or {}).get("event_payload", {}).get("kind")


def test_an_overdue_notice_is_threaded_under_the_stages_first_dm_with_the_acknowledge_button(demo_app, monkeypatch):
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url)
        incident = report(app).public_id
        dispatch(app, now=T0, notifiers=build_notifiers(app.settings), rng=random.Random(1))
        m = 0
        while not rows(app, kind="overdue") and m < 60 * 24 * 3:
            m += 15
            sweep(app, now=T0 + minutes(m))
        assert rows(app, kind="overdue"), "no overdue notice within three days"
        dispatch(app, now=T0 + minutes(m), notifiers=build_notifiers(app.settings), rng=random.Random(1))
        overdue_posts = [p for p in stub.calls("chat.postMessage") if _kind(p) == "overdue"]
        assert overdue_posts
        for post in overdue_posts:
            channel = post.body["channel"]
            first = next(p for p in stub.calls("chat.postMessage") if p.body["channel"] == channel)
            assert post.body.get("thread_ts"), post.body  # a reply under the first DM of the stage
            assert first is not post
            elements = [b for b in post.body["blocks"] if b["type"] == "actions"][0]["elements"]
            assert any(e["action_id"] == "acknowledge" and e["value"].startswith(incident) for e in elements)


def test_a_refused_button_click_is_answered_in_japanese_without_anyones_address(demo_app, monkeypatch):
    with SlackStub() as stub:
        stub.add_user("kimura@example.org", "U0KIMURA")  # a member of another division
        app = configure(monkeypatch, slack_url=stub.base_url)
        incident = report(app).public_id
        dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
        clock = FakeClock(T0 + minutes(5))
        client = TestClient(create_app(app, notifiers=build_notifiers(app.settings), clock=clock))
        body = interaction_body(
            block_action(user="U0KIMURA", incident=incident, stage="acknowledge", channel="D0KIMURA")
        )
        answer = client.post(
            "/slack/interactions", content=body, headers=sign(body, timestamp=int(clock.now.timestamp()))
        )
        assert answer.status_code == 200
        told = [r.body["text"] for r in stub.calls("chat.postEphemeral") if r.body.get("user") == "U0KIMURA"]
        assert told and "できませんでした" in told[-1]
        assert "@" not in told[-1] and "nakamura" not in told[-1]


def test_the_report_modal_explains_an_unknown_division_in_japanese(demo_app, monkeypatch):
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url)
        ctx = WebContext(app, build_notifiers(app.settings), lambda: T0)
        errors = validate_report(ctx, division="NOPE", category="nope", summary="x")
        assert "部署コード「NOPE」" in errors["division"] and "unknown" not in errors["division"]
        assert "区分「nope」" in errors["category"]


def test_japanese_delivery_alerts_name_the_message_kind_in_words_not_codes(demo_app):
    subject, body = demo_app.renderer.message(
        "delivery_alert",
        "ja",
        recipient={"name": "鈴木 一郎", "email": "x@example.org"},
        incident={"public_id": "INC-2027-0001", "serious": False, "division_name": "調査部"},
        failed_kind="receipt",
        failed_recipient_name="吉田 翔",
        failed_recipient_email="yoshida@example.org",
        failures=[{"channel": "slack", "error": "x"}],
        ack_url=None,
    )
    assert "通知の種類: 受付の確認" in body and "receipt" not in body


def test_the_owner_is_told_when_the_stage_escalates_past_them(demo_app, monkeypatch):
    from tests.helpers import PM

    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url)
        incident = report(app).public_id
        dispatch(app, now=T0, notifiers=build_notifiers(app.settings), rng=random.Random(1))
        for m in (15, 30, 31):
            sweep(app, now=T0 + minutes(m))
            dispatch(app, now=T0 + minutes(m), notifiers=build_notifiers(app.settings), rng=random.Random(1))
        [told] = [p for p in stub.calls("chat.postMessage") if _kind(p) == "escalated_owner"]
        assert told.body["channel"] == "D0PM00001"
        assert "エスカレーションされました" in told.body["text"] and incident in told.body["text"]
        assert [r.recipient_email for r in rows(app, kind="escalated_owner")] == [PM]
