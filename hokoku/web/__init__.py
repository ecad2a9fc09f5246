"""hokoku's web endpoints (FastAPI), served by ``hokoku serve``."""

from __future__ import annotations

from fastapi import FastAPI


def create_app(app=None) -> FastAPI:
    """The ASGI app; ``app`` is a :class:`hokoku.app.App` (from the environment when None)."""
    from hokoku.app import open_app

    hk = app or open_app()
    web = FastAPI(title="hokoku", version="0.1.0")
    web.state.hokoku = hk

    @web.get("/healthz")
    def healthz() -> dict:
        hk.check_ready()
        return {"ok": True}

    return web
