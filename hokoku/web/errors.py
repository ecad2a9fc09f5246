"""Errors as answers: JSON with the field at fault for the API, an error page for browsers.

NotFound → 404, InputError → 422, TransitionRefused → 403 ("may not") or 409, Forbidden → 403,
NotSignedIn → 401 (API) or a redirect to the sign-in page, RateLimited / LoginThrottled → 429
with Retry-After, NotInitialised → 503. Pydantic validation errors name the field.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hokoku.core.exceptions import ConfigError, HokokuError, InputError, NotFound, NotInitialised, TransitionRefused
from hokoku.services.websessions import LoginFailed, LoginThrottled
from hokoku.web.common import Forbidden
from hokoku.web.deps import NotSignedIn, get_app, get_lang
from hokoku.web.pagebase import render_error
from hokoku.web.security import security_headers

_FIELD = re.compile(r"^--?([a-z][a-z0-9_-]*):|^([a-z][a-z0-9_]*):")
_UNKNOWN = re.compile(r"^unknown (division|category|incident|person|stage)\b")


class FieldError(InputError):
    """An input error that names the field at fault."""

    def __init__(
        self, field: str | None, message: str | None = None, status: int = 422, *, key: str | None = None, **params
    ):
        super().__init__(message, key=key, **params)
        self.field = field
        self.status = status


def field_of(exc: Exception) -> str | None:
    if isinstance(exc, FieldError):
        return exc.field
    text = str(exc)
    m = _FIELD.match(text)
    if m:
        return (m.group(1) or m.group(2)).replace("-", "_")
    m = _UNKNOWN.match(text)
    if m and m.group(1) in ("division", "category", "stage"):
        return m.group(1)
    return None


def status_of(exc: HokokuError) -> int:
    from hokoku.services.alerts import RateLimited

    if isinstance(exc, FieldError):
        return exc.status
    if isinstance(exc, NotSignedIn | LoginFailed):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, RateLimited | LoginThrottled):
        return 429
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, TransitionRefused):
        return 403 if " may not " in f" {exc} " else 409
    if isinstance(exc, NotInitialised):
        return 503
    if isinstance(exc, ConfigError):
        return 500
    return 400


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path == "/api" or path.startswith("/slack"):
        return True
    if path.startswith(("/incidents", "/dashboard", "/report", "/login", "/logout", "/leadership", "/audit", "/ack")):
        return False
    return "text/html" not in request.headers.get("accept", "")


def json_error(
    status: int, message: str, field: str | None = None, headers: dict | None = None, **extra
) -> JSONResponse:

    body = {"error": message, "field": field, **extra}
    return security_headers(JSONResponse(body, status_code=status, headers=headers))


def _page_error(request: Request, status: int, message: str, headers: dict | None = None):
    return render_error(request, status, message, headers=headers)


async def hokoku_error(request: Request, exc: HokokuError):
    status = status_of(exc)
    headers = {}
    retry = getattr(exc, "retry_after", None)
    if status == 429 and retry:
        headers["Retry-After"] = str(int(retry))
    if wants_json(request):
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return json_error(status, str(exc), field_of(exc), headers=headers or None)
    if isinstance(exc, NotSignedIn):
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _page_error(request, status, exc.localized(get_lang(request)), headers=headers or None)


async def http_error(request: Request, exc: StarletteHTTPException):
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = getattr(exc, "headers", None)
    if wants_json(request):
        return json_error(exc.status_code, message, None, headers=headers)
    return _page_error(request, exc.status_code, message, headers=headers)


def _loc_field(loc) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


async def validation_error(request: Request, exc: RequestValidationError):
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _loc_field(first.get("loc", ()))
    message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
    if wants_json(request):
        detail = [{"field": _loc_field(e.get("loc", ())), "error": e.get("msg")} for e in errors]
        return json_error(422, message, field, errors=detail)
    return _page_error(request, 422, message)


async def database_error(request: Request, exc: Exception):
    """A database error on a data directory that was never initialised is a 503, not a 500."""
    try:
        get_app(request).check_ready()
    except NotInitialised as missing:
        return await hokoku_error(request, missing)
    except Exception:
        pass
    raise exc


def install_handlers(web) -> None:
    from hokoku.services.dberrors import DatabaseError

    web.add_exception_handler(DatabaseError, database_error)
    web.add_exception_handler(HokokuError, hokoku_error)
    web.add_exception_handler(StarletteHTTPException, http_error)
    web.add_exception_handler(RequestValidationError, validation_error)
