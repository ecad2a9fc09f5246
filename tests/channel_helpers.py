"""Helpers for the Slack/email channel tests: configuration, Slack request signing, mail parsing.

Slack requests are signed here by hand with Slack's documented scheme — HMAC-SHA256 of
``v0:{timestamp}:{body}`` under the signing secret, sent as ``X-Slack-Signature: v0=<hex>`` —
independently of the slack-sdk code the server uses to verify them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from email.message import EmailMessage
from urllib.parse import urlencode

from hokoku.clock import FixedClock

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-0000-test-bot-token"
PUBLIC_URL = "http://testserver"
ACK_LINK = re.compile(r"http://testserver/ack/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")

#: A settable clock for the web app (aware datetimes).
FakeClock = FixedClock

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def configure(monkeypatch, *, slack_url: str | None = None, smtp_port: int | None = None, **extra: str):
    """Point hokoku at the loopback peers through its HOKOKU_* variables; return a fresh App."""
    from hokoku.app import open_app

    for name in PROXY_VARS:  # slack-sdk and httpx would send even loopback requests through a proxy
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOKOKU_PUBLIC_URL", PUBLIC_URL)
    if slack_url is not None:
        monkeypatch.setenv("HOKOKU_SLACK_BOT_TOKEN", BOT_TOKEN)
        monkeypatch.setenv("HOKOKU_SLACK_SIGNING_SECRET", SIGNING_SECRET)
        monkeypatch.setenv("HOKOKU_SLACK_API_URL", slack_url)
    if smtp_port is not None:
        monkeypatch.setenv("HOKOKU_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("HOKOKU_SMTP_PORT", str(smtp_port))
        monkeypatch.setenv("HOKOKU_SMTP_SECURITY", "none")
        monkeypatch.setenv("HOKOKU_MAIL_FROM", "hokoku <hokoku@example.org>")
    for name, value in extra.items():
        monkeypatch.setenv(f"HOKOKU_{name.upper()}", value)
    return open_app()


def sign(body: bytes, *, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's request-signing headers for ``body`` sent at ``timestamp`` (Unix seconds)."""
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def interaction_body(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(**fields: str) -> bytes:
    base = {"command": "/hokoku", "team_id": "T0000000001", "channel_id": "C0INCIDENT", "trigger_id": "1337.42.abcd"}
    base.update(fields)
    return urlencode(base).encode()


def block_action(
    *,
    user: str,
    incident: str,
    stage: str,
    action: str = "acknowledge",
    channel: str = "D0PM00001",
    ts: str = "1700000000.000001",
) -> dict:
    """A ``block_actions`` payload as Slack sends it when a button of ours is clicked."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0000000001"},
        "api_app_id": "A0000000001",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "directmessage"},
        "trigger_id": "1337.42.efgh",
        "response_url": "https://hooks.slack.invalid/actions/T0/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": action,
                "block_id": "hokoku_actions",
                "value": f"{incident}|{stage}",
                "action_ts": "1700000001.000000",
            }
        ],
    }


def plain_body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def ack_link_path(message: EmailMessage) -> str:
    """The path (``/ack/<token>``) of the acknowledgement link in a received mail."""
    found = ACK_LINK.search(plain_body(message))
    assert found, plain_body(message)
    return f"/ack/{found.group(1)}"


def audit_actions(app, incident: str | None = None) -> list[tuple[str, dict]]:
    from sqlalchemy import select

    from hokoku.models.audit import AuditEvent
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if incident:
            query = query.where(AuditEvent.incident_public_id == incident)
        return [(e.action, e.data) for e in session.execute(query).scalars()]


def rows(app, **where) -> list:
    """Outbox rows (Notification), optionally filtered by column values."""
    from sqlalchemy import select

    from hokoku.models.notification import Notification
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.execute(query).scalars())


def stage_row(app, incident: str, code: str):
    from sqlalchemy import select

    from hokoku.models.incident import Incident, Stage
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        inc = session.execute(select(Incident).where(Incident.public_id == incident)).scalar_one()
        return session.execute(select(Stage).where(Stage.incident_id == inc.id, Stage.code == code)).scalar_one()
