"""The Prefect flows, end to end under one session-scoped ``prefect_test_harness``.

Time is passed into the flows as ``now`` (never freezegun around live flow runs).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from hokoku.timeutil import JST

pytestmark = pytest.mark.slow

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def flow_app(prefect_harness, tmp_path, monkeypatch):
    for var in ("HOKOKU_DATABASE_URL", "HOKOKU_SECRET_KEY", "HOKOKU_SLACK_BOT_TOKEN", "HOKOKU_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOKOKU_HOME", str(tmp_path / "home"))
    from hokoku.app import open_app
    from hokoku.db import dispose_engines
    from hokoku.services.setup import init

    init(open_app(), org_file=None, demo=True, now=T0 - timedelta(days=1))
    yield open_app()
    dispose_engines()


async def _runs_tagged(tag: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])))
        flows = {f.id: f.name for f in await client.read_flows()}
        return sorted((flows[r.flow_id], r.state_name) for r in runs)


def test_intake_sweep_dispatch_run_as_flows_tagged_with_the_incident(flow_app):
    """Report, reminder and acknowledgement run as named flows tagged with the incident id."""
    from hokoku.runner import FlowRunner
    from hokoku.services.queries import outbox, show_incident

    runner = FlowRunner(flow_app)
    result = runner.report(division="IDS-SURVEY", category="malware", summary="ransom note on PC-17",
                           reporter="yoshida@example.org", now=T0)
    incident = result.public_id

    tick = runner.tick(now=T0 + timedelta(minutes=15))
    assert [(e["kind"], e["recipients"]) for e in tick["sweep"]] == [("reminder", ["nakamura.pm@example.org"])]
    assert {d["outcome"] for d in tick["dispatch"]} == {"sent"}
    assert len(tick["dispatch"]) == 3  # notify, receipt, reminder

    ack = runner.ack(incident_id=incident, actor="nakamura.pm@example.org", now=T0 + timedelta(minutes=16))
    assert ack.stages == ["acknowledge"] and ack.started == ["immediate-measures"]
    runner.advance(incident_id=incident, stage="immediate-measures", actor="nakamura.pm@example.org",
                   now=T0 + timedelta(minutes=40), note="LAN cable pulled")

    runs = asyncio.run(_runs_tagged(incident))
    assert runs == sorted([
        ("27-1 report received", "Completed"),
        ("27-1 acknowledgement by the protection manager", "Completed"),
        ("27-2 immediate measures", "Completed"),
    ])
    shown = show_incident(flow_app, incident, now=T0 + timedelta(minutes=41))
    status = {s["code"]: s["status"] for s in shown["stages"]}
    assert status["acknowledge"] == "done" and status["immediate-measures"] == "done"
    assert status["containment"] == "notified"
    kinds = [m["kind"] for m in outbox(flow_app, incident=incident)]
    assert kinds.count("reminder") == 1

    later = runner.tick(now=T0 + timedelta(minutes=45))
    assert not [e for e in later["sweep"] if e["stage"] == "acknowledge"]


def test_sweep_flow_is_idempotent_at_the_same_now(flow_app):
    """Two sweep flow runs at the same ``now`` produce the reminder once."""
    from flows.sweep import sweep_flow
    from hokoku.runner import FlowRunner

    FlowRunner(flow_app).report(division="IDS-MED", category="lost-device", summary="USB stick lost",
                                reporter="kimura@example.org", now=T0)
    at = T0 + timedelta(minutes=15)
    first = asyncio.run(sweep_flow(now=at))
    second = asyncio.run(sweep_flow(now=at))
    assert [e["kind"] for e in first] == ["reminder"]
    assert second == []
