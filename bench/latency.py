"""Report → first notification delivered to the Slack stub, through ``hokoku serve``'s own path.

The path (what a report through the web form or the API runs in ``hokoku serve``): the intake
service commits the report — with its ``flow_trigger`` rows, from which the pump makes the
stage's Prefect flow run afterwards (``HOKOKU_FLOW_TRIGGERS=1``, as with a Prefect server) —
then the response's background task delivers that incident's messages with the dispatch code
(:func:`hokoku.web.context.deliver_after`), until the Slack stub on loopback has answered the
first ``chat.postMessage`` (the protection manager's notification).

Beside it, for comparison: the same report through the async ``27-1 report received`` flow
(a Prefect flow run with its task, tags and events, against a local Prefect server — the CLI's
path when ``PREFECT_API_URL`` is set) and then the same immediate dispatch.

The floor, measured in the same run: an empty async Prefect flow, one database insert (one
row, one transaction, same engine) and one HTTP POST to the same stub.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.request
from datetime import UTC, datetime

from bench.common import ROOT, environment, ms, pct, table

BOT_TOKEN = "xoxb-bench-0000"


class FirstDelivery:
    """Wraps the Slack notifier; remembers when the first send of a sample returned."""

    def __init__(self, inner):
        self.inner, self.channel, self.first = inner, inner.channel, None

    def send(self, message):
        result = self.inner.send(message)
        if self.first is None:
            self.first = time.perf_counter()
        return result

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _post(url: str) -> None:
    body = json.dumps({"channel": "D0BENCH", "text": "floor"}).encode()
    req = urllib.request.Request(
        url + "chat.postMessage",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {BOT_TOKEN}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


async def _measure(app, stub, samples: int, warmup: int) -> dict:
    from prefect import flow

    from hokoku.flows.intake import run_report
    from hokoku.models.casework import AlertSource
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.services.dispatch import dispatch
    from hokoku.store.db import transaction

    @flow(name="bench-empty")
    async def empty_flow():
        return None

    from hokoku.services.intake import report_incident
    from hokoku.web.context import WebContext

    slack = build_notifiers(app.settings)["slack"]
    path, flow_path, intake_part, floor = [], [], [], []
    for i in range(warmup + samples):
        # serve's path: commit the report (and its flow-trigger rows), deliver at once
        timed = FirstDelivery(slack)
        start = time.perf_counter()
        now = datetime.now(UTC)
        result = report_incident(
            app,
            division="IDS-SURVEY",
            category="malware",
            summary=f"bench report {i}",
            reporter="yoshida@example.org",
            now=now,
            entry="staff",
            source="web",
        )
        WebContext(app, {"slack": timed}).deliver(incident=result.public_id)  # deliver_after's task
        if i >= warmup:
            path.append(timed.first - start)
        # the same through the Prefect intake flow (the CLI's path with PREFECT_API_URL)
        timed = FirstDelivery(slack)
        start = time.perf_counter()
        now = datetime.now(UTC)
        result = await run_report(
            app,
            division="IDS-SURVEY",
            category="malware",
            summary=f"bench report {i} (flow)",
            reporter="yoshida@example.org",
            now=now,
        )
        after_intake = time.perf_counter()
        dispatch(app, now=now, notifiers={"slack": timed}, incident=result.public_id)
        if i >= warmup:
            flow_path.append(timed.first - start)
            intake_part.append(after_intake - start)
        # the floor
        start = time.perf_counter()
        await empty_flow()
        with transaction(app.engine) as session:
            session.add(AlertSource(name=f"bench-{i}", token_sha256=secrets.token_hex(32), created_at=now))
        _post(stub.base_url)
        if i >= warmup:
            floor.append(time.perf_counter() - start)
    return {"path": path, "flow_path": flow_path, "intake": intake_part, "floor": floor}


def run(dbs: list[str], *, quick: bool) -> str:
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from bench.common import drain_prefect, quiet_prefect_console, record
    from hokoku.engine.prefect_server import auth_string, start_local_server
    from tests.slack_stub import SlackStub

    quiet_prefect_console()

    samples, warmup = (20, 3) if quick else (200, 10)
    out = [f"### 1. Report → first notification delivered ({samples} reports per database, {warmup} warm-up)\n"]
    import tempfile
    from pathlib import Path

    prefect_home = Path(tempfile.mkdtemp(prefix="hokoku-bench-prefect-"))
    started = time.perf_counter()
    server, api = start_local_server(prefect_home)
    out.append(f"Prefect server (its own SQLite database) started in {time.perf_counter() - started:.1f} s.\n")
    rows = []
    try:
        with (
            SlackStub() as stub,
            temporary_settings({PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: auth_string(prefect_home)}),
        ):
            for db in dbs:
                with environment(db, slack_bot_token=BOT_TOKEN, slack_api_url=stub.base_url, flow_triggers="1") as env:
                    r = asyncio.run(_measure(env.app, stub, samples, warmup))
                    for name, q in (("p50", 50), ("p99", 99)):
                        p, f, fp = pct(r["path"], q), pct(r["floor"], q), pct(r["flow_path"], q)
                        rows.append(
                            [
                                db,
                                name,
                                ms(p),
                                ms(f),
                                f"{p / f:.2f}×",
                                ms(fp),
                                ms(pct(r["intake"], q)),
                                f"{fp / f:.2f}×",
                            ]
                        )
                        record(
                            f"report → first delivered through the intake flow, {name}",
                            db=db,
                            figure=fp,
                            unit="s",
                            ratio=fp / f,
                            baseline="empty async flow + insert + POST",
                        )
                        record(
                            f"report → first delivered, {name}",
                            db=db,
                            figure=p,
                            unit="s",
                            ratio=p / f,
                            baseline="empty async flow + insert + POST",
                            target=1.5 if name == "p99" else None,
                        )
    finally:
        drain_prefect()
        server.terminate()
        server.wait(15)
    out.append(
        table(
            [
                "database",
                "percentile",
                "report → first delivered (serve's path)",
                "floor (empty flow + insert + POST)",
                "ratio",
                "through the intake flow",
                "of which the flow",
                "ratio",
            ],
            rows,
        )
    )
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    print(run(["sqlite"], quick=True))
