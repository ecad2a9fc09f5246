"""Channel health against the loopback Slack stub and a real SMTP server (aiosmtpd).

A channel failing for ``HOKOKU_CHANNEL_DOWN_ALERT_MINUTES`` (10 here, the default) gives one
summary alert to the general manager and the protection officers on what still works, then
one recovery notice; both are in the audit log. Business time is passed to ``dispatch``.
"""

from __future__ import annotations

import random

import pytest

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from tests.channel_helpers import audit_actions, configure, rows
from tests.helpers import GM, PO, T0, minutes, report
from tests.slack_stub import SlackStub
from tests.smtp_sink import SmtpSink, closed_port

pytestmark = pytest.mark.slow

DOWN_SUBJECT = "通知経路の障害"
UP_SUBJECT = "通知経路の復旧"


def _tick(app, at, rng):
    return dispatch(app, now=at, notifiers=build_notifiers(app.settings), rng=rng)


def _slack_down(stub: SlackStub) -> None:
    for method in ("chat.postMessage", "conversations.open", "users.lookupByEmail"):
        stub.server_error(method, status=503, times=None)


def _slack_up(stub: SlackStub) -> None:
    for method in ("chat.postMessage", "conversations.open", "users.lookupByEmail"):
        stub.restore(method)


def mails_to(sink, email, needle):
    return [r.message for r in sink.received if email in r.rcpt_tos and needle in r.message["Subject"]]


def test_slack_down_longer_than_the_window_gives_one_summary_alert_by_email_then_one_recovery_notice(
    demo_app, monkeypatch
):
    with SlackStub() as stub, SmtpSink() as sink:
        app = configure(monkeypatch, slack_url=stub.base_url, smtp_port=sink.port)
        rng = random.Random(3)
        _slack_down(stub)
        report(app)
        _tick(app, T0, rng)
        report(app, summary="二件目の事案")
        _tick(app, T0 + minutes(5), rng)
        assert mails_to(sink, GM, DOWN_SUBJECT) == []  # inside the window: no alarm yet
        for m in (11, 15, 25, 40, 70):
            _tick(app, T0 + minutes(m), rng)
        for person in (GM, PO):
            [alert] = mails_to(sink, person, DOWN_SUBJECT)
            assert "Slack" in alert["Subject"]
        assert [a for a, _ in audit_actions(app) if a == "channel.down"] == ["channel.down"]
        assert not [r for r in rows(app, kind="channel_down") if r.channel == "slack"]  # only on what works
        assert not [r for r in rows(app, kind="delivery_alert")]  # no per-message alarms on top

        _slack_up(stub)
        for m in (130, 250, 400, 700):
            _tick(app, T0 + minutes(m), rng)
        for person in (GM, PO):
            assert len(mails_to(sink, person, DOWN_SUBJECT)) == 1
            assert len(mails_to(sink, person, UP_SUBJECT)) == 1
        assert [a for a, _ in audit_actions(app) if a.startswith("channel.")] == ["channel.down", "channel.recovered"]


def test_both_channels_down_give_one_alert_naming_both_sent_once_when_slack_returns(demo_app, monkeypatch):
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url, smtp_port=closed_port())
        rng = random.Random(5)
        _slack_down(stub)
        report(app)
        report(app, summary="二件目の事案")
        for m in (0, 3, 11, 20, 45):
            _tick(app, T0 + minutes(m), rng)
        downs = [d for a, d in audit_actions(app) if a == "channel.down"]
        assert len(downs) == 1
        assert sorted(c["channel"] for c in downs[0]["channels"]) == ["email", "slack"]
        alert_rows = rows(app, kind="channel_down", recipient_email=GM)
        assert sorted(r.channel for r in alert_rows) == ["email", "slack"]  # nothing works: queued on both
        # the acknowledgement request reached nobody: the ladder escalates as if unacknowledged
        from hokoku.services.sweep import sweep

        sweep(app, now=T0 + minutes(31))
        assert rows(app, kind="escalation", stage_code="acknowledge")

        _slack_up(stub)
        for m in (120, 300):
            _tick(app, T0 + minutes(m), rng)
        gm_posts = [
            r
            for r in stub.calls("chat.postMessage")
            if (r.body.get("metadata") or {}).get("event_payload", {}).get("kind") == "channel_down"
            and r.body.get("channel") == "D0GM00001"
        ]
        assert len(gm_posts) == 1, [r.body.get("channel") for r in stub.calls("chat.postMessage")]
        assert len([a for a, _ in audit_actions(app) if a == "channel.down"]) == 1
        assert not [a for a, _ in audit_actions(app) if a == "channel.recovered"]  # email is still down
