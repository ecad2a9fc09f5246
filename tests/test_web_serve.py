"""Acceptance: a new user runs `hokoku serve --demo` and gets the URL and demo credentials that work."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from hokoku.core.roles import role_label


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reader(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))


@pytest.mark.slow
def test_serve_demo_prints_the_url_and_working_demo_credentials(tmp_path):
    """A fresh HOKOKU_HOME: `serve --demo` initialises, prints the URL and one account per role; they sign in."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOKOKU_") and k != "PREFECT_API_URL"}
    env["HOKOKU_HOME"] = str(tmp_path / "home")
    started = time.monotonic()
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
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(
            line.startswith("  " + role_label("audit_officer", "ja")) for line in seen
        ):
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert proc.poll() is None, "\n".join(seen)
        out = "\n".join(seen)
        assert f"hokoku web: http://127.0.0.1:{port}/" in out, out
        assert "initialised the demo organisation" in out
        password = re.search(r"demo accounts \(one password for all, shown once\): (\S+)", out).group(1)
        for role, email in (
            ("staff", "yoshida@example.org"),
            ("protection_manager", "nakamura.pm@example.org"),
            ("institute_manager", "ito.im@example.org"),
            ("general_manager", "suzuki.gm@example.org"),
            ("director_general", "yamada.dg@example.org"),
            ("audit_officer", "tanaka.audit@example.org"),
        ):
            assert re.search(rf"{role_label(role, 'en')}\s+{re.escape(email)}", out), (role, out)
        ready = time.monotonic() - started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=10) as client:
            page = client.get("/login")
            assert page.status_code == 200
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = client.post(
                "/login", data={"email": "nakamura.pm@example.org", "password": password, "csrf_token": token}
            )
            assert r.status_code == 303 and r.headers["location"] == "/dashboard"
            assert client.get("/dashboard").status_code == 200
        print(f"serve --demo ready in {ready:.1f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_demo_accounts_are_only_made_for_the_demo_organisation(demo_app, tmp_path, monkeypatch):
    """`--demo` on a real organisation's data never resets real people's passwords."""
    from hokoku.engine.serve import demo_accounts

    made = demo_accounts(demo_app)
    assert made is not None
    password, accounts = made
    assert len(password) >= 16 and dict(accounts)["general_manager"] == "suzuki.gm@example.org"

    from hokoku.store.db import transaction

    with transaction(demo_app.engine) as session:
        org = demo_app.organisation(session)
    real = org.model_copy(update={"general_manager": org.general_manager.model_copy(update={"email": "gm@real.go.jp"})})
    monkeypatch.setattr(demo_app, "organisation", lambda session: real)
    assert demo_accounts(demo_app) is None
