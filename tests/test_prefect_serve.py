"""`hokoku serve` keeps Prefect's API to itself: its local Prefect server listens on loopback and
answers only requests carrying the basic-auth string (kept in $HOKOKU_HOME, mode 0600), while
hokoku's own flow runs — the served deployments, a CLI report run through the flows — still work."""

from __future__ import annotations

import base64
import os
import queue
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))


def _outside_address() -> str | None:
    """An address of this host that is not loopback (None when there is none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _poll(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(1)


@pytest.mark.slow
def test_serve_prefect_api_refuses_requests_without_the_auth_string_and_listens_on_loopback(tmp_path):
    """No credentials: 401 (health still answers). With the generated string (file mode 0600):
    served deployments are there, and `hokoku report` with PREFECT_API_URL runs its flow and events."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOKOKU_", "PREFECT_"))}
    env.update(
        HOKOKU_HOME=str(home),
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PYTHONUNBUFFERED="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hokoku.cli", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []

    def prefect_line():
        while True:
            try:
                seen.append(lines.get_nowait())
            except queue.Empty:
                break
        assert proc.poll() is None, "\n".join(seen)
        return next((m for line in seen if (m := re.search(r"Prefect UI: (http://\S+)", line))), None)

    try:
        base = _poll(prefect_line, 240, "serve to start Prefect's server").group(1)
        api = base + "/api"
        assert base.startswith("http://127.0.0.1:"), base
        auth_file = home / "prefect" / "api-auth-string"
        assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
        secret = auth_file.read_text().strip()
        assert secret.startswith("hokoku:") and len(secret) > 30
        assert str(auth_file) in "\n".join(seen)  # serve says where the string is, never the string itself
        assert secret.split(":", 1)[1] not in "\n".join(seen)

        header = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
        with httpx.Client(base_url=api, timeout=30) as http:
            assert http.get("/health").status_code == 200
            for path in ("/flow_runs/filter", "/task_runs/filter", "/logs/filter", "/events/filter"):
                assert http.post(path, json={}).status_code == 401, path
                wrong = {"Authorization": "Basic " + base64.b64encode(b"hokoku:guess").decode()}
                assert http.post(path, json={}, headers=wrong).status_code == 401, path

            def served():  # serve's own Prefect client authenticates: it registered the deployments
                r = http.post("/deployments/filter", json={}, headers=header)
                assert r.status_code == 200, r.text
                return {d["name"] for d in r.json()} >= {"hokoku-sweep", "hokoku-dispatch", "hokoku-intake"}

            _poll(served, 180, "serve to register its deployments")

            outside = _outside_address()
            if outside is not None:  # loopback only: the host's other address does not answer
                with pytest.raises(httpx.TransportError):
                    httpx.get(f"http://{outside}:{base.rsplit(':', 1)[1]}/api/health", timeout=5)

            # the CLI, told only PREFECT_API_URL, runs the report through the flow with the stored string
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "hokoku.cli",
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
                ],
                env={**env, "PREFECT_API_URL": api},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
            incident = re.search(r'"incident": "(INC-\d{4}-\d{4})"', out.stdout).group(1)

            def settled():  # the intake run, then a run recording each stage the report started (issue 14;
                # the CLI's pump and serve's share the rows, so the last may still be running)
                r = http.post("/flow_runs/filter", headers=header, json={"flow_runs": {"tags": {"all_": [incident]}}})
                states = [run["state_type"] for run in r.json()]
                assert "FAILED" not in states and "CRASHED" not in states, r.text
                return set(states) == {"COMPLETED"} and r.json()

            runs = _poll(settled, 120, "the incident's flow runs to complete")
            assert [run["name"] for run in runs if "intake" in run["tags"]] == [f"{incident} · 27-1 report received"]

            def reported():  # its events went through the authenticated websocket
                r = http.post(
                    "/events/filter",
                    headers=header,
                    json={
                        "filter": {
                            "event": {"name": ["hokoku.incident.reported"]},
                            "resource": {"id": [f"hokoku.incident.{incident}"]},
                            "occurred": {"since": "2000-01-01T00:00:00Z"},
                        }
                    },
                )
                return r.status_code == 200 and r.json()["events"]

            _poll(reported, 120, "the incident.reported event")
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
