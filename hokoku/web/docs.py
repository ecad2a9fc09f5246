"""``/docs``: Swagger UI for the JSON API, served from this host, to signed-in people only.

FastAPI's default ``/docs`` and ``/redoc`` load unpinned JavaScript from a CDN with an inline
script and no Content-Security-Policy. Here the Swagger UI files come from the
``swagger-ui-bundle`` package (Swagger UI's own ``dist`` files, Apache-2.0), an allow-list of
them is served under ``/docs/assets/``, the start-up code is a file of its own
(``/docs/init.js``), and every answer carries a CSP that allows scripts from this origin only.
``/docs``, its assets and ``/openapi.json`` need a session (or, for ``/openapi.json``, a
personal API token); strangers are sent to the sign-in page (401 for ``/openapi.json``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hokoku.web import security
from hokoku.web.deps import NotSignedIn, find_viewer

#: Swagger UI's style sets inline styles; scripts only from this origin.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hokoku API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""

router = APIRouter(include_in_schema=False)


def assets_dir() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # pragma: no cover - a dependency of hokoku
        return None
    return Path(swagger_ui_path)


def _signed_in(request: Request) -> bool:
    return find_viewer(request) is not None


def _to_login(request: Request) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"/login?next={quote(request.url.path, safe='')}", status_code=303)


@router.get("/docs")
def docs_page(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    return security.security_headers(HTMLResponse(_PAGE), csp=DOCS_CSP)


@router.get("/docs/init.js")
def docs_init(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    return security.security_headers(Response(_INIT, media_type="text/javascript; charset=utf-8"), csp=DOCS_CSP)


@router.get("/docs/assets/{name}")
def docs_asset(name: str, request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    base = assets_dir()
    if name not in ASSETS or base is None or not (base / name).is_file():
        return security.security_headers(Response("not found", status_code=404, media_type="text/plain"))
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("javascript"):
        media += "; charset=utf-8"
    return security.security_headers(Response((base / name).read_bytes(), media_type=media), csp=DOCS_CSP, cache=True)


def install(web: FastAPI) -> None:
    """Replace FastAPI's CDN-backed docs with these routes (call on an app made with
    ``docs_url=None, redoc_url=None, openapi_url=None``)."""

    @web.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> Response:
        if find_viewer(request, allow_token=True) is None:
            raise NotSignedIn("authentication required: sign in, or Authorization: Bearer <personal token>")
        return security.security_headers(JSONResponse(web.openapi()))

    web.include_router(router)
