"""Request hardening: CSRF tokens, a request-size limit, login rate limiting, security headers."""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from fastapi import HTTPException

#: The session cookie (its value's SHA-256 is the ``web_session`` row).
SESSION_COOKIE = "hokoku_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Cookie for the sign-in form's double-submit token (there is no session yet).
LOGIN_CSRF_COOKIE = "hokoku_login_csrf"

#: Content-Security-Policy of the app's own pages: no inline script, nothing from elsewhere.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
#: Drafts are documents: their own inline styles, no script at all.
DRAFT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def csrf_refused(message: str = "CSRF token missing or wrong: reload the page and try again") -> HTTPException:
    return HTTPException(status_code=403, detail=message)


def security_headers(response, *, csp: str = PAGE_CSP, cache: bool = False):
    """Headers every page and API answer of this app carries."""
    response.headers["Content-Security-Policy"] = csp
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("X-Frame-Options", "DENY" if "frame-ancestors 'none'" in csp else "SAMEORIGIN")
    if not cache:
        response.headers["Cache-Control"] = "no-store"
    return response


# -- request-size limit ---------------------------------------------------------------------
class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(status_code=413, detail=f"request body too large (at most {limit} bytes)")


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes with 413.

    A declared ``Content-Length`` over the limit is refused before the app runs; a body sent
    without one (chunked) is counted as it streams and refused when it passes the limit.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await _plain(send, 400, "bad Content-Length")
                if declared > self.limit:
                    return await _too_large(scope, send, self.limit)
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(scope, send, self.limit)


async def _too_large(scope, send, limit: int) -> None:
    if scope.get("path", "").startswith("/api"):
        import json

        body = json.dumps({"error": f"request body too large (at most {limit} bytes)", "field": None}).encode()
        return await _send(send, 413, body, b"application/json")
    return await _plain(send, 413, f"413 request body too large (at most {limit} bytes)")


async def _plain(send, status: int, text: str) -> None:
    await _send(send, status, text.encode(), b"text/plain; charset=utf-8")


async def _send(send, status: int, body: bytes, ctype: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the client's address (X-Forwarded-For only from trusted proxies) --------------------------
def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_ip(scope_or_request, proxies: tuple = ()) -> str:
    """The address a request came from.

    The TCP peer, unless the peer is one of ``proxies`` (``HOKOKU_TRUSTED_PROXIES``): then
    ``X-Forwarded-For`` is read from the right, skipping trusted hops, and the first address
    that is not a trusted proxy is the client. Without trusted proxies the header is ignored
    (uvicorn's own proxy-header handling is switched off in ``hokoku serve``).
    """
    scope = getattr(scope_or_request, "scope", scope_or_request)
    client = scope.get("client")
    peer = str(client[0]) if client else "-"
    peer_ip = _ip(peer)
    if not proxies or peer_ip is None or not any(peer_ip in net for net in proxies):
        return peer[:64]
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(","))
    current = peer
    for hop in reversed(hops):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break  # garbage: keep the last address we could vouch for
        current = str(hop_ip)
        if not any(hop_ip in net for net in proxies):
            break
    return current[:64]
