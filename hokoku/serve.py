"""``hokoku serve``: the flows on their schedules plus the web endpoints, on embedded defaults.

Starts Prefect's local server once (unless ``PREFECT_API_URL`` names one), serves the sweep
and dispatch flows every minute and the intake and stage flows on demand, and runs the web
app on ``--host/--port``. ``--demo`` also makes a sign-in account for one person per role of
the demo organisation and prints them with their (generated) password; ``--no-flows`` serves
the web app only.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

from hokoku.app import open_app
from hokoku.exceptions import NotInitialised


def _ensure_initialised(demo: bool):
    app = open_app()
    try:
        app.check_ready()
    except NotInitialised:
        if not demo:
            raise
        from hokoku.services.setup import init

        init(app, org_file=None, demo=True, now=datetime.now(timezone.utc))
        print(f"initialised the demo organisation in {app.settings.home}")
    return app


#: The roles that get a demo account with ``serve --demo`` (the first holder of each).
DEMO_ROLES = ("staff", "protection_manager", "protection_officer", "institute_manager", "general_manager",
              "director_general", "audit_officer")


def demo_accounts(app, *, now: datetime | None = None) -> tuple[str, list[tuple[str, str]]] | None:
    """Sign-in accounts for one person per role of the bundled demo organisation, all with one
    new generated password; returns (password, [(role, email)]), or None for another organisation
    (``--demo`` never touches the accounts of real people)."""
    import secrets

    from hokoku.db import transaction
    from hokoku.web.auth import ensure_demo_users

    with transaction(app.engine) as session:
        org = app.organisation(session)
    if not all(email.endswith("@example.org") for email in org.people()):
        return None
    chosen: dict[str, str] = {}
    for person, role, _scope, deputy in org.assignments():
        if not deputy and role.value in DEMO_ROLES:
            chosen.setdefault(role.value, person.email)
    accounts = [(role, chosen[role]) for role in DEMO_ROLES if role in chosen]
    password = "demo-" + secrets.token_urlsafe(12)
    ensure_demo_users(app, emails=[email for _, email in accounts], password=password,
                      now=now or datetime.now(timezone.utc))
    return password, accounts


def print_demo_accounts(app, demo: tuple[str, list[tuple[str, str]]] | None) -> None:
    from hokoku.roles import role_label

    if demo is None:
        print("demo accounts: not created (the organisation here is not the bundled demo organisation)", flush=True)
        return
    password, accounts = demo
    lines = [f"demo accounts (one password for all, shown once): {password}"]
    for role, email in accounts:
        lines.append(f"  {role_label(role, 'ja')} / {role_label(role, 'en'):<20} {email}")
    print("\n".join(lines), flush=True)


def serve(*, host: str, port: int, demo: bool, flows: bool = True, prefect_host: str | None = None) -> None:
    """``flows=False`` (``--no-flows``) serves the web app only (workers run the flows elsewhere).

    Prefect's local server listens on ``prefect_host`` (default ``HOKOKU_PREFECT_HOST``, else
    loopback) and its API asks for basic auth (:mod:`hokoku.prefect_server`)."""
    app = _ensure_initialised(demo)
    proc = None
    if flows and not os.environ.get("PREFECT_API_URL"):
        from hokoku.prefect_server import auth_file, auth_string, start_local_server

        print("starting Prefect's local server (once)...", flush=True)
        proc, url = start_local_server(app.settings.home, host=prefect_host or app.settings.prefect_host)
        os.environ["PREFECT_API_URL"] = url
        given = [name for name in ("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING") if os.environ.get(name)]
        shown = f"${given[0]}" if given else str(auth_file(app.settings.home))
        os.environ.setdefault("PREFECT_API_AUTH_STRING", auth_string(app.settings.home))  # before prefect is imported
        print(f"Prefect UI: {url.removesuffix('/api')} (basic auth: the string in {shown})", flush=True)

    import uvicorn

    from hokoku.web import create_app
    from hokoku.web.server import uvicorn_config

    server = uvicorn.Server(uvicorn_config(create_app(app), host=host, port=port))  # hokoku.web.server
    web_thread = threading.Thread(target=server.run, name="hokoku-web", daemon=True)
    web_thread.start()
    for _ in range(200):  # print the address once it answers (at most ~10 s)
        if server.started or not web_thread.is_alive():
            break
        time.sleep(0.05)
    if not web_thread.is_alive():
        if proc is not None:
            proc.terminate()
        from hokoku.exceptions import HokokuError

        raise HokokuError(f"the web server could not start on {host}:{port} (is the port in use?)")
    print(f"hokoku web: http://{host}:{port}/", flush=True)
    if demo:  # only once this server answers: a second `serve --demo` that fails keeps the first's password
        print_demo_accounts(app, demo_accounts(app))
    if app.settings.slack_app_token is not None:  # Slack over an outbound websocket: no inbound port needed
        from hokoku.web.socket_mode import start_socket_mode

        start_socket_mode(app)
        print("Slack Socket Mode: connected", flush=True)

    if not flows:
        try:
            web_thread.join()
        finally:
            server.should_exit = True
        return

    from prefect import serve as prefect_serve

    from flows.dispatch import dispatch_flow
    from flows.intake import intake_flow
    from flows.stages import STAGE_FLOWS
    from flows.sweep import sweep_flow

    try:
        prefect_serve(
            sweep_flow.to_deployment(name="hokoku-sweep", interval=60),
            dispatch_flow.to_deployment(name="hokoku-dispatch", interval=60),
            intake_flow.to_deployment(name="hokoku-intake"),
            *[f.to_deployment(name=f"hokoku-{code}") for code, f in STAGE_FLOWS.items()],
        )
    finally:
        server.should_exit = True
        if proc is not None:
            proc.terminate()
