"""``hokoku serve``: the flows on their schedules plus the web endpoints, on embedded defaults.

Starts Prefect's local server once (unless ``PREFECT_API_URL`` names one), serves the sweep
and dispatch flows every minute and the intake and stage flows on demand, and runs the web
app on ``--host/--port``. ``--demo`` also makes a sign-in account for one person per role of
the demo organisation and prints them with their (generated) password; ``--no-flows`` serves
the web app only.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime

from hokoku.app import open_app
from hokoku.clock import utcnow
from hokoku.core.exceptions import HokokuError, NotInitialised
from hokoku.core.statuses import NotificationStatus
from hokoku.store.db import transaction


def _ensure_initialised(demo: bool):
    app = open_app()
    try:
        app.check_ready()
    except NotInitialised:
        if not demo:
            raise
        from hokoku.services.setup import init

        init(app, org_file=None, demo=True, now=utcnow())
        print(f"initialised the demo organisation in {app.settings.home}")
    return app


#: The roles that get a demo account with ``serve --demo`` (the first holder of each).
DEMO_ROLES = (
    "staff",
    "protection_manager",
    "protection_officer",
    "institute_manager",
    "general_manager",
    "director_general",
    "audit_officer",
)


def demo_accounts(app, *, now: datetime | None = None) -> tuple[str, list[tuple[str, str]]] | None:
    """Sign-in accounts for one person per role of the bundled demo organisation, all with one
    new generated password; returns (password, [(role, email)]), or None for another organisation
    (``--demo`` never touches the accounts of real people)."""
    import secrets

    from hokoku.services.accounts import ensure_demo_users

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
    ensure_demo_users(app, emails=[email for _, email in accounts], password=password, now=now or utcnow())
    return password, accounts


def print_demo_accounts(app, demo: tuple[str, list[tuple[str, str]]] | None) -> None:
    from hokoku.core.roles import role_label

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
    loopback) and its API asks for basic auth (:mod:`hokoku.engine.prefect_server`)."""
    app = _ensure_initialised(demo)
    held: dict = {}

    def stop_on(signum, _frame):  # SIGTERM as SIGINT: stop cleanly (the runner later takes SIGTERM over)
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop_on)
    try:
        _serve(app, held, host=host, port=port, demo=demo, flows=flows, prefect_host=prefect_host)
    except KeyboardInterrupt:
        pass
    finally:
        if held.get("pump_stop") is not None:
            held["pump_stop"].set()
        if held.get("server") is not None:
            held["server"].should_exit = True
        if held.get("socket_mode") is not None:
            held["socket_mode"].stop(timeout=2)
        _stop(app, held.get("proc"), held.get("lock"))


def _serve(app, held: dict, *, host: str, port: int, demo: bool, flows: bool, prefect_host: str | None) -> None:
    """serve's work; what must be stopped is put in ``held`` as soon as it exists."""
    if flows and not os.environ.get("PREFECT_API_URL"):
        from hokoku.engine.prefect_server import auth_file, auth_string, serve_lock, start_local_server

        held["lock"] = serve_lock(app.settings.home)  # one serve per Prefect database
        print("starting Prefect's local server (once)...", flush=True)
        proc, url = start_local_server(app.settings.home, host=prefect_host or app.settings.prefect_host)
        held["proc"] = proc
        os.environ["PREFECT_API_URL"] = url
        os.environ.setdefault("PREFECT_UI_URL", url.removesuffix("/api"))
        given = [name for name in ("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING") if os.environ.get(name)]
        shown = f"${given[0]}" if given else str(auth_file(app.settings.home))
        os.environ.setdefault(
            "PREFECT_API_AUTH_STRING", auth_string(app.settings.home, create=True)
        )  # before prefect is imported
        print(f"Prefect UI: {url.removesuffix('/api')} (basic auth: the string in {shown})", flush=True)

    import uvicorn

    from hokoku.web import create_app
    from hokoku.web.server import uvicorn_config

    web = create_app(app)
    server = held["server"] = uvicorn.Server(uvicorn_config(web, host=host, port=port))  # hokoku.web.server
    web_thread = threading.Thread(target=server.run, name="hokoku-web", daemon=True)
    web_thread.start()
    for _ in range(200):  # print the address once it answers (at most ~10 s)
        if server.started or not web_thread.is_alive():
            break
        time.sleep(0.05)
    if not web_thread.is_alive():
        raise HokokuError(f"the web server could not start on {host}:{port} (is the port in use?)")
    print(f"hokoku web: http://{host}:{port}/", flush=True)
    if demo:  # only once this server answers: a second `serve --demo` that fails keeps the first's password
        print_demo_accounts(app, demo_accounts(app))
    if app.settings.slack_app_token is not None:  # Slack over an outbound websocket: no inbound port needed
        from hokoku.web.socket_mode import start_socket_mode

        def report(status: dict) -> None:  # each change of state, as it happens
            if status["state"] == "retrying":
                print(
                    f"Slack Socket Mode: retrying since {status['since']} (attempt {status['attempts']}): "
                    f"{status['last_error']}",
                    flush=True,
                )
            else:
                print(f"Slack Socket Mode: {status['state']}", flush=True)

        print("Slack Socket Mode: connecting in the background (state: /healthz)", flush=True)
        web.state.socket_mode = held["socket_mode"] = start_socket_mode(
            app, notifiers=web.state.notifiers, on_change=report
        )

    if not flows:
        web_thread.join()
        return

    from prefect import serve as prefect_serve

    from hokoku.engine.deployments import build_deployments

    quiet_prefect_logs()
    stop = held["pump_stop"] = threading.Event()
    threading.Thread(target=pump_loop, args=(app, stop), name="hokoku-flow-pump", daemon=True).start()
    prefect_serve(*build_deployments(app.policy))  # prefect.yaml's list, for the policy in force


def _pending_outbox(app, now: datetime) -> bool:
    from sqlalchemy import and_, or_, select

    from hokoku.models.notification import Notification

    with transaction(app.engine) as session:
        due = and_(
            Notification.status == NotificationStatus.PENDING,
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
        )
        return session.execute(select(Notification.id).where(due).limit(1)).first() is not None


def pump_loop(app, stop: threading.Event, *, every: float = 1.0) -> None:
    """Every second: waiting ``flow_trigger`` rows become stage flow runs (:mod:`hokoku.services.flowtriggers`),
    and a due outbox row wakes a dispatch flow run at once (the minute schedule stays the safety net)."""
    import asyncio
    import logging

    from hokoku.flows.dispatch import dispatch_flow
    from hokoku.flows.stages import record_transition
    from hokoku.services.flowtriggers import pump

    log = logging.getLogger("hokoku.serve")

    async def loop():
        while not stop.is_set():
            try:
                if _pending_outbox(app, utcnow()):
                    await dispatch_flow()
                await pump(app, record=record_transition)
            except Exception:  # Prefect or the database away: the rows wait for the next round
                log.warning("flow pump round failed", exc_info=True)
            await asyncio.sleep(every)

    asyncio.run(loop())


def _stop(app, proc, lock) -> None:
    """Stop Prefect's local server (its whole process group) and release the serve lock."""
    if proc is not None:
        from hokoku.engine.prefect_server import stop_local_server

        stop_local_server(app.settings.home, proc)
    elif lock is not None:  # interrupted while it was starting: the pid file names it
        from hokoku.engine.prefect_server import stop_stale_server

        stop_stale_server(app.settings.home)
    if lock is not None:
        lock.close()


def quiet_prefect_logs() -> None:
    """Prefect's own INFO lines (runner polling, flow-run states) off the console: warnings and up."""
    import logging

    for name in (
        "prefect",
        "prefect.flow_runs",
        "prefect.task_runs",
        "prefect.runner",
        "prefect.deployment",
        "prefect.events",
        "httpx",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
