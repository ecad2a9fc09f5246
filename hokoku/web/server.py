"""How ``hokoku serve`` runs the web app under uvicorn: no proxy-header trust, ack tokens redacted
from the access log."""

from __future__ import annotations


def uvicorn_config(asgi, *, host: str, port: int, **extra):
    """uvicorn's configuration for the web app.

    ``proxy_headers=False``: uvicorn would otherwise believe ``X-Forwarded-For`` from loopback
    (its default ``forwarded_allow_ips``), so anyone on the host — or a proxy passing the
    header through — could pick the client address the sign-in limit counts. hokoku reads the
    header itself, only from ``HOKOKU_TRUSTED_PROXIES`` (:func:`hokoku.web.security.client_ip`).
    The access log redacts acknowledgement-link tokens (:mod:`hokoku.web.logredact`).
    """
    import uvicorn

    from hokoku.web.logredact import uvicorn_log_config

    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        forwarded_allow_ips="",
        server_header=False,
        log_config=uvicorn_log_config(),
        **extra,
    )
