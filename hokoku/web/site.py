"""Registers the web app for people (pages, JSON API, sign-in) on hokoku's FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hokoku.web.common import utc_now

STATIC = Path(__file__).resolve().parent / "static"


def install(web: FastAPI, hk, *, clock=None, web_settings=None) -> None:
    """Pages, API, error handlers, size limit, static files; ``web.state.clock`` is injectable."""
    from hokoku.exceptions import NotInitialised
    from hokoku.web import api, casework, pages
    from hokoku.web.auth import ensure_web_tables
    from hokoku.web.config import load_web_settings
    from hokoku.web.errors import install_handlers
    from hokoku.web.security import BodySizeLimit

    if clock is not None:
        web.state.clock = clock
    elif not hasattr(web.state, "clock"):
        ctx = getattr(web.state, "ctx", None)  # the Slack/ack handlers' context holds create_app's clock
        web.state.clock = (lambda: web.state.ctx.clock()) if ctx is not None and hasattr(ctx, "clock") else utc_now
    web.state.web_settings = web_settings or load_web_settings()
    try:
        hk.check_ready()
        ensure_web_tables(hk.engine)
    except NotInitialised:
        pass  # `hokoku init` creates every table; the pages answer 503 until then
    install_handlers(web)
    web.add_middleware(BodySizeLimit, limit=web.state.web_settings.max_body_bytes)
    web.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    web.include_router(api.router)
    web.include_router(pages.router)
    web.include_router(casework.router)
