"""Prefect in its production form: a Prefect server on PostgreSQL, ``prefect.yaml`` deployed,
two process workers, and hokoku's own database on PostgreSQL.

The slow test starts ``prefect server start`` with ``PREFECT_API_DATABASE_CONNECTION_URL`` on
a scratch PostgreSQL database (asyncpg), creates the ``hokoku`` work pool, runs
``prefect --no-prompt deploy --all`` on the repository's ``prefect.yaml`` and starts two
``prefect worker start --pool hokoku --type process --limit 2`` workers. It then triggers the
sweep, dispatch (several runs at once, so both workers take some) and documents deployments
and checks that every run completed and did its work: each reminder queued once, every message
delivered once, the draft written. About a minute on an idle 2-CPU machine (most of it
Prefect's own start-up and one Python process per flow run); the time is printed beside
``BUDGET`` (the brief: under 3 minutes) but not asserted: on a loaded machine (a parallel run,
other jobs) the same correct run takes longer, and a test that fails for that proves nothing
about hokoku. Waiting gives up only after ``HANG_GUARD`` seconds, which only a hung server or
worker reaches.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hokoku.models.notification import Notification
from hokoku.store.db import transaction
from tests import pgscratch
from tests.helpers import T0, minutes, report

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 170  # seconds for the whole test on an idle machine (the brief: under 3 minutes); reported
HANG_GUARD = 900  # seconds before the waits give up (a hung server or worker, not a slow one)
AUTH = "hokoku:test-" + os.urandom(12).hex()  # the recipe's PREFECT_SERVER_API_AUTH_STRING / PREFECT_API_AUTH_STRING


def test_draft_document_renders_and_writes(demo_app, tmp_path):
    """The documents flow's work without Prefect: a summary draft, returned or written to a path."""
    from hokoku.flows.documents import draft_document

    pid = report(demo_app).public_id
    returned = draft_document(demo_app, kind="summary", incident_id=pid.lower(), now=T0 + minutes(5))
    assert returned["incident"] == pid and returned["chars"] == len(returned["text"]) > 100
    assert pid in returned["text"]
    written = draft_document(
        demo_app,
        kind="ppc-preliminary",
        incident_id=pid,
        now=T0 + minutes(5),
        lang="en",
        fmt="html",
        out=str(tmp_path / "drafts" / "prelim.html"),
    )
    assert "text" not in written and Path(written["path"]).read_text(encoding="utf-8").lstrip().startswith("<!")


# -- the production set-up -------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Procs:
    """Child processes in their own sessions, stopped (their whole group) at exit."""

    def __init__(self, logdir: Path):
        self.logdir, self.procs = logdir, []

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "ab")
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _wait_health(url: str, proc: subprocess.Popen, deadline: float, procs: Procs) -> None:
    while time.monotonic() < deadline:
        assert proc.poll() is None, procs.log("server")[-3000:]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("Prefect server did not start in time:\n" + procs.log("server")[-3000:])


def _status_without_auth(url: str) -> int:
    import urllib.error

    req = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _prefect(args: list[str], env: dict, timeout: float) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "prefect", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"prefect {' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


async def _run_all(api: str, calls: list[tuple[str, dict]], timeout: float) -> list:
    """Trigger deployment runs at once; wait until all are final; return the flow runs."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: AUTH}):
        runs = [await run_deployment(name, parameters=params, timeout=0) for name, params in calls]
        deadline = time.monotonic() + timeout
        async with get_client() as client:
            while True:
                states = [await client.read_flow_run(r.id) for r in runs]
                if all(s.state and s.state.is_final() for s in states) or time.monotonic() > deadline:
                    return states
                await asyncio.sleep(0.5)


@pytest.mark.slow
@pytest.mark.postgres
def test_prefect_server_on_postgres_with_two_workers_runs_the_deployments(pg_app, tmp_path):
    """prefect.yaml deployed to a Prefect server on PostgreSQL; two process workers run sweep,
    dispatch (split between them) and documents; each reminder is queued once, every message is
    delivered once, the draft is written."""
    started = time.monotonic()
    deadline = started + HANG_GUARD
    base = pgscratch.base_url()
    prefect_db = pgscratch.create_database(base, prefix="hokoku_prefect")
    procs = Procs(tmp_path)
    try:
        asyncpg_url = prefect_db.replace("postgresql+psycopg://", "postgresql+asyncpg://", 1)
        port = _free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_HOME=str(tmp_path / "prefect-home"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_ENABLED="false",
            PREFECT_API_DATABASE_CONNECTION_URL=asyncpg_url,
            PREFECT_LOGGING_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            PREFECT_SERVER_API_AUTH_STRING=AUTH,
        )
        server = procs.start(
            "server",
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env,
        )
        _wait_health(api, server, deadline, procs)
        server_up = time.monotonic() - started

        assert _status_without_auth(f"{api}/flow_runs/filter") == 401  # the API asks for the auth string
        client_env = {**env, "PREFECT_API_URL": api, "PREFECT_API_AUTH_STRING": AUTH}
        client_env.pop("PREFECT_API_DATABASE_CONNECTION_URL")
        client_env.pop("PREFECT_SERVER_API_AUTH_STRING")
        _prefect(["work-pool", "create", "hokoku", "--type", "process"], client_env, HANG_GUARD)
        _prefect(
            ["--no-prompt", "deploy", "--all", "--prefect-file", str(ROOT / "prefect.yaml")],
            {**client_env, "HOKOKU_CODE_DIR": str(ROOT)},
            HANG_GUARD,
        )
        worker_env = {
            **client_env,
            "HOKOKU_CODE_DIR": str(ROOT),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        }  # HOKOKU_HOME / HOKOKU_DATABASE_URL: pg_app's
        for name in ("worker-1", "worker-2"):
            procs.start(
                name,
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "worker",
                    "start",
                    "--pool",
                    "hokoku",
                    "--type",
                    "process",
                    "--name",
                    name,
                    "--limit",
                    "2",
                ],
                worker_env,
            )

        # hokoku's data: six reports at T0 on PostgreSQL
        ids = [report(pg_app, now=T0 + timedelta(seconds=i)).public_id for i in range(6)]
        remaining = lambda: deadline - time.monotonic()  # noqa: E731

        (swept,) = asyncio.run(
            _run_all(api, [("sweep/hokoku-sweep", {"now": (T0 + minutes(16)).isoformat()})], remaining())
        )
        assert swept.state.is_completed(), swept.state
        with transaction(pg_app.engine) as session:
            # the incidents' messages only: a scheduled live sweep of the deployed schedule may also queue
            # the daily audit-checkpoint mail (no incident), dated on the real clock
            pending = session.execute(
                select(func.count())
                .select_from(Notification)
                .where(Notification.status == "pending", Notification.incident_id.is_not(None))
            ).scalar_one()
            reminders = (
                session.execute(select(Notification.idempotency_key).where(Notification.kind == "reminder"))
                .scalars()
                .all()
            )
        assert sorted(k.split(":")[0] for k in reminders) == ids

        batch = 8
        runs = math.ceil(pending / batch) + 1
        dispatched = asyncio.run(
            _run_all(
                api,
                [("dispatch/hokoku-dispatch", {"now": (T0 + minutes(17)).isoformat(), "limit": batch})] * runs
                + [
                    (
                        "documents: draft/hokoku-documents",
                        {
                            "kind": "summary",
                            "incident_id": ids[0],
                            "now": (T0 + minutes(17)).isoformat(),
                            "out": str(tmp_path / "draft.md"),
                        },
                    )
                ],
                remaining(),
            )
        )
        assert all(r.state.is_completed() for r in dispatched), [(r.name, r.state_name) for r in dispatched]
        with transaction(pg_app.engine) as session:
            statuses = Counter(
                session.execute(select(Notification.status).where(Notification.incident_id.is_not(None))).scalars()
            )
            kinds = Counter(session.execute(select(Notification.kind, Notification.status)).all())
        assert statuses == {"sent": pending}, kinds
        assert ids[0] in (tmp_path / "draft.md").read_text(encoding="utf-8")

        by_worker = {
            name: len(set(re.findall(r"flow run '([0-9a-f-]{36})'", procs.log(name))))
            for name in ("worker-1", "worker-2")
        }
        elapsed = time.monotonic() - started
        print(
            f"\nPrefect server on PostgreSQL up in {server_up:.1f}s; {1 + len(dispatched)} runs; "
            f"runs per worker {by_worker}; messages {pending} delivered once; total {elapsed:.1f}s "
            f"(budget on an idle machine {BUDGET}s, load average {os.getloadavg()[0]:.1f})"
        )
        assert all(by_worker.values()), f"a worker ran nothing: {by_worker}"
    finally:
        procs.stop()
        pgscratch.drop_database(prefect_db)
