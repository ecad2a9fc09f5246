"""hokoku's web endpoints (FastAPI), served by ``hokoku serve``.

* ``GET /healthz``
* ``POST /slack/interactions``, ``POST /slack/commands`` — Slack, signed (``hokoku.web.slack``)
* ``GET /ack/{token}`` (confirmation page), ``POST /ack/{token}`` (acknowledges) — email links
  (``hokoku.web.ack``)
* ``/login``, ``/report``, ``/dashboard``, ``/incidents/{id}``, ``/leadership``, ``/audit`` — pages
  for people, signed in (``hokoku.web.pages``, ``hokoku.services.websessions``)
* ``/api/...`` — the JSON API (personal tokens; ``POST /api/alerts`` for monitors) (``hokoku.web.api``)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI


def create_app(app=None, *, notifiers: dict | None = None, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The ASGI app; ``app`` is a :class:`hokoku.app.App` (from the environment when None).

    ``notifiers`` default to those the settings configure; ``clock`` (aware UTC) defaults to
    the system clock — tests inject both.
    """
    from hokoku.app import open_app
    from hokoku.clock import utcnow
    from hokoku.notifiers.registry import build_notifiers
    from hokoku.web import ack, logredact, slack

    logredact.install()  # ack-link tokens never reach the access log
    hk = app or open_app()
    web = FastAPI(title="hokoku", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None)
    # What every request depends on (hokoku.web.deps): the application, its notifiers, the clock.
    web.state.hokoku = hk
    web.state.notifiers = notifiers if notifiers is not None else build_notifiers(hk.settings)
    web.state.clock = clock or utcnow

    web.state.socket_mode = None  # hokoku.engine.serve sets its SocketModeSupervisor here

    @web.get("/healthz")
    def healthz() -> dict:
        hk.check_ready()
        body: dict = {"ok": True}
        supervisor = web.state.socket_mode
        if supervisor is not None:  # the truthful state: connected, or retrying since T with the last error
            body["slack_socket_mode"] = supervisor.status()
        return body

    web.include_router(slack.router)
    web.include_router(ack.router)

    # The web app for people: sign-in, pages, JSON API (hokoku.web.site)
    from hokoku.web.site import install as install_site

    install_site(web, hk)
    return web
