"""Report → first notification delivered, through the Prefect intake flow and the Slack stub.

The path: the async ``27-1 report received`` flow (a Prefect flow run with its task, tags and
events, against a local Prefect server), then the immediate dispatch of that incident's
messages that the web app does after a report, until the Slack stub on loopback has answered
the first ``chat.postMessage`` (the protection manager's notification).

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

    slack = build_notifiers(app.settings)["slack"]
    path, intake_part, floor = [], [], []
    for i in range(warmup + samples):
        # the path
        timed = FirstDelivery(slack)
        start = time.perf_counter()
        now = datetime.now(UTC)
        result = await run_report(
            app,
            division="IDS-SURVEY",
            category="malware",
            summary=f"bench report {i}",
            reporter="yoshida@example.org",
            now=now,
        )
        after_intake = time.perf_counter()
        dispatch(app, now=now, notifiers={"slack": timed}, incident=result.public_id)
        if i >= warmup:
            path.append(timed.first - start)
            intake_part.append(after_intake - start)
        # the floor
        start = time.perf_counter()
        await empty_flow()
        with transaction(app.engine) as session:
            session.add(AlertSource(name=f"bench-{i}", token_sha256=secrets.token_hex(32), created_at=now))
        _post(stub.base_url)
        if i >= warmup:
            floor.append(time.perf_counter() - start)
    return {"path": path, "intake": intake_part, "floor": floor}


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
                with environment(db, slack_bot_token=BOT_TOKEN, slack_api_url=stub.base_url) as env:
                    r = asyncio.run(_measure(env.app, stub, samples, warmup))
                    for name, q in (("p50", 50), ("p99", 99)):
                        p, f = pct(r["path"], q), pct(r["floor"], q)
                        rows.append([db, name, ms(p), ms(pct(r["intake"], q)), ms(f), f"{p / f:.2f}×"])
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
                "report → first delivered",
                "of which the intake flow",
                "floor (empty flow + insert + POST)",
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
