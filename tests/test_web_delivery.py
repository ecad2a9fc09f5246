"""A report through the web app or the API is delivered right after the response, in the
request's own process, by the dispatch code every path runs (issue 14: report → first
notification without waiting for a dispatch round or a Prefect flow run)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hokoku.models.incident import Incident
from hokoku.models.notification import Notification
from hokoku.notifiers.base import DeliveryResult
from hokoku.store.db import transaction
from tests.helpers import PM, REPORTER, T0
from tests.web_support import Clock, Site, fast_hashes


class Recorder:
    channel = "outbox"

    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return DeliveryResult(provider_id=f"outbox:{len(self.sent)}")


@pytest.fixture
def recording_site(demo_app, fast_hashes):
    from hokoku.services.accounts import ensure_demo_users
    from hokoku.web import create_app
    from tests.web_support import ACCOUNTS, PASSWORD

    ensure_demo_users(demo_app, emails=ACCOUNTS, password=PASSWORD, now=T0)
    clock = Clock(T0 + timedelta(minutes=5))
    recorder = Recorder()
    web = create_app(demo_app, notifiers={"outbox": recorder}, clock=clock)
    web.state.clock = clock
    return Site(demo_app, web, clock), recorder


def statuses(app, incident: str) -> dict[str, str]:
    with transaction(app.engine) as session:
        inc = session.execute(select(Incident.id).where(Incident.public_id == incident)).scalar_one()
        rows = session.execute(select(Notification).where(Notification.incident_id == inc)).scalars()
        return {n.recipient_email + ":" + n.kind: n.status for n in rows}


def test_an_api_report_is_delivered_when_the_response_is_sent(recording_site):
    """No dispatch round runs: the protection manager's notice is sent by the time the 201 is read."""
    site, recorder = recording_site
    client = site.client()
    r = client.post(
        "/api/incidents",
        json={"division": "IDS-SURVEY", "category": "malware", "summary": "PC-17 shows a ransom note"},
        headers={"Authorization": f"Bearer {site.token(REPORTER)}"},
    )
    assert r.status_code == 201, r.text
    incident = r.json()["incident"]
    assert statuses(site.app, incident) and set(statuses(site.app, incident).values()) == {"sent"}
    assert PM in {m.recipient_email for m in recorder.sent}


class SlackRecorder(Recorder):
    channel = "slack"


def test_a_message_held_behind_another_request_is_delivered_once_that_one_is_out(demo_app, monkeypatch):
    """Two reports to the same protection manager: the second request's message waits behind
    the first one's (order per person); when the first is delivered meanwhile (another request),
    the immediate delivery of the second sends it too, in order, instead of leaving it pending."""
    from hokoku.services.dispatch import dispatch
    from hokoku.web import context
    from tests.channel_helpers import configure, rows
    from tests.helpers import report

    app = configure(monkeypatch, slack_url="http://127.0.0.1:9/api/")
    first = report(app, now=T0).public_id
    second = report(app, now=T0 + timedelta(minutes=1)).public_id
    slack = SlackRecorder()
    ctx = context.WebContext(app, {"slack": slack}, clock=lambda: T0 + timedelta(minutes=2))
    other_request = []

    def sleep(seconds):  # meanwhile, the first report's request delivers its messages
        if not other_request:
            other_request.append(dispatch(app, now=T0 + timedelta(minutes=2), notifiers=ctx.notifiers, incident=first))

    monkeypatch.setattr(context.time, "sleep", sleep)
    ctx.deliver(incident=second)
    assert other_request and other_request[0]  # the first was delivered by the "other request"
    assert {r.status for r in rows(app) if r.channel == "slack"} == {"sent"}
    to_pm = [m.idempotency_key.split(":")[0] for m in slack.sent if m.recipient_email == PM]
    assert to_pm[:2] == [first, second]


def test_a_message_held_behind_one_nobody_sends_stays_queued(demo_app, monkeypatch):
    """When the older message is not delivered meanwhile, the newer one is not sent out of
    order: it stays pending for the scheduled dispatch."""
    from hokoku.web import context
    from tests.channel_helpers import configure, rows
    from tests.helpers import report

    app = configure(monkeypatch, slack_url="http://127.0.0.1:9/api/")
    first = report(app, now=T0).public_id
    second = report(app, now=T0 + timedelta(minutes=1)).public_id
    slack = SlackRecorder()
    monkeypatch.setattr(context.time, "sleep", lambda s: None)
    context.WebContext(app, {"slack": slack}, clock=lambda: T0 + timedelta(minutes=2)).deliver(incident=second)
    assert first not in {m.idempotency_key.split(":")[0] for m in slack.sent}
    assert not [m for m in slack.sent if m.recipient_email == PM]  # not before the first report's
    pending = [r for r in rows(app, status="pending") if r.channel == "slack"]
    assert {r.idempotency_key.split(":")[0] for r in pending if r.recipient_email == PM} == {first, second}
