"""Every transition a flow run (issue 14): whatever the entry point — the web app's email link, a
Slack button, the CLI — each committed stage start, acknowledgement and completion leaves a
``flow_trigger`` row in its own transaction, and the pump turns the rows into runs of the stage's
flow, named "<incident> · <article>", tagged with the incident id, in order, Completed. With
Prefect unreachable the sweep still sends reminders and the rows wait; the runs appear once it is back.

One session-scoped ``prefect_test_harness``; time is passed in as ``now`` (no freezegun).
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.channel_helpers import FakeClock, block_action, configure, interaction_body, sign
from tests.helpers import PM, minutes, report
from tests.helpers import T0 as _T0

#: Another year than tests/test_flows.py's, so this module's incident ids (and Prefect tags) differ
#: from theirs on the shared Prefect test server.
T0 = _T0.replace(year=2029)

pytestmark = pytest.mark.slow


@pytest.fixture
def app(prefect_harness, demo_app, monkeypatch):
    monkeypatch.setenv("HOKOKU_FLOW_TRIGGERS", "1")
    from tests.slack_stub import SlackStub

    with SlackStub() as stub:
        a = configure(monkeypatch, slack_url=stub.base_url)
        a.stub = stub
        yield a


_SEEN: dict[str, int] = {}


def _new_runs(tag: str) -> list[tuple[str, str, list[str]]]:
    """Runs tagged ``tag`` made since the last call (the harness is shared and ids repeat across tests)."""
    runs = asyncio.run(_runs(tag))
    new, _SEEN[tag] = runs[_SEEN.get(tag, 0) :], len(runs)
    return new


async def _runs(tag: str) -> list[tuple[str, str, list[str]]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])), sort=FlowRunSort.EXPECTED_START_TIME_ASC
        )
        return [(r.name, r.state_type.value, sorted(r.tags)) for r in runs]


def _pump(app) -> dict:
    from hokoku.flows.stages import record_transition
    from hokoku.services.flowtriggers import pump

    return asyncio.run(pump(app, record=record_transition))


def test_web_slack_and_cli_transitions_become_named_tagged_stage_runs_in_order(app, cli):
    """Email-link ack (web app), Slack-button ack and a CLI `done` each become Completed runs of the
    stage's flow, named for the incident and the article and tagged with its id, in transition order."""
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.security.acktokens import issue_token
    from hokoku.services.flowtriggers import pending
    from hokoku.web import create_app

    clock = FakeClock(T0 + minutes(5))
    web = TestClient(create_app(app, notifiers=build_notifiers(app.settings), clock=clock))

    by_web = report(app, now=T0).public_id
    for tag in (by_web, "INC-2029-0002"):
        _new_runs(tag)
    token = issue_token(
        key=app.keyring.current.token_key,
        person_email=PM,
        incident_id=by_web,
        stage_code="acknowledge",
        issued_at=T0,
        ttl=timedelta(hours=24),
    )
    assert web.post(f"/ack/{token}").status_code == 200

    by_slack = report(app, now=T0 + minutes(1)).public_id
    body = interaction_body(block_action(user="U0PM00001", incident=by_slack, stage="acknowledge"))
    assert (
        web.post(
            "/slack/interactions", content=body, headers=sign(body, timestamp=int(clock.now.timestamp()))
        ).status_code
        == 200
    )

    code, out, err = cli("advance", by_web, "immediate-measures", "--as", PM, "--now", (T0 + minutes(30)).isoformat())
    assert code == 0, out + err

    waiting = [(r.incident, r.stage, r.kind) for r in pending(app)]
    assert (by_web, "acknowledge", "acknowledged") in waiting and (by_slack, "acknowledge", "acknowledged") in waiting
    assert (by_web, "immediate-measures", "done") in waiting
    assert _pump(app)["failed"] is False
    assert pending(app) == []

    article = "27-1 acknowledgement by the protection manager"
    for incident in (by_web, by_slack):
        runs = _new_runs(incident)
        assert runs and {state for _n, state, _t in runs} == {"COMPLETED"}
        assert all(incident in tags and all("@" not in t for t in tags) for _n, _s, tags in runs)
        chain = [
            (name, next(t for t in tags if t in ("started", "acknowledged", "done", "skipped")))
            for name, _s, tags in runs
        ]
        assert chain[0] == (f"{incident} · 27-1 report received", "started")  # the intake's stage
        ack = chain.index((f"{incident} · {article}", "acknowledged"))
        assert chain.index((f"{incident} · {article}", "started")) < ack
        assert (f"{incident} · 27-2 immediate measures", "started") in chain[ack:]  # what the ack started
        if incident == by_web:  # the CLI's `advance`, last
            assert chain[-1] != chain[ack]
            assert (f"{incident} · 27-2 immediate measures", "done") in chain[ack + 1 :]


def test_with_prefect_unreachable_reminders_are_still_sent_and_the_runs_appear_when_it_returns(app, monkeypatch):
    """Prefect down: the sweep still queues and the dispatch still sends the reminder; the stage's
    trigger rows wait (pump fails, nothing lost); with Prefect back, the pump makes the runs."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import dispatch
    from hokoku.services.flowtriggers import pending
    from hokoku.services.sweep import sweep

    incident = report(app, now=T0).public_id
    _new_runs(incident)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # nothing listens here once closed
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{dead}/api"}):
        outcome = _pump(app)
        assert outcome["failed"] is True and outcome["ran"] == 0
        later = T0 + timedelta(minutes=15)  # the acknowledgement reminder is due
        events = sweep(app, now=later)
        assert any(e.kind == "reminder" and e.incident == incident for e in events)
        sent = dispatch(app, now=later, notifiers=build_notifiers(app.settings))
        assert any(d.outcome == "sent" and "reminder" in d.key for d in sent)
    waiting = [(r.incident, r.stage, r.kind) for r in pending(app)]
    assert waiting[:2] == [(incident, "report", "started"), (incident, "acknowledge", "started")]

    later_now = _Later.now(UTC)  # the pump reads hokoku.clock.utcnow (imported by name)
    monkeypatch.setattr("hokoku.services.flowtriggers.utcnow", lambda: later_now)
    assert _pump(app)["failed"] is False
    assert pending(app) == []
    runs = _new_runs(incident)
    assert [name for name, _s, _t in runs][:2] == [
        f"{incident} · 27-1 report received",
        f"{incident} · 27-1 acknowledgement by the protection manager",
    ]
    assert len(runs) == len(waiting) and {state for _n, state, _t in runs} == {"COMPLETED"}


class _Later:
    """``datetime`` for the pump after the failed round's back-off (no sleeping in tests)."""

    @staticmethod
    def now(tz=None):
        from datetime import datetime

        return datetime.now(tz) + timedelta(minutes=5)
