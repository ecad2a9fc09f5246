"""Starting Prefect's local server once (for ``hokoku serve`` and ``hokoku demo --prefect``).

Prefect keeps its own database under ``$HOKOKU_HOME/prefect``, apart from hokoku's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hokoku.exceptions import HokokuError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local_server(home: Path, *, port: int | None = None, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` on loopback and wait until it answers; returns (process, API URL)."""
    port = port or _free_port()
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true")}
    env.pop("PREFECT_API_URL", None)
    log = open(prefect_home / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HokokuError(f"Prefect server exited early (status {proc.returncode}); see {prefect_home / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise HokokuError(f"Prefect server did not answer within {timeout:.0f} s; see {prefect_home / 'server.log'}")
