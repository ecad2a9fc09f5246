"""The Prefect flows, end to end under one session-scoped ``prefect_test_harness``.

Time is passed into the flows as ``now`` (never freezegun around live flow runs).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from hokoku.core.timeutil import JST

pytestmark = pytest.mark.slow

T0 = datetime(2027, 2, 1, 10, 0, tzinfo=JST)


@pytest.fixture
def flow_app(prefect_harness, tmp_path, monkeypatch):
    for var in ("HOKOKU_DATABASE_URL", "HOKOKU_SECRET_KEY", "HOKOKU_SLACK_BOT_TOKEN", "HOKOKU_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOKOKU_HOME", str(tmp_path / "home"))
    from hokoku.app import open_app
    from hokoku.services.setup import init
    from hokoku.store.db import dispose_engines

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
    from hokoku.engine.runner import FlowRunner
    from hokoku.services.queries import outbox, show_incident

    runner = FlowRunner(flow_app)
    result = runner.report(
        division="IDS-SURVEY",
        category="malware",
        summary="ransom note on PC-17",
        reporter="yoshida@example.org",
        now=T0,
    )
    incident = result.public_id

    tick = runner.tick(now=T0 + timedelta(minutes=15))
    assert [(e["kind"], e["recipients"]) for e in tick["sweep"]] == [("reminder", ["nakamura.pm@example.org"])]
    assert {d["outcome"] for d in tick["dispatch"]} == {"sent"}
    assert len(tick["dispatch"]) == 4  # notify, receipt, reminder; the statutory clocks' notice to the GM

    ack = runner.ack(incident_id=incident, actor="nakamura.pm@example.org", now=T0 + timedelta(minutes=16))
    assert ack.stages == ["acknowledge"] and ack.started == ["triage", "immediate-measures"]
    runner.advance(
        incident_id=incident,
        stage="immediate-measures",
        actor="nakamura.pm@example.org",
        now=T0 + timedelta(minutes=40),
        note="LAN cable pulled",
    )

    runs = asyncio.run(_runs_tagged(incident))
    assert runs == sorted(
        [
            ("27-1 report received", "Completed"),
            ("27-1 acknowledgement by the protection manager", "Completed"),
            ("27-2 immediate measures", "Completed"),
        ]
    )
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
    from hokoku.engine.runner import FlowRunner
    from hokoku.flows.sweep import sweep_flow

    FlowRunner(flow_app).report(
        division="IDS-MED", category="lost-device", summary="USB stick lost", reporter="kimura@example.org", now=T0
    )
    at = T0 + timedelta(minutes=15)
    first = asyncio.run(sweep_flow(now=at))
    second = asyncio.run(sweep_flow(now=at))
    assert [e["kind"] for e in first] == ["reminder"]
    assert second == []


# -- what Prefect sees: ids, stage codes, counts; never typed text, names or emails ----------
SECRET_SUMMARY = "Summary-Qx7Zmarmot: survey PC SV-0042 shows a ransom note"
SECRET_DETAILS = "Details-Kw2Vbadger: respondent list of 412 people on the desktop"
SECRET_NOTE = "Note-Hr5Tferret: LAN cable pulled at 10:35"
SECRET_SKIP = "Skip-Pj8Lotter: nothing to contain"
TYPO_ACTOR = "nakamura.pmx.typo@example.org"  # an address typed wrong: quoted by the refusal


def _personal_strings() -> list[str]:
    return [
        SECRET_SUMMARY,
        SECRET_DETAILS,
        SECRET_NOTE,
        SECRET_SKIP,
        "Qx7Zmarmot",
        "Kw2Vbadger",
        "Hr5Tferret",
        "Pj8Lotter",
        "yoshida@example.org",
        "吉田 翔",
        "nakamura.pm@example.org",
        "中村 美咲",
        TYPO_ACTOR,
    ]


def _leaks(text: str) -> list[str]:
    """The personal strings found in ``text`` (as typed, or JSON-escaped)."""
    import json

    found = []
    for s in _personal_strings():
        escaped = json.dumps(s)[1:-1]
        if s in text or escaped in text or escaped.replace("\\u", "\\\\u") in text:
            found.append(s)
    return found


async def _prefect_api_dump(incident: str, *, timeout: float = 180) -> str:
    """Everything Prefect's API serves about the runs: flow runs (parameters, names, states), task
    runs, logs, artifacts, events — raw response bodies, once the incident's events are stored."""
    import time

    from prefect.client.orchestration import get_client

    async with get_client() as client:
        http = client._client
        deadline = time.monotonic() + timeout
        while True:  # events and logs are written in batches: wait for the last ones
            r = await http.post(
                "/events/filter",
                json={
                    "filter": {
                        "event": {"prefix": ["hokoku."]},
                        "resource": {"id": [f"hokoku.incident.{incident}"]},
                        "occurred": {"since": "2000-01-01T00:00:00Z"},
                    },
                    "limit": 50,
                },
            )
            names = {e["event"] for e in r.json()["events"]}
            if {"hokoku.incident.reported", "hokoku.stage.done"} <= names or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(2)
        bodies = []
        for path, body in (
            ("/flow_runs/filter", {"limit": 200}),
            ("/task_runs/filter", {"limit": 200}),
            ("/logs/filter", {"limit": 200}),
            ("/artifacts/filter", {"limit": 200}),
            ("/deployments/filter", {"limit": 200}),
            ("/variables/filter", {"limit": 200}),
        ):
            offset = 0
            while True:
                r = await http.post(path, json={**body, "offset": offset})
                assert r.status_code == 200, (path, r.text[:500])
                bodies.append(r.text)
                if len(r.json()) < body["limit"]:
                    break
                offset += body["limit"]
        page = await http.post(
            "/events/filter", json={"filter": {"occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 50}
        )
        while True:
            assert page.status_code == 200, page.text[:500]
            bodies.append(page.text)
            nxt = page.json().get("next_page")
            if not nxt:
                break
            page = await http.get(nxt)
        return "\n".join(bodies)


def _prefect_store_dump() -> str:
    """Every row of Prefect's own (SQLite) database, plus any persisted result files."""
    import sqlite3
    from pathlib import Path

    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    path = Path(url.split("///", 1)[1])
    assert path.exists(), url
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        parts = list(conn.iterdump())
    finally:
        conn.close()
    for f in path.parent.iterdir():  # the database file and its WAL, byte for byte
        if f.is_file():
            parts.append(f.read_bytes().decode("utf-8", errors="replace"))
    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    if storage.is_dir():
        parts += [f.read_bytes().decode("utf-8", errors="replace") for f in storage.rglob("*") if f.is_file()]
    return "\n".join(parts)


def test_prefect_sees_ids_only_never_report_text_notes_names_or_emails(flow_app):
    """A report (summary, details), a sweep, an acknowledgement, an advance with a note, a refused
    skip with a reason and a refusal quoting a mistyped address, all through the flows: neither
    Prefect's database nor its API holds any of the typed text, names or email addresses."""
    from hokoku.core.exceptions import HokokuError, NotFound, TransitionRefused
    from hokoku.engine.runner import FlowRunner
    from hokoku.services.queries import show_incident

    runner = FlowRunner(flow_app)
    incident = runner.report(
        division="IDS-SURVEY",
        category="malware",
        summary=SECRET_SUMMARY,
        details=SECRET_DETAILS,
        reporter="yoshida@example.org",
        now=T0,
    ).public_id
    runner.tick(now=T0 + timedelta(minutes=15))
    runner.ack(incident_id=incident, actor="nakamura.pm@example.org", now=T0 + timedelta(minutes=16))
    runner.advance(
        incident_id=incident,
        stage="immediate-measures",
        actor="nakamura.pm@example.org",
        now=T0 + timedelta(minutes=40),
        note=SECRET_NOTE,
    )
    with pytest.raises(TransitionRefused):
        runner.advance(
            incident_id=incident,
            stage="containment",
            actor="nakamura.pm@example.org",
            now=T0 + timedelta(minutes=41),
            skip_reason=SECRET_SKIP,
        )
    with pytest.raises(HokokuError) as refused:
        runner.advance(incident_id=incident, stage="containment", actor=TYPO_ACTOR, now=T0 + timedelta(minutes=42))
    assert isinstance(refused.value, NotFound) and TYPO_ACTOR in str(refused.value)  # the user still sees why

    shown = show_incident(flow_app, incident, now=T0 + timedelta(minutes=43))  # the work was done
    assert {s["code"]: s["status"] for s in shown["stages"]}["immediate-measures"] == "done"
    assert shown["summary"] == SECRET_SUMMARY

    api = asyncio.run(_prefect_api_dump(incident))
    assert incident in api and "immediate-measures" in api  # ids and codes are what Prefect sees
    assert "hokoku.stage.done" in api and "apply transition" in api and "Finished in state" in api
    store = _prefect_store_dump()
    assert incident in store and "hokoku.stage.done" in store  # the dump does hold the runs and events
    found = {"Prefect's API": _leaks(api), "Prefect's database": _leaks(store)}
    assert found == {"Prefect's API": [], "Prefect's database": []}
