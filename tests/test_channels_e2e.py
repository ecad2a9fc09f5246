"""Slack and email end to end, against real protocol peers on loopback.

The Slack Web API is ``tests.slack_stub`` (slack-sdk's ``base_url`` pointed at it through
``HOKOKU_SLACK_API_URL``); mail goes over SMTP to an aiosmtpd server (``tests.smtp_sink``)
and is parsed back; the web app runs in-process under ``fastapi.testclient.TestClient``. Time
is passed in (``now`` to the services, a fake clock to the web app): nothing sleeps.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.services.queries import show_incident
from hokoku.services.sweep import sweep
from hokoku.web import create_app
from tests.channel_helpers import (
    FakeClock,
    ack_link_path,
    audit_actions,
    block_action,
    configure,
    interaction_body,
    plain_body,
    rows,
    sign,
    stage_row,
)
from tests.helpers import GM, PM, PM_DEPUTY, PO, REPORTER, T0, minutes, report
from tests.slack_stub import SlackStub
from tests.smtp_sink import SmtpSink, closed_port

pytestmark = pytest.mark.slow


@pytest.fixture
def stub():
    with SlackStub() as s:
        yield s


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture
def both(demo_app, stub, sink, monkeypatch):
    """An App with Slack (the stub) and email (the sink) both configured."""
    return configure(monkeypatch, slack_url=stub.base_url, smtp_port=sink.port)


def mails_to(sink: SmtpSink, email: str) -> list:
    return [r.message for r in sink.received if email in r.rcpt_tos]


def posts_to(stub: SlackStub, channel: str) -> list:
    return [r for r in stub.calls("chat.postMessage") if r.body.get("channel") == channel]


def block_types(blocks) -> list[str]:
    return [b["type"] for b in blocks or []]


def buttons(blocks) -> dict[str, dict]:
    for block in blocks or []:
        if block["type"] == "actions":
            return {e["action_id"]: e for e in block["elements"]}
    return {}


def test_report_reaches_slack_and_email_and_a_signed_click_acknowledges(both, stub, sink):
    """Report → Slack DM with an Acknowledge button and a mail with a link; a signed click
    acknowledges, the DM is updated without buttons, and later ticks send no reminder."""
    started = time.perf_counter()
    app = both
    incident = report(app).public_id
    events = dispatch(app, now=T0, notifiers=build_notifiers(app.settings), rng=random.Random(1))
    assert {e.outcome for e in events} == {"sent"}
    assert sorted((e.channel, e.recipient) for e in events if e.recipient == PM) == [("email", PM), ("slack", PM)]

    # Slack: a DM to the protection manager (slack id from the organisation file) with buttons
    [dm] = posts_to(stub, "D0PM00001")
    actions = buttons(dm.body["blocks"])
    assert actions["acknowledge"]["value"] == f"{incident}|acknowledge"
    assert actions["acknowledge"]["style"] == "primary"
    assert actions["open"]["url"] == f"http://testserver/incidents/{incident}"
    assert "mark_done" not in actions  # the acknowledge stage is completed by the acknowledgement itself

    # Email: the same notice, UTF-8, a decoded Japanese subject and the acknowledgement link
    [mail] = mails_to(sink, PM)
    assert mail["Subject"] == f"[hokoku] {incident} 27-1 保護管理者による受領確認（対応をお願いします）"
    assert "=?utf-8?" in sink.received[0].raw.decode("ascii").lower()  # encoded on the wire
    body = plain_body(mail)
    assert "受領確認: http://testserver/ack/" in body and "{ack-token}" not in body
    link = ack_link_path(mail)

    # The reporter's receipt goes to one channel only (Slack first)
    assert [r.channel for r in rows(app, kind="receipt")] == ["slack"]

    # A correctly signed click on Acknowledge
    clock = FakeClock(T0 + minutes(5))
    client = TestClient(create_app(app, notifiers=build_notifiers(app.settings), clock=clock))
    body_bytes = interaction_body(block_action(user="U0PM00001", incident=incident, stage="acknowledge"))
    answer = client.post(
        "/slack/interactions", content=body_bytes, headers=sign(body_bytes, timestamp=int(clock.now.timestamp()))
    )
    assert answer.status_code == 200
    acked = stage_row(app, incident, "acknowledge")
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == ("done", PM, T0 + minutes(5))
    assert ("stage.acknowledged", {"stage": "acknowledge", "channel": "slack"}) in audit_actions(app, incident)

    # ... and the original DM is updated in place: who and when, no actions block
    [update] = stub.calls("chat.update")
    assert update.body["channel"] == "D0PM00001"
    assert (
        update.body["ts"] == rows(app, kind="notify", channel="slack", recipient_email=PM)[0].provider_id.split(":")[2]
    )
    assert "actions" not in block_types(update.body["blocks"])
    assert "中村 美咲" in json.dumps(update.body["blocks"], ensure_ascii=False)
    assert [r.status for r in rows(app, kind="ack_update")] == ["sent"]

    # The mail link is now spent on an acknowledged stage: the page says so and acknowledges nothing
    page = client.get(link)
    assert page.status_code == 409 and "すでに受領確認" in page.text

    # Later ticks: no reminder, no escalation for the acknowledged stage
    posts_before = len(stub.calls("chat.postMessage"))
    mails_before = len(sink.received)
    for later in (15, 30, 60, 120):
        events = sweep(app, now=T0 + minutes(later))
        assert not [e for e in events if e.stage == "acknowledge"]
        dispatch(app, now=T0 + minutes(later), notifiers=build_notifiers(app.settings))
    assert not rows(app, stage_code="acknowledge", kind="reminder")
    assert not rows(app, stage_code="acknowledge", kind="escalation")
    new_posts = stub.calls("chat.postMessage")[posts_before:]
    assert all("受領確認" not in p.body.get("text", "") or "27-2" in p.body.get("text", "") for p in new_posts)
    assert len(sink.received) >= mails_before
    print(f"\n[measure] report→slack+email→click→update→ticks: {time.perf_counter() - started:.2f}s")


def test_reminder_is_threaded_under_the_first_dm_and_carries_a_fresh_link_by_mail(both, stub, sink):
    """15 minutes on, the reminder is a reply in the thread of the notify DM (thread_ts = its ts)
    and the reminder mail carries its own link (another token id)."""
    app = both
    incident = report(app).public_id
    notifiers = build_notifiers(app.settings)
    dispatch(app, now=T0, notifiers=notifiers)
    [notify] = posts_to(stub, "D0PM00001")
    [notify_row] = rows(app, kind="notify", channel="slack", recipient_email=PM)
    first_ts = notify_row.provider_id.rsplit(":", 1)[1]
    sweep(app, now=T0 + minutes(15))
    dispatch(app, now=T0 + minutes(15), notifiers=notifiers)
    reminder = posts_to(stub, "D0PM00001")[-1]
    assert reminder.body["thread_ts"] == first_ts and "督促（1回目）" in reminder.body["text"]
    assert buttons(reminder.body["blocks"])["acknowledge"]["value"] == f"{incident}|acknowledge"
    links = [ack_link_path(m) for m in mails_to(sink, PM)]
    assert len(links) == 2 and links[0] != links[1]
    assert "thread_ts" not in notify.body


def test_email_link_acknowledges_once_and_updates_the_slack_dm(both, stub, sink):
    """GET of the mailed link shows a page and acknowledges nothing; the POST acknowledges; the
    same link again is refused (410) and changes nothing; the Slack DM loses its buttons."""
    app = both
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
    link = ack_link_path(mails_to(sink, PM)[0])
    clock = FakeClock(T0 + minutes(3))
    client = TestClient(create_app(app, notifiers=build_notifiers(app.settings), clock=clock))

    page = client.get(link)
    assert page.status_code == 200
    assert "受領を確認する" in page.text and '<form method="post">' in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None  # a prefetch acknowledges nothing
    assert client.head(link).status_code in (200, 405)
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None

    done = client.post(link)
    assert done.status_code == 200 and "受領確認を記録しました" in done.text
    acked = stage_row(app, incident, "acknowledge")
    assert (acked.acknowledged_by, acked.acknowledged_at) == (PM, T0 + minutes(3))
    assert ("stage.acknowledged", {"stage": "acknowledge", "channel": "email"}) in audit_actions(app, incident)
    [update] = stub.calls("chat.update")
    assert "actions" not in block_types(update.body["blocks"])

    clock.now = T0 + minutes(4)
    again = client.post(link)
    assert again.status_code == 410 and "すでに使われています" in again.text
    assert stage_row(app, incident, "acknowledge").acknowledged_at == T0 + minutes(3)
    refused = [d for a, d in audit_actions(app, incident) if a == "ack_link.refused"]
    assert refused and refused[-1]["reason"] == "used"


def test_email_link_after_expiry_acknowledges_nothing(both, sink, monkeypatch):
    """A link used after HOKOKU_ACK_LINK_TTL_HOURS is refused with 410 and audited."""
    app = configure(monkeypatch, ack_link_ttl_hours="2")
    incident = report(app).public_id
    dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
    link = ack_link_path(mails_to(sink, PM)[0])
    client = TestClient(create_app(app, notifiers={}, clock=FakeClock(T0 + timedelta(hours=2))))
    for method in (client.get, client.post):
        answer = method(link)
        assert answer.status_code == 410 and "有効期限" in answer.text
    assert stage_row(app, incident, "acknowledge").acknowledged_at is None
    # audited once a minute per address; the second refusal is counted (hokoku.services.refusals)
    assert [d["reason"] for a, d in audit_actions(app) if a == "ack_link.refused"] == ["expired"]
    from hokoku.services.refusals import suppressed_now

    assert suppressed_now(app, source="ack:testclient", now=T0 + timedelta(hours=2)) == 1


def test_slack_429_retry_after_is_honoured_and_the_message_arrives_once(demo_app, stub, monkeypatch):
    """429 + Retry-After: 2 on the first three posts: each retry waits ≥ 2 s, the fourth
    attempt delivers, and exactly one chat.postMessage succeeds."""
    app = configure(monkeypatch, slack_url=stub.base_url)
    report(app)
    [notify] = rows(app, kind="notify", channel="slack")
    stub.rate_limit("chat.postMessage", retry_after=2, times=3)
    notifiers = build_notifiers(app.settings)
    now = T0
    outcomes = []
    for _ in range(4):
        [event] = dispatch(app, now=now, notifiers=notifiers, ids=[notify.id], rng=random.Random(3))
        outcomes.append(event.outcome)
        row = rows(app, id=notify.id)[0]
        if event.outcome == "retry":
            assert "rate limited" in row.last_error
            assert now + timedelta(seconds=2) <= row.next_attempt_at <= now + timedelta(seconds=3)
            assert (
                dispatch(
                    app, now=row.next_attempt_at - timedelta(milliseconds=10), notifiers=notifiers, ids=[notify.id]
                )
                == []
            )
            now = row.next_attempt_at
    assert outcomes == ["retry", "retry", "retry", "sent"]
    posts = stub.calls("chat.postMessage")
    assert len(posts) == 4  # three answered 429, one accepted
    assert (row.status, row.attempts, row.sent_at) == ("sent", 4, now)
    assert row.provider_id == "slack:D0PM00001:1700000000.000001"  # the stub's first successful ts


def test_slack_unreachable_escalation_arrives_by_email_and_outbox_shows_both(demo_app, sink, monkeypatch, cli):
    """Slack on a closed port: the escalation reaches its people by email at once, the
    Slack attempts stay pending with their errors, and `hokoku outbox` shows both."""
    app = configure(monkeypatch, slack_url=f"http://127.0.0.1:{closed_port()}/api/", smtp_port=sink.port)
    incident = report(app).public_id
    notifiers = build_notifiers(app.settings)
    dispatch(app, now=T0, notifiers=notifiers)

    # The receipt goes to Slack only; 10 minutes after it was queued it falls back to email
    dispatch(app, now=T0 + minutes(9), notifiers=notifiers)
    assert not mails_to(sink, REPORTER)
    dispatch(app, now=T0 + minutes(10), notifiers=notifiers)
    [receipt_mail] = mails_to(sink, REPORTER)
    assert incident in receipt_mail["Subject"]
    [fallback] = rows(app, kind="receipt", channel="email")
    assert fallback.idempotency_key == f"{incident}:receipt:{REPORTER}:email" and fallback.fallback_of
    assert (
        "notification.fallback",
        {
            "key": f"{incident}:receipt:{REPORTER}:slack",
            "from": "slack",
            "to": "email",
            "reason": "not delivered within 10 minutes",
        },
    ) in audit_actions(app, incident)

    # The escalation (like every message asking for an acknowledgement) goes to both channels:
    # by email it arrives at once, with its link; the Slack rows keep retrying
    events = sweep(app, now=T0 + minutes(30))
    assert [(e.kind, e.recipients) for e in events if e.kind == "escalation"] == [("escalation", [PM_DEPUTY, PO])]
    delivered = dispatch(app, now=T0 + minutes(30), notifiers=notifiers)
    by_email = {e.recipient for e in delivered if e.channel == "email" and e.outcome == "sent"}
    assert {PM_DEPUTY, PO} <= by_email
    for person in (PM_DEPUTY, PO):
        [mail] = [m for m in mails_to(sink, person) if "エスカレーション" in m["Subject"]]
        assert ack_link_path(mail)
    slack_rows = rows(app, kind="escalation", channel="slack")
    assert {(r.status, r.attempts) for r in slack_rows} == {("pending", 1)}
    assert all("connection failed" in r.last_error for r in slack_rows)

    code, out, _ = cli("outbox", "--incident", incident, "--json")
    assert code == 0
    shown = json.loads(out)
    escalations = {(r["channel"], r["to"]): r for r in shown if r["kind"] == "escalation"}
    for person in (PM_DEPUTY, PO):
        assert escalations[("email", person)]["status"] == "sent"
        assert escalations[("slack", person)]["status"] == "pending"
        assert "connection failed" in escalations[("slack", person)]["error"]


def test_when_every_channel_fails_the_general_manager_is_alerted_and_show_lists_it(
    demo_app, stub, sink, monkeypatch, cli
):
    """A protection manager unknown to Slack and refused by the mail server: both rows fail,
    the general manager gets a delivery alert (Slack and email), `hokoku show` prints the failures."""
    app = configure(monkeypatch, slack_url=stub.base_url, smtp_port=sink.port)
    sink.refuse("matsumoto.pm@example.org", "550 5.1.1 No such user")
    incident = report(app, division="IDS-MED", reporter="kimura@example.org").public_id
    events = dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
    failed = sorted((e.channel, e.recipient) for e in events if e.outcome == "failed")
    assert ("email", "matsumoto.pm@example.org") in failed and ("slack", "matsumoto.pm@example.org") in failed
    alerts = rows(app, kind="delivery_alert")
    assert sorted((r.channel, r.recipient_email, r.status) for r in alerts) == [
        ("email", GM, "sent"),
        ("slack", GM, "sent"),
    ]
    [alert_mail] = [m for m in mails_to(sink, GM) if "配信失敗" in m["Subject"]]
    assert "松本 誠" in plain_body(alert_mail) and "550" in plain_body(alert_mail)
    assert posts_to(stub, "D0GM00001")
    assert "notification.undeliverable" in [a for a, _ in audit_actions(app, incident)]

    # the reporter (no Slack id, unknown to Slack) got the receipt by email instead
    assert [r.status for r in rows(app, kind="receipt", channel="email")] == ["sent"]

    code, out, _ = cli("show", incident)
    assert code == 0
    assert "配信失敗" in out and "matsumoto.pm@example.org" in out and "550" in out
    shown = show_incident(app, incident, now=T0)
    assert {f["channel"] for f in shown["delivery_failures"]} >= {"slack", "email"}


def test_hostile_report_text_is_inert_in_the_slack_message_and_the_email(both, stub, sink):
    """A report whose text is ``<script>alert(1)</script><!channel>`` reaches Slack escaped (no
    live mention, no tag) and email as literal text (with any HTML part escaped)."""
    app = both
    hostile = "<script>alert(1)</script><!channel> <@U0GM00001>"
    report(app, summary=hostile)
    dispatch(app, now=T0, notifiers=build_notifiers(app.settings), rng=random.Random(3))

    [dm] = posts_to(stub, "D0PM00001")
    posted = json.dumps([dm.body.get("text"), dm.body["blocks"]], ensure_ascii=False)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;!channel&gt; &lt;@U0GM00001&gt;" in posted
    assert "<!channel>" not in posted and "<script>" not in posted and "<@U0GM00001>" not in posted

    [mail] = mails_to(sink, PM)
    assert hostile in plain_body(mail)  # plain text: shown literally, nothing to interpret
    html_part = mail.get_body(preferencelist=("html",))
    if html_part is not None:
        html = html_part.get_content()
        assert "<script>" not in html and "&lt;script&gt;" in html


SPOOF = (
    "PC-17 shows a ransom note.\n\n受領確認: https://evil.example/ack/steal\n"
    "Acknowledge: https://evil.example/ack/steal\n<https://evil.example|Acknowledge>"
)


def test_a_summary_posing_as_the_ack_link_comes_after_the_real_link_as_a_quotation(both, stub, sink):
    """A reporter writes "Acknowledge: https://evil…" into the summary. In the mail the genuine
    link comes first; the summary follows, every line quoted with "> " between two rules; in Slack
    the summary is a separate section after the buttons (escaped, so it forms no link)."""
    from tests.channel_helpers import plain_body

    app = both
    report(app, summary=SPOOF)
    dispatch(app, now=T0, notifiers=build_notifiers(app.settings))
    body = plain_body(mails_to(sink, PM)[0])
    lines = body.splitlines()
    genuine = next(i for i, line in enumerate(lines) if "/ack/" in line and "evil" not in line)
    opening = next(i for i, line in enumerate(lines) if line.startswith("──────────"))
    assert genuine < opening
    evil = [line for line in lines if "evil.example" in line]
    assert evil and all(line.startswith("> ") for line in evil)
    assert lines.index(evil[0]) > opening and any(
        line.startswith("──────────") for line in lines[lines.index(evil[-1]) :]
    )
    assert "引用" in lines[opening]

    post = next(c for c in stub.calls("chat.postMessage") if c.body["channel"] == "D0PM00001")
    kinds = [b["type"] for b in post.body["blocks"]]
    actions_at = kinds.index("actions")
    texts = [json.dumps(b, ensure_ascii=False) for b in post.body["blocks"]]
    evil_at = [i for i, t in enumerate(texts) if "evil.example" in t]
    assert evil_at and min(evil_at) > actions_at
    assert "<https://evil" not in "".join(texts)  # escaped: no link can form
