"""A clean backlog after an outage, against the loopback Slack stub and aiosmtpd.

Messages that no longer apply when Slack returns are dropped with a recorded reason; per
person the order is kept; nothing reaches a person twice across channels.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.services.sweep import sweep
from hokoku.services.transitions import acknowledge
from tests.channel_helpers import audit_actions, configure, rows
from tests.helpers import PM, REPORTER, T0, minutes, report
from tests.slack_stub import SlackStub
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow

SLACK_METHODS = ("chat.postMessage", "conversations.open", "users.lookupByEmail")


def _tick(app, m, rng):
    return dispatch(app, now=T0 + minutes(m), notifiers=build_notifiers(app.settings), rng=rng)


def _kinds_posted(stub, channel):
    return [
        (r.body.get("metadata") or {}).get("event_payload", {}).get("kind")
        for r in stub.calls("chat.postMessage")
        if r.body.get("channel") == channel
    ]


def test_a_reminder_queued_during_a_slack_outage_and_made_stale_by_an_acknowledgement_is_never_sent(
    demo_app, monkeypatch
):
    with SlackStub() as stub, SmtpSink() as sink:
        app = configure(monkeypatch, slack_url=stub.base_url, smtp_port=sink.port)
        rng = random.Random(7)
        for method in SLACK_METHODS:
            stub.server_error(method, status=503, times=None)
        incident = report(app).public_id
        _tick(app, 0, rng)
        sweep(app, now=T0 + minutes(15))  # reminder #1, on both channels
        _tick(app, 15, rng)
        acknowledge(app, incident_id=incident, actor=PM, now=T0 + minutes(20), channel="web")
        for method in SLACK_METHODS:
            stub.restore(method)
        for m in (120, 300, 600):
            _tick(app, m, rng)
        assert "reminder" not in _kinds_posted(stub, "D0PM00001")
        [slack_reminder] = rows(app, kind="reminder", channel="slack", recipient_email=PM)
        assert slack_reminder.status == "cancelled" and "acknowledged" in slack_reminder.last_error
        cancelled = [d for a, d in audit_actions(app, incident) if a == "notification.cancelled"]
        assert any(d["key"] == slack_reminder.idempotency_key and "acknowledged" in d["reason"] for d in cancelled)


def test_no_message_reaches_a_person_twice_across_channels_after_an_outage(demo_app, monkeypatch):
    """The reporter's receipt (one channel, Slack first) falls back to email during the outage;
    when Slack returns it is not posted again."""
    with SlackStub() as stub, SmtpSink() as sink:
        app = configure(monkeypatch, slack_url=stub.base_url, smtp_port=sink.port)
        rng = random.Random(11)
        for method in SLACK_METHODS:
            stub.server_error(method, status=503, times=None)
        report(app)
        report(app, summary="二件目の事案")
        for m in (0, 5, 11, 20):
            _tick(app, m, rng)
        mailed = [r.message for r in sink.received if REPORTER in r.rcpt_tos]
        assert len(mailed) == 2  # both receipts, by email fallback
        for method in SLACK_METHODS:
            stub.restore(method)
        for m in (200, 400, 800):
            _tick(app, m, rng)
        assert "receipt" not in _kinds_posted(stub, "D0ST00001")
        for row in rows(app, kind="receipt", channel="slack"):
            assert row.status == "cancelled" and "already delivered by email" in row.last_error
        # across every person: a non-acknowledgement message is delivered on one channel only
        sent = Counter(
            r.base_key for r in rows(app, status="sent") if r.kind not in ("notify", "reminder", "escalation")
        )
        assert all(n == 1 for n in sent.values()), sent


def test_messages_to_one_person_keep_their_order_after_an_outage(demo_app, monkeypatch):
    """Reminders #1..#3 queued while Slack is down: when it returns, the still-applicable ones
    are posted in the order they were queued (stale ones dropped, never reordered)."""
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url)
        rng = random.Random(13)
        for method in SLACK_METHODS:
            stub.server_error(method, status=503, times=None)
        report(app)
        for m in (0, 15, 30, 45, 60):
            sweep(app, now=T0 + minutes(m))
            _tick(app, m, rng)
        for method in SLACK_METHODS:
            stub.restore(method)
        for m in (200, 400, 800, 1600):
            _tick(app, m, rng)
        posted = [r for r in stub.calls("chat.postMessage") if r.body.get("channel") == "D0PM00001"]
        keys = [r.body["metadata"]["event_payload"]["idempotency_key"] for r in posted]
        ids = {r.idempotency_key: r.id for r in rows(app, recipient_email=PM, channel="slack")}
        assert len(keys) >= 2, keys  # the notify and the newest reminder at least
        assert [ids[k] for k in keys] == sorted(ids[k] for k in keys), keys
        reminders = [k for k in keys if ":reminder" in k or "reminder" in k]
        assert len(reminders) <= 1, keys  # older reminders were superseded by the newest
