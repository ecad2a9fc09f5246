"""Starting Prefect's local server once (for ``hokoku serve`` and ``hokoku demo --prefect``).

Prefect keeps its own database under ``$HOKOKU_HOME/prefect``, apart from hokoku's. The server
listens on loopback unless ``HOKOKU_PREFECT_HOST`` (or ``serve --prefect-host``) says otherwise,
and its API asks for HTTP basic auth (Prefect's ``PREFECT_SERVER_API_AUTH_STRING``): the string
is ``PREFECT_API_AUTH_STRING`` (or ``PREFECT_SERVER_API_AUTH_STRING``) when set, else one
generated once and kept in ``$HOKOKU_HOME/prefect/api-auth-string`` (mode 0600). Clients —
hokoku's own flow runs, ``prefect`` commands, workers — send it as ``PREFECT_API_AUTH_STRING``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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


AUTH_FILE = "api-auth-string"
AUTH_USER = "hokoku"


def auth_file(home: Path) -> Path:
    return home / "prefect" / AUTH_FILE


def auth_string(home: Path, *, create: bool = False) -> str | None:
    """The basic-auth string (``user:password``) for the Prefect API: from the environment
    (``PREFECT_API_AUTH_STRING``, then ``PREFECT_SERVER_API_AUTH_STRING``), else the file under
    ``home``; with ``create``, a random one is written there (mode 0600) when there is none."""
    for name in ("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING"):
        if os.environ.get(name):
            return os.environ[name]
    path = auth_file(home)
    if path.exists():
        return path.read_text(encoding="utf-8").strip() or None
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    value = f"{AUTH_USER}:{secrets.token_urlsafe(32)}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by a concurrent start: use that one
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value


@contextlib.contextmanager
def client_settings(home: Path):
    """Prefect client settings for hokoku's own flow runs: ``PREFECT_API_AUTH_STRING`` from the file
    ``hokoku serve`` made, when the environment gives none (a no-op otherwise)."""
    value = None if os.environ.get("PREFECT_API_AUTH_STRING") else auth_string(home)
    if value is None:
        yield
        return
    from prefect.settings import PREFECT_API_AUTH_STRING, temporary_settings

    with temporary_settings(updates={PREFECT_API_AUTH_STRING: value}):
        yield


def start_local_server(home: Path, *, port: int | None = None, host: str = "127.0.0.1",
                       timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` (on loopback unless told otherwise), its API behind basic
    auth, and wait until it answers; returns (process, API URL). The caller's clients need
    :func:`auth_string` as ``PREFECT_API_AUTH_STRING``."""
    port = port or _free_port()
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true"),
           "PREFECT_SERVER_API_AUTH_STRING": auth_string(home, create=True)}
    env["PREFECT_API_AUTH_STRING"] = env["PREFECT_SERVER_API_AUTH_STRING"]  # the server's own clients
    env.pop("PREFECT_API_URL", None)
    log = open(prefect_home / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{'[' + local + ']' if ':' in local else local}:{port}/api"
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
