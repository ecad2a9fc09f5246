"""`hokoku serve` as the engine users can watch: the Prefect UI it prints talks to its own API
(behind basic auth) and shows an incident's stage runs under the incident's and the article's
names; serve registers prefect.yaml's deployment list; it stops its Prefect server on SIGTERM,
and after a SIGKILL the next serve stops the orphaned server instead of starting a second one."""

from __future__ import annotations

import base64
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
PM = "nakamura.pm@example.org"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _poll(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


class Serve:
    """One `hokoku serve --demo` subprocess (own session) and its printed lines."""

    def __init__(self, home: Path, env: dict):
        self.home, self.env = home, env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hokoku.cli", "serve", "--demo", "--port", str(_free_port())],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, ""):
            self.lines.put(line.rstrip("\n"))

    def output(self) -> str:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return "\n".join(self.seen)

    def ui(self) -> str:
        def found():
            text = self.output()
            assert self.proc.poll() is None, text[-3000:]
            m = re.search(r"Prefect UI: (http://\S+)", text)
            return m and m.group(1)

        return _poll(found, 240, "serve to print its Prefect UI address")

    def server_pid(self) -> int:
        return int((self.home / "prefect" / "server.pid").read_text().strip())

    def kill(self, sig=signal.SIGTERM, timeout: float = 60):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("serve did not stop within the grace time: " + self.output()[-2000:]) from None


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prefect-ui")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOKOKU_", "PREFECT_"))}
    env.update(
        HOKOKU_HOME=str(tmp / "home"),
        PREFECT_HOME=str(tmp / "prefect-client"),
        PYTHONUNBUFFERED="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    return env


@pytest.fixture(scope="module")
def served(env):
    serve = Serve(Path(env["HOKOKU_HOME"]), env)
    try:
        base = serve.ui()
        secret = (serve.home / "prefect" / "api-auth-string").read_text().strip()
        yield serve, base, secret
    finally:
        if serve.proc.poll() is None:
            serve.kill(signal.SIGKILL)
        try:
            from hokoku.engine.prefect_server import stop_stale_server

            stop_stale_server(serve.home)
        except Exception:
            pass


def _outbox_statuses(home: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(home / "hokoku.db") as db:
        return {status for (status,) in db.execute("SELECT status FROM notification")}


def _cli(env, api, *args) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "hokoku.cli", *args],
        env={**env, "PREFECT_API_URL": api},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def test_serve_registers_exactly_the_deployments_of_prefect_yaml(served):
    """The deployments serve registers on its Prefect server are prefect.yaml's, by name."""
    import yaml

    serve, base, secret = served
    wanted = {d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]}
    header = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}

    def registered():
        r = httpx.post(base + "/api/deployments/filter", json={}, headers=header, timeout=30)
        assert r.status_code == 200, r.text
        names = {d["name"] for d in r.json()}
        return names if names >= wanted else None

    assert _poll(registered, 240, "serve to register its deployments") == wanted


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium")
def test_prefect_ui_printed_by_serve_shows_the_incidents_stage_runs_by_name(served, env):
    """A report's messages are sent by a dispatch run serve wakes at once (not its minute schedule);
    opened in Chromium, the printed Prefect UI signs in with the auth string, shows no connection
    error, and lists the incident's runs named '<incident> · <article>'."""
    playwright = pytest.importorskip("playwright.sync_api")
    serve, base, secret = served
    api = base + "/api"
    out = _cli(
        env,
        api,
        "report",
        "--division",
        "IDS-SURVEY",
        "--category",
        "malware",
        "--summary",
        "PC-17 shows a ransom note",
        "--reporter",
        "yoshida@example.org",
        "--json",
    )
    incident = re.search(r'"incident": "(INC-\d{4}-\d{4})"', out).group(1)
    _cli(env, api, "ack", incident, "--as", PM)
    names = [f"{incident} · 27-1 report received", f"{incident} · 27-1 acknowledgement by the protection manager"]

    header = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}

    def woken():  # a dispatch run serve started itself (no deployment: not the minute schedule) sent them
        r = httpx.post(
            api + "/flow_runs/filter",
            headers=header,
            timeout=30,
            json={"flows": {"name": {"any_": ["dispatch"]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
        )
        return any(run["deployment_id"] is None for run in r.json()) and _outbox_statuses(serve.home) == {"sent"}

    _poll(woken, 120, "serve's wake-up dispatch to deliver the report's messages")
    r = httpx.post(
        api + "/flow_runs/filter",
        headers=header,
        timeout=30,
        json={"flow_runs": {"tags": {"all_": [incident]}}, "sort": "START_TIME_ASC"},
    )
    runs = r.json()
    assert set(names) <= {run["name"] for run in runs}, [run["name"] for run in runs]
    assert all(run["name"].startswith(f"{incident} · ") for run in runs)  # every stage run named for it
    assert {run["state_type"] for run in runs} == {"COMPLETED"}

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(base + "/")
            password = page.locator("input[type=password]")
            password.wait_for(timeout=60_000)  # the UI asks for the API's basic-auth string
            password.fill(secret)
            page.get_by_role("button", name="Login").click()
            page.goto(base + "/runs")
            for name in names:
                page.get_by_text(name).first.wait_for(timeout=60_000)
            body = page.inner_text("body")
            assert "Can't connect to Server API" not in body
            assert "Authentication failed" not in body
            shots = ROOT / "test-artifacts" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "prefect-ui-runs.png"), full_page=True)
        finally:
            browser.close()


def test_serve_after_sigkill_stops_the_orphaned_prefect_server_and_sigterm_stops_its_own(served, env):
    """SIGKILL leaves serve's Prefect server running (nothing can catch it); the next serve on the same
    home stops that server before starting one; SIGTERM then stops serve and its server's whole group."""
    serve, _base, _secret = served
    orphan = serve.server_pid()
    serve.kill(signal.SIGKILL)
    assert _alive(orphan)  # what a SIGKILL leaves behind

    second = Serve(serve.home, env)
    try:
        second.ui()
        assert not _alive(orphan), "the orphaned Prefect server still runs beside the new one"
        mine = second.server_pid()
        assert mine != orphan
        second.kill(signal.SIGTERM)
        assert second.proc.returncode is not None
        assert not _alive(mine), "serve left its Prefect server running after SIGTERM"
        assert not (serve.home / "prefect" / "server.pid").exists()
    finally:
        if second.proc.poll() is None:
            second.kill(signal.SIGKILL)


def test_demo_with_prefect_shows_the_chain_not_prefects_logs_and_exits(tmp_path):
    """`hokoku demo --prefect`: the scenario's lines only — no Prefect INFO lines, no ERROR or
    traceback for the deliberate refused acknowledgement — and it exits 0 with its server stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOKOKU_", "PREFECT_"))}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PYTHONUNBUFFERED="1",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        HOKOKU_LANG="en",
        TMPDIR=str(tmp_path),
    )
    out = subprocess.run(
        [sys.executable, "-m", "hokoku.cli", "demo", "--prefect"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "| INFO" not in text and "| ERROR" not in text and "Traceback" not in text, text[-3000:]
    assert "INC-" in out.stdout
    leftovers = []  # a process whose environment names the demo's home (its Prefect server) outlived it
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(tmp_path).encode() in Path(f"/proc/{pid}/environ").read_bytes():
                leftovers.append(pid)
        except OSError:
            continue
    assert leftovers == [], "the demo's Prefect server outlived it"
