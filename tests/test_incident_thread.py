"""The incident thread in ``HOKOKU_SLACK_INCIDENT_CHANNEL``, against the loopback Slack stub.

One parent per incident (id, category, division, current stage, owner role, due — no names,
addresses or summary), kept current with ``chat.update``; stage starts, acknowledgements and
escalations as replies in its thread; personal DMs are not copied there.
"""

from __future__ import annotations

import random

import pytest

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.services.sweep import sweep
from hokoku.services.transitions import acknowledge
from tests.channel_helpers import configure
from tests.helpers import PM, T0, minutes, report
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.slow

CHANNEL = "C0INCIDENT"


def _tick(app, m):
    return dispatch(app, now=T0 + minutes(m), notifiers=build_notifiers(app.settings), rng=random.Random(1))


def _channel_posts(stub):
    return [r for r in stub.calls("chat.postMessage") if r.body.get("channel") == CHANNEL]


def _all_text(request) -> str:
    return request.body.get("text", "") + repr(request.body.get("blocks"))


def test_the_parent_is_posted_once_updated_and_stage_changes_acknowledgements_and_escalations_reply_in_its_thread(
    demo_app, monkeypatch
):
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url, slack_incident_channel=CHANNEL)
        incident = report(app, summary="田中さんの顧客名簿を入れたUSBメモリを紛失").public_id
        _tick(app, 0)
        posts = _channel_posts(stub)
        parents = [p for p in posts if "thread_ts" not in p.body]
        assert len(parents) == 1
        parent = parents[0]
        assert incident in parent.body["text"]
        first_reply = [p for p in posts if "thread_ts" in p.body]
        assert first_reply, [p.body for p in posts]  # "stage started" under the parent
        thread_ts = first_reply[0].body["thread_ts"]
        assert all(p.body["thread_ts"] == thread_ts for p in first_reply)
        body = _all_text(parent)
        assert "保護管理者" in body and "期限" in body  # owner role and due
        for secret in ("田中", "USB", "@", "中村", "吉田"):  # no summary, names or addresses
            assert all(secret not in _all_text(p) for p in posts), secret

        acknowledge(app, incident_id=incident, actor=PM, now=T0 + minutes(3), channel="web")
        _tick(app, 3)
        replies = [p for p in _channel_posts(stub) if p.body.get("thread_ts") == thread_ts]
        assert any("受領確認" in p.body["text"] for p in replies[len(first_reply) :])
        updates = [u for u in stub.calls("chat.update") if u.body.get("channel") == CHANNEL]
        assert updates and updates[-1].body["ts"] == thread_ts
        assert incident in updates[-1].body["text"]
        assert len([p for p in _channel_posts(stub) if "thread_ts" not in p.body]) == 1  # still one parent

        # DMs to people are not copied to the channel
        assert all(
            p.body["channel"] in (CHANNEL,) or p.body["channel"].startswith("D") for p in stub.calls("chat.postMessage")
        )
        dm_keys = {(p.body.get("metadata") or {}).get("event_payload", {}).get("kind") for p in _channel_posts(stub)}
        assert dm_keys <= {"thread_parent", "thread_reply"}


def test_an_escalation_is_a_reply_in_the_thread_and_the_parent_follows(demo_app, monkeypatch):
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url, slack_incident_channel=CHANNEL)
        incident = report(app).public_id
        _tick(app, 0)
        for m in (15, 30, 31):
            sweep(app, now=T0 + minutes(m))
            _tick(app, m)
        [parent] = [p for p in _channel_posts(stub) if "thread_ts" not in p.body]
        replies = [p for p in _channel_posts(stub) if "thread_ts" in p.body]
        assert any("エスカレーション" in p.body["text"] for p in replies), [p.body["text"] for p in replies]
        assert len({p.body["thread_ts"] for p in replies}) == 1
        assert any(u.body.get("channel") == CHANNEL and incident in u.body["text"] for u in stub.calls("chat.update"))
