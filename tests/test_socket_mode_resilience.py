"""Socket Mode never takes ``hokoku serve`` down, and reports its state truthfully.

Slack is either unreachable (a closed loopback port) or the loopback stub, whose
``apps.connections.open`` answers ``ok`` without a socket URL. Backoffs are injected (tiny);
every wait polls with a generous timeout.
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from hokoku.notifiers.registry import build_notifiers
from hokoku.services.dispatch import dispatch
from hokoku.web import create_app
from hokoku.web.socket_mode import start_socket_mode
from tests.channel_helpers import FakeClock, ack_link_path, configure, stage_row
from tests.helpers import PM, T0, minutes, report
from tests.slack_stub import SlackStub
from tests.smtp_sink import SmtpSink, closed_port

pytestmark = pytest.mark.slow

FAST = {"backoff": lambda attempt: 0.05, "poll": 0.05}


def test_unreachable_slack_is_retried_in_the_background_and_healthz_says_retrying_while_ack_links_work(
    demo_app, monkeypatch
):
    """Slack refused at start-up: start returns at once, /healthz says retrying since T with the
    error, attempts go on, and an email acknowledgement link still acknowledges."""
    with SmtpSink() as sink:
        app = configure(
            monkeypatch,
            slack_url=f"http://127.0.0.1:{closed_port()}/api/",
            smtp_port=sink.port,
            slack_app_token="xapp-1-test",
        )
        incident = report(app).public_id
        dispatch(app, now=T0, notifiers=build_notifiers(app.settings), rng=random.Random(1))
        [mail] = [r.message for r in sink.received if PM in r.rcpt_tos]
        web = create_app(app, notifiers=build_notifiers(app.settings), clock=FakeClock(T0 + minutes(3)))
        supervisor = start_socket_mode(app, notifiers=web.state.notifiers, **FAST)
        web.state.socket_mode = supervisor
        try:
            assert supervisor.wait_for("retrying", timeout=60), supervisor.status()
            client = TestClient(web)
            health = client.get("/healthz").json()
            assert health["ok"] is True
            state = health["slack_socket_mode"]
            assert state["state"] == "retrying" and state["since"]
            assert "refused" in state["last_error"].lower() or "urlerror" in state["last_error"].lower(), state
            deadline = time.monotonic() + 60
            while supervisor.status()["attempts"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert supervisor.status()["attempts"] >= 3  # still retrying, in the background
            path = ack_link_path(mail)
            assert client.get(path).status_code == 200  # the confirmation page (prefetch-safe)
            assert client.post(path).status_code == 200
            assert stage_row(app, incident, "acknowledge").status == "done"
        finally:
            supervisor.stop()
        assert supervisor.status()["state"] == "stopped"


def test_an_api_answering_ok_without_a_socket_url_is_never_reported_connected(demo_app, monkeypatch):
    """``apps.connections.open`` → ``{"ok": true}`` with no URL: retrying with that error, and the
    attempts are spaced by the backoff (not a tight loop)."""
    with SlackStub() as stub:
        app = configure(monkeypatch, slack_url=stub.base_url, slack_app_token="xapp-1-test")
        waits: list[int] = []

        def backoff(attempt: int) -> float:
            waits.append(attempt)
            return 0.05

        supervisor = start_socket_mode(app, backoff=backoff, poll=0.05)
        try:
            assert supervisor.wait_for("retrying", timeout=60), supervisor.status()
            deadline = time.monotonic() + 60
            while len(stub.calls("apps.connections.open")) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            status = supervisor.status()
            assert status["state"] == "retrying"
            assert "without a socket URL" in status["last_error"]
            seen = []
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                seen.append(supervisor.status()["state"])
                time.sleep(0.01)
            assert "connected" not in seen
            assert len(stub.calls("apps.connections.open")) <= len(waits) + 1  # one call per backoff
        finally:
            supervisor.stop()


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))


def test_serve_stays_up_when_slack_is_unreachable_at_start_up(tmp_path):
    """`hokoku serve` with an app token and Slack refusing connections keeps serving; /healthz
    reports retrying; the output says so instead of "connected"."""
    from tests.smtp_sink import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKOKU_") and k != "PREFECT_API_URL"}
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(name, None)
    env.update(
        HOKOKU_HOME=str(tmp_path / "home"),
        HOKOKU_SLACK_APP_TOKEN="xapp-1-test",
        HOKOKU_SLACK_API_URL=f"http://127.0.0.1:{closed_port()}/api/",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hokoku.cli", "serve", "--demo", "--no-flows", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        state = None
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
            assert proc.poll() is None, "\n".join(seen)
            if any(line.startswith("hokoku web:") for line in seen):
                try:
                    state = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json().get("slack_socket_mode")
                except httpx.HTTPError:
                    state = None
                if state and state["state"] == "retrying" and any("retrying since" in line for line in seen):
                    break
        out = "\n".join(seen)
        assert state and state["state"] == "retrying", out
        assert "Slack Socket Mode: connected" not in out
        assert proc.poll() is None, out
        assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
