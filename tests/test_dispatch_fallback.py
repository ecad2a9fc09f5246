"""The dispatcher with Slack and email configured, on in-memory notifiers (no network).

Channels per message, buttons and threads decided at delivery time, the acknowledgement link
made at delivery time, Slack updates after an acknowledgement as outbox rows, cancelled
follow-ups, fallback between channels, alerts when every channel fails, Retry-After.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from hokoku.models.notification import Notification
from hokoku.notifiers.base import DeliveryError, DeliveryResult
from hokoku.security.acktokens import verify_token
from hokoku.services.dispatch import (
    backoff,
    dispatch,
    enqueue_fallback,
    with_ack_link,
    without_ack_link,
)
from hokoku.services.notifications import ACK_TOKEN_PLACEHOLDER, base_key
from hokoku.services.sweep import sweep
from hokoku.services.transitions import acknowledge
from hokoku.store.db import transaction
from tests.channel_helpers import audit_actions, configure, rows
from tests.helpers import GM, PM, PO, REPORTER, T0, minutes, report, short_lease, wait_for_leases


class FakeSlack:
    """Records what would be posted; ``fail`` maps a recipient to a DeliveryError to raise."""

    channel = "slack"

    def __init__(self):
        self.sent = []
        self.updates = []
        self.fail: dict[str, DeliveryError] = {}

    def send(self, message):
        if message.recipient_email in self.fail:
            raise self.fail[message.recipient_email]
        self.sent.append(message)
        return DeliveryResult(provider_id=f"slack:D{message.recipient_email[:4]}:{len(self.sent)}.0")

    def update_acknowledged(self, provider_id, *, text, lang, who, at, subject=None):
        self.updates.append({"provider_id": provider_id, "who": who, "at": at, "text": text, "subject": subject})
        return DeliveryResult(provider_id=provider_id)


class FakeEmail:
    channel = "email"

    def __init__(self):
        self.sent = []
        self.fail: dict[str, DeliveryError] = {}

    def send(self, message):
        if message.recipient_email in self.fail:
            raise self.fail[message.recipient_email]
        self.sent.append(message)
        return DeliveryResult(provider_id=f"email:<{len(self.sent)}@test>")


@pytest.fixture
def app(demo_app, monkeypatch):
    """Slack and email configured (the real notifiers are never built: tests pass fakes)."""
    return configure(monkeypatch, slack_url="http://127.0.0.1:9/api/", smtp_port=9)


@pytest.fixture
def fakes():
    return {"slack": FakeSlack(), "email": FakeEmail()}


def sent_to(fake, email, kind=None):
    return [m for m in fake.sent if m.recipient_email == email and (kind is None or m.kind == kind)]


def test_acknowledgement_requests_go_to_both_channels_and_other_messages_to_one(app):
    """notify/reminder/escalation: a row per channel (<base>:slack, <base>:email); receipt: Slack only."""
    incident = report(app).public_id
    notify = {r.channel: r for r in rows(app, kind="notify")}
    base = f"{incident}:acknowledge:notify:{PM}"
    assert {c: r.idempotency_key for c, r in notify.items()} == {"slack": f"{base}:slack", "email": f"{base}:email"}
    assert {r.base_key for r in notify.values()} == {base}
    assert [r.channel for r in rows(app, kind="receipt")] == ["slack"]
    assert base_key(f"{base}:email") == base and base_key(base) == base


def test_outbox_only_configuration_is_unchanged(demo_app):
    """With neither Slack nor SMTP, one outbox row per message and no link placeholder."""
    report(demo_app)
    assert [(r.kind, r.channel) for r in rows(demo_app)] == [
        ("notify", "outbox"),
        ("statutory_started", "outbox"),
        ("receipt", "outbox"),
    ]
    row = rows(demo_app, kind="notify")[0]
    body = demo_app.keyring.decrypt(row.body_enc, field="notification.body", bind=row.idempotency_key)
    assert ACK_TOKEN_PLACEHOLDER not in body and "/ack/" not in body


def test_slack_buttons_follow_the_stage_policy(app, fakes):
    """Acknowledge (value incident|stage) and Open on every request; Mark done only where
    the stage is completed by `advance`."""
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=fakes)
    [notify] = sent_to(fakes["slack"], PM, "notify")
    assert [(a.action_id, a.value, a.url) for a in notify.actions] == [
        ("acknowledge", f"{incident}|acknowledge", None),
        ("open", None, f"http://testserver/incidents/{incident}"),
    ]
    acknowledge(app, incident_id=incident, actor=PM, now=T0 + minutes(1))
    dispatch(app, now=T0 + minutes(1), notifiers=fakes)
    [measures] = [m for m in sent_to(fakes["slack"], PM, "notify") if m.stage_code == "immediate-measures"]
    assert [a.action_id for a in measures.actions] == ["acknowledge", "mark_done", "open"]
    [receipt] = sent_to(fakes["slack"], REPORTER, "receipt")
    assert [a.action_id for a in receipt.actions] == ["open"]
    assert all(not m.actions for m in fakes["email"].sent)


def test_email_gets_a_fresh_signed_link_and_slack_none(app, fakes):
    """The link token is made at delivery, bound to person, incident and stage; the stored
    body keeps only a placeholder; the Slack copy has no link line."""
    incident = report(app).public_id
    row = rows(app, kind="notify", channel="email")[0]
    stored = app.keyring.decrypt(row.body_enc, field="notification.body", bind=row.idempotency_key)
    assert f"http://testserver/ack/{ACK_TOKEN_PLACEHOLDER}" in stored
    dispatch(app, now=T0, notifiers=fakes)
    [mail] = sent_to(fakes["email"], PM, "notify")
    token = mail.text.split("http://testserver/ack/")[1].split()[0]
    claims = verify_token(token, key=app.keyring.current.token_key, now=T0)
    assert (claims.person_email, claims.incident_id, claims.stage_code) == (PM, incident, "acknowledge")
    assert claims.expires_at == T0 + timedelta(hours=24)
    [dm] = sent_to(fakes["slack"], PM, "notify")
    assert "/ack/" not in dm.text and ACK_TOKEN_PLACEHOLDER not in dm.text
    assert "hokoku ack" in dm.text  # the CLI line stays


def test_link_placeholder_in_user_text_is_not_the_link():
    """Only the template's (last) placeholder becomes the link; one in the summary stays text."""
    body = f"summary: see {ACK_TOKEN_PLACEHOLDER}\nAcknowledge: http://x/ack/{ACK_TOKEN_PLACEHOLDER}\nCLI line\n"
    linked = with_ack_link(body, token="TOK", url_base="http://x", lang="en")
    assert linked == f"summary: see {ACK_TOKEN_PLACEHOLDER}\nAcknowledge: http://x/ack/TOK\nCLI line\n"
    assert without_ack_link(body) == f"summary: see {ACK_TOKEN_PLACEHOLDER}\nCLI line\n"
    assert with_ack_link("no slot\n", token="T", url_base="http://x/", lang="ja").endswith(
        "受領確認（ブラウザ）: http://x/ack/T\n"
    )


def test_reminders_are_threaded_under_the_first_slack_message(app, fakes):
    """A reminder to the same person about the same stage goes in the thread of the notify DM."""
    report(app)
    dispatch(app, now=T0, notifiers=fakes)
    [notify] = rows(app, kind="notify", channel="slack", recipient_email=PM)
    sweep(app, now=T0 + minutes(15))
    dispatch(app, now=T0 + minutes(15), notifiers=fakes)
    [reminder] = sent_to(fakes["slack"], PM, "reminder")
    assert reminder.thread_ref == notify.provider_id
    [first] = sent_to(fakes["slack"], PM, "notify")
    assert first.thread_ref is None
    sweep(app, now=T0 + minutes(30))
    dispatch(app, now=T0 + minutes(30), notifiers=fakes)
    [escalation] = sent_to(fakes["slack"], PO, "escalation")
    assert escalation.thread_ref is None  # the first message to this person starts their thread


def test_acknowledging_queues_slack_updates_as_outbox_rows(app, fakes):
    """Any acknowledgement (here the CLI's) queues one ack_update per delivered Slack DM with
    buttons of that stage, in the same transaction; dispatch delivers them as chat.update."""
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=fakes)
    sweep(app, now=T0 + minutes(30))
    dispatch(app, now=T0 + minutes(30), notifiers=fakes)
    acknowledge(app, incident_id=incident, actor=PO, now=T0 + minutes(31))
    updates = rows(app, kind="ack_update")
    originals = {
        r.provider_id
        for r in rows(app, channel="slack", stage_code="acknowledge")
        if r.kind not in ("ack_update", "escalated_owner") and r.provider_id
    }  # the owner's notice has no buttons
    assert {u.meta["target"] for u in updates} == originals
    assert {u.meta["by"] for u in updates} == {PO}
    assert all(u.idempotency_key.endswith(":ack_update") and u.status == "pending" for u in updates)
    dispatch(app, now=T0 + minutes(31), notifiers=fakes)
    assert {u["provider_id"] for u in fakes["slack"].updates} == originals
    assert {u["who"] for u in fakes["slack"].updates} == {"加藤 由美"}
    assert all(u.status == "sent" for u in rows(app, kind="ack_update"))
    assert not [u for u in fakes["slack"].updates if "/ack/" in u["text"]]


def test_a_follow_up_queued_before_the_acknowledgement_is_cancelled_not_sent(app, fakes):
    """A reminder still pending when the stage is acknowledged is cancelled at delivery."""
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=fakes)
    sweep(app, now=T0 + minutes(15))  # reminder queued, not yet dispatched
    acknowledge(app, incident_id=incident, actor=PM, now=T0 + minutes(16))
    events = dispatch(app, now=T0 + minutes(16), notifiers=fakes)
    assert {(e.channel, e.outcome) for e in events if "reminder" in e.key} == {
        ("slack", "cancelled"),
        ("email", "cancelled"),
    }
    assert not sent_to(fakes["slack"], PM, "reminder") and not sent_to(fakes["email"], PM, "reminder")
    assert "notification.cancelled" in [a for a, _ in audit_actions(app, incident)]


def test_permanent_slack_failure_falls_back_to_email_in_the_same_dispatch(app, fakes):
    """users_not_found → the receipt is failed on Slack and delivered by email at once."""
    incident = report(app).public_id
    fakes["slack"].fail[REPORTER] = DeliveryError("slack users.lookupByEmail: users_not_found", permanent=True)
    events = dispatch(app, now=T0, notifiers=fakes)
    outcomes = {(e.key, e.outcome) for e in events}
    assert (f"{incident}:receipt:{REPORTER}:slack", "failed") in outcomes
    assert (f"{incident}:receipt:{REPORTER}:email", "sent") in outcomes
    [copy] = rows(app, kind="receipt", channel="email")
    [original] = rows(app, kind="receipt", channel="slack")
    assert copy.fallback_of == original.id and original.fell_back_at == T0
    subject = lambda r: app.keyring.decrypt(r.subject_enc, field="notification.subject", bind=r.idempotency_key)  # noqa: E731
    assert subject(copy) == subject(original)  # the same message, not a re-render
    assert not rows(app, kind="delivery_alert")


def test_time_based_fallback_uses_the_setting_and_zero_turns_it_off(app, fakes, monkeypatch):
    """HOKOKU_FALLBACK_AFTER_MINUTES=5: an undelivered Slack receipt goes by email after 5 min;
    with 0, only failures fall back."""
    fakes["slack"].fail[REPORTER] = DeliveryError("slack chat.postMessage: connection failed")
    app5 = configure(monkeypatch, fallback_after_minutes="5")
    report(app5)
    dispatch(app5, now=T0, notifiers=fakes, rng=random.Random(0))
    dispatch(app5, now=T0 + minutes(4), notifiers=fakes)  # a retry on Slack, still no fallback
    assert not rows(app5, kind="receipt", channel="email")
    dispatch(app5, now=T0 + minutes(5), notifiers=fakes)
    assert sent_to(fakes["email"], REPORTER, "receipt")

    app0 = configure(monkeypatch, fallback_after_minutes="0")
    report(app0, reporter="yamamoto@example.org")
    fakes["slack"].fail["yamamoto@example.org"] = DeliveryError("slack chat.postMessage: connection failed")
    dispatch(app0, now=T0 + minutes(6), notifiers=fakes)
    dispatch(app0, now=T0 + minutes(60), notifiers=fakes)
    assert not sent_to(fakes["email"], "yamamoto@example.org", "receipt")


def test_email_to_slack_fallback_strips_the_link_line(app, fakes):
    """A message that fell back from email to Slack carries no link line (Slack has a button)."""
    report(app)
    [email_row] = rows(app, kind="notify", channel="email")
    with transaction(app.engine) as session:  # pretend the Slack copy never existed
        slack_row = session.get(Notification, rows(app, kind="notify", channel="slack")[0].id)
        session.delete(slack_row)
    with transaction(app.engine) as session:
        row = session.get(Notification, email_row.id)
        [copy] = enqueue_fallback(app, session, row, now=T0, reason="test")
        assert copy.idempotency_key.endswith(":slack")
    dispatch(app, now=T0, notifiers=fakes)
    [dm] = sent_to(fakes["slack"], PM, "notify")
    assert "/ack/" not in dm.text and ACK_TOKEN_PLACEHOLDER not in dm.text
    assert [a.action_id for a in dm.actions][0] == "acknowledge"


def test_every_channel_failing_alerts_the_general_manager_once(app, fakes):
    """Slack and email both fail for the protection manager → one delivery_alert per channel to
    the general manager, audited; the alert's own failure raises no further alert."""
    incident = report(app).public_id
    fakes["slack"].fail[PM] = DeliveryError("slack conversations.open: user_not_found", permanent=True)
    fakes["email"].fail[PM] = DeliveryError("smtp recipient refused: 550 no such user", permanent=True)
    dispatch(app, now=T0, notifiers=fakes)
    alerts = rows(app, kind="delivery_alert")
    assert sorted((a.channel, a.recipient_email, a.status) for a in alerts) == [
        ("email", GM, "sent"),
        ("slack", GM, "sent"),
    ]
    [mail] = sent_to(fakes["email"], GM, "delivery_alert")
    assert "中村 美咲" in mail.text and "550" in mail.text and "user_not_found" in mail.text
    assert [a for a, _ in audit_actions(app, incident)].count("notification.undeliverable") == 1

    fakes["slack"].fail[GM] = DeliveryError("down", permanent=True)
    fakes["email"].fail[GM] = DeliveryError("down", permanent=True)
    sweep(app, now=T0 + minutes(15))
    dispatch(app, now=T0 + minutes(15), notifiers=fakes)  # the reminder fails on both channels too
    assert len(rows(app, kind="delivery_alert")) == 4  # one more alert pair, for the reminder...
    assert not [r for r in rows(app) if r.idempotency_key.count(":delivery_alert:") > 1]  # ...no alert about alerts


def test_outbox_channel_failures_raise_no_alert(demo_app):
    """The outbox notifier is a local record: its (test-induced) failures neither fall back nor alert."""

    class Failing:
        channel = "outbox"

        def send(self, message):
            raise DeliveryError("disk full", permanent=True)

    report(demo_app)
    dispatch(demo_app, now=T0, notifiers={"outbox": Failing()})
    assert {r.kind for r in rows(demo_app)} == {"notify", "statutory_started", "receipt"}


def test_retry_after_sets_the_next_attempt_and_other_errors_back_off_exponentially():
    """Retry-After: n → between n and n+1 s; otherwise full jitter within an exponential ceiling."""
    rng = random.Random(5)
    for attempt in range(1, 6):
        delay = backoff(attempt, rng=rng, retry_after=2).total_seconds()
        assert 2 <= delay <= 3
    assert 15 <= backoff(1, rng=rng).total_seconds() <= 30
    assert 120 <= backoff(4, rng=rng).total_seconds() <= 240
    assert backoff(30, rng=rng) <= timedelta(hours=1)


def test_rate_limits_do_not_exhaust_the_ordinary_attempt_budget(app, fakes):
    """Nine 429s in a row keep the message pending (a rate limit is not a failure)."""
    report(app)
    fakes["slack"].fail[PM] = DeliveryError("slack chat.postMessage: rate limited", retry_after=1)
    now = T0
    [notify] = rows(app, kind="notify", channel="slack")
    for _ in range(9):
        dispatch(app, now=now, notifiers=fakes, ids=[notify.id])
        now = rows(app, id=notify.id)[0].next_attempt_at
    row = rows(app, id=notify.id)[0]
    assert (row.status, row.attempts) == ("pending", 9)


def test_a_crash_inside_the_notifier_never_marks_the_message_sent(app, fakes):
    """An unexpected exception while sending leaves the row `sending`; after the lease it is
    delivered once, so a crash between sent and recorded costs at most one duplicate."""
    report(app)

    class Crashing(FakeSlack):
        def send(self, message):
            super().send(message)  # the provider accepted it...
            raise RuntimeError("process killed before recording")  # ...and we died

    crashing = Crashing()
    short_lease(app, 0.5)
    [notify] = rows(app, kind="notify", channel="slack")
    with pytest.raises(RuntimeError):
        dispatch(app, now=T0, notifiers={**fakes, "slack": crashing}, ids=[notify.id])
    row = rows(app, id=notify.id)[0]
    assert (row.status, row.sent_at, row.provider_id, row.attempts) == ("sending", None, None, 1)
    assert dispatch(app, now=T0 + timedelta(days=1), notifiers=fakes, ids=[notify.id]) == []  # lease: DB clock
    wait_for_leases(app)
    [event] = dispatch(app, now=T0, notifiers=fakes, ids=[notify.id])
    assert event.outcome == "sent"
    assert len(crashing.sent) + len(sent_to(fakes["slack"], PM)) == 2  # at most one duplicate
    assert dispatch(app, now=T0 + timedelta(days=1), notifiers=fakes, ids=[notify.id]) == []


def test_a_dm_delivered_while_its_stage_is_being_acknowledged_is_updated_too(app, fakes):
    """Acknowledged between building the DM (with buttons) and recording it as sent: the
    dispatcher notices and queues the chat.update itself, delivered in the same dispatch."""
    incident = report(app).public_id

    class AckWhileSending(FakeSlack):
        def send(self, message):
            result = super().send(message)
            if message.kind == "notify" and message.stage_code == "acknowledge":
                acknowledge(app, incident_id=incident, actor=PM, now=T0)  # e.g. a click on the email link
            return result

    slack = AckWhileSending()
    dispatch(app, now=T0, notifiers={**fakes, "slack": slack})
    [notify] = rows(app, kind="notify", channel="slack", stage_code="acknowledge")
    [update] = rows(app, kind="ack_update")
    assert update.meta["target"] == notify.provider_id and update.status == "sent"
    assert [u["provider_id"] for u in slack.updates] == [notify.provider_id]
