"""Registers the web app for people (pages, JSON API, sign-in) on hokoku's FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


def install(web: FastAPI, hk, *, web_settings=None) -> None:
    """Pages, API, error handlers, size limit, static files (the clock is ``web.state.clock``, set by
    :func:`hokoku.web.create_app`)."""
    from hokoku.config.web import load_web_settings
    from hokoku.core.exceptions import NotInitialised
    from hokoku.web import api, casework, pages, responders
    from hokoku.web.errors import install_handlers

    web.state.web_settings = web_settings or load_web_settings()
    try:
        hk.check_ready()  # a wrong data key or schema refuses to start; migrations create every table
    except NotInitialised:
        pass  # not initialised yet: the pages answer 503 until `hokoku init`
    install_handlers(web)
    from hokoku.web import docs

    docs.install(web)  # /docs from local files under a CSP, signed-in only; /openapi.json signed-in only
    web.add_middleware(_PathLimits, default=web.state.web_settings.max_body_bytes)
    web.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    web.include_router(api.router)
    web.include_router(pages.router)
    web.include_router(casework.router)
    web.include_router(responders.router)


class _PathLimits:
    """The request-size limit (``BodySizeLimit``) per path: evidence uploads may be larger, and the
    report form gets room to come back with every typed word and a message instead of a bare 413."""

    def __init__(self, app, default: int):
        import re

        from hokoku.services.responders import MAX_EVIDENCE_BYTES
        from hokoku.web.security import BodySizeLimit

        self._default = BodySizeLimit(app, default)
        self._wider = [
            (re.compile(r"^/incidents/[^/]+/evidence$"), BodySizeLimit(app, MAX_EVIDENCE_BYTES + 64 * 1024)),
            (re.compile(r"^/report$"), BodySizeLimit(app, max(default, 1024 * 1024))),
        ]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for pattern, limiter in self._wider:
                if pattern.match(scope.get("path", "")):
                    return await limiter(scope, receive, send)
        return await self._default(scope, receive, send)
