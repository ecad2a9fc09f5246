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
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Literal, overload

from hokoku.core.exceptions import HokokuError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


AUTH_FILE = "api-auth-string"
PID_FILE = "server.pid"
AUTH_USER = "hokoku"


def auth_file(home: Path) -> Path:
    return home / "prefect" / AUTH_FILE


@overload
def auth_string(home: Path, *, create: Literal[True]) -> str: ...
@overload
def auth_string(home: Path, *, create: bool = False) -> str | None: ...
def auth_string(home: Path, *, create: bool = False) -> str | None:
    """The basic-auth string (``user:password``) for the Prefect API: from the environment
    (``PREFECT_API_AUTH_STRING``, then ``PREFECT_SERVER_API_AUTH_STRING``), else the file under
    ``home``; with ``create``, a random one is written there (mode 0600) when there is none."""
    for name in ("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING"):
        if os.environ.get(name):
            return os.environ[name]
    path = auth_file(home)
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if text or not create:
            return text or None
        raise HokokuError(f"{path} is empty: delete it (a new one is made) or write user:password in it")
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


def start_local_server(
    home: Path, *, port: int | None = None, host: str = "127.0.0.1", timeout: float = 120
) -> tuple[subprocess.Popen, str]:
    """Start ``prefect server start`` (on loopback unless told otherwise), its API behind basic
    auth, and wait until it answers; returns (process, API URL). The caller's clients need
    :func:`auth_string` as ``PREFECT_API_AUTH_STRING``."""
    port = port or _free_port()
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true"),
        "PREFECT_SERVER_API_AUTH_STRING": auth_string(home, create=True),
    }
    env["PREFECT_API_AUTH_STRING"] = env["PREFECT_SERVER_API_AUTH_STRING"]  # the server's own clients
    env.pop("PREFECT_API_URL", None)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{'[' + local + ']' if ':' in local else local}:{port}/api"
    # the UI asks /ui-settings where its API is: without this it tries http://127.0.0.1:4200/api
    env.update(
        PREFECT_UI_API_URL=url,
        PREFECT_SERVER_UI_API_URL=url,
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
    )
    env.pop("PREFECT_UI_URL", None)
    stop_stale_server(home)  # a server left by a killed `serve` must not share this Prefect database
    log = open(prefect_home / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (prefect_home / PID_FILE).write_text(f"{proc.pid}\n", encoding="utf-8")  # its own process group
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _forget(home, proc.pid)
            raise HokokuError(
                f"Prefect server exited early (status {proc.returncode}); see {prefect_home / 'server.log'}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    stop_local_server(home, proc)
    raise HokokuError(f"Prefect server did not answer within {timeout:.0f} s; see {prefect_home / 'server.log'}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_prefect_server(pid: int) -> bool:
    """Whether ``pid`` is a ``prefect server start`` (so a recycled pid is never killed)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)  # no /proc: trust the pid file
    return b"prefect" in b" ".join(cmdline) and b"server" in cmdline and b"start" in cmdline


def _forget(home: Path, pid: int) -> None:
    path = home / "prefect" / PID_FILE
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text().strip()) == pid:
            path.unlink()


def _kill_group(pgid: int, *, grace: float = 10.0) -> None:
    """SIGTERM the process group ``pgid`` (the server and every process it started), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pgid, os.WNOHANG)  # reap our own child so the group can empty
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def stop_stale_server(home: Path) -> int | None:
    """Stop the Prefect server a previous ``serve`` started under ``home`` and never stopped (it was
    SIGKILLed): the pid file names its process group. Returns the pid stopped, if any."""
    path = home / "prefect" / PID_FILE
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    stopped = None
    if _alive(pid) and _is_prefect_server(pid):
        _kill_group(pid)
        stopped = pid
    with contextlib.suppress(OSError):
        path.unlink()
    return stopped


def stop_local_server(home: Path, proc: subprocess.Popen, *, grace: float = 10.0) -> None:
    """Stop the server :func:`start_local_server` started: its whole process group, then the pid file."""
    if proc.poll() is None or _group_alive(proc.pid):
        _kill_group(proc.pid, grace=grace)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _forget(home, proc.pid)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def serve_lock(home: Path):
    """An exclusive lock on ``$HOKOKU_HOME/prefect/serve.lock`` held for the life of ``serve`` (the
    kernel drops it when the process dies, even by SIGKILL). A second ``serve`` on the same Prefect
    database is refused while the first runs; once the first is gone, its leftover server (pid file)
    is stopped before a new one starts. Returns the open file (close it to release)."""
    import fcntl

    path = home / "prefect" / "serve.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise HokokuError(f"another `hokoku serve` is running on {home} (its lock: {path})") from None
    return f
