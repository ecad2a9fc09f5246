"""``hokoku serve``: the flows on their schedules plus the web endpoints, on embedded defaults.

Starts Prefect's local server once (unless ``PREFECT_API_URL`` names one), serves the sweep
and dispatch flows every minute and the intake and stage flows on demand, and runs the web
app on ``--host/--port``.
"""

from __future__ import annotations

import os
import threading
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


def serve(*, host: str, port: int, demo: bool) -> None:
    app = _ensure_initialised(demo)
    proc = None
    if not os.environ.get("PREFECT_API_URL"):
        from hokoku.prefect_server import start_local_server

        print("starting Prefect's local server (once)...", flush=True)
        proc, url = start_local_server(app.settings.home)
        os.environ["PREFECT_API_URL"] = url
        print(f"Prefect UI: {url.removesuffix('/api')}", flush=True)

    import uvicorn

    from hokoku.web import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(app), host=host, port=port, log_level="info"))
    threading.Thread(target=server.run, name="hokoku-web", daemon=True).start()
    print(f"hokoku web: http://{host}:{port}/", flush=True)

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
