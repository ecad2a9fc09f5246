"""A loopback stand-in for the Slack Web API, for notifier tests.

``SlackStub`` runs an ``http.server.ThreadingHTTPServer`` on ``127.0.0.1`` (free port) in a
thread. It answers ``users.lookupByEmail``, ``users.info``, ``conversations.open``, ``chat.postMessage``,
``chat.update``, ``chat.postEphemeral``, ``views.open`` and ``auth.test`` with plausible
payloads (``apps.connections.open`` answers ``ok`` without a socket URL), records every request, and can be scripted per method::

    stub.rate_limit("chat.postMessage", retry_after=2, times=1)   # 429 + Retry-After
    stub.server_error("chat.postMessage", status=500)               # HTTP 5xx
    stub.slow("chat.postMessage", seconds=0.3)                      # sleep, then answer
    stub.api_error("conversations.open", "user_not_found")          # {"ok": false, ...}
    stub.drop("chat.postMessage")                                   # close without answering
    stub.normal("chat.postMessage", times=1)                        # answer normally (to sequence)

Scripted behaviours apply to the next ``times`` calls of that method (``times=None``: forever),
in the order they were added; then the method answers normally again.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SUPPORTED_METHODS = (
    "users.lookupByEmail",
    "users.info",
    "conversations.open",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.open",
    "auth.test",
    "apps.connections.open",
)

_JSON_FIELDS = ("blocks", "attachments", "metadata", "view")


@dataclass
class RecordedRequest:
    """One request as the stub saw it; JSON-looking form fields (``blocks``...) are decoded."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes


@dataclass
class _Behaviour:
    kind: str  # "rate_limit" | "status" | "slow" | "api_error" | "drop" | "normal"
    remaining: int | None
    retry_after: int = 1
    status: int = 500
    seconds: float = 0.0
    error: str = ""


@dataclass
class _State:
    users: dict[str, str] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    behaviours: dict[str, list[_Behaviour]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ts_counter: itertools.count = field(default_factory=lambda: itertools.count(1))


class SlackStub:
    """The stub server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self) -> None:
        self._state = _State()
        state = self._state

        class Handler(_Handler):
            stub_state = state

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a slow handler must not hold up stop()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-stub", daemon=True
        )

    # -- lifecycle

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> SlackStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- data and scripting

    def add_user(self, email: str, user_id: str) -> None:
        """Make ``users.lookupByEmail`` know ``email`` (case-insensitive)."""
        with self._state.lock:
            self._state.users[email.lower()] = user_id

    def _script(self, method: str, behaviour: _Behaviour) -> None:
        with self._state.lock:
            self._state.behaviours.setdefault(method, []).append(behaviour)

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int | None = 1) -> None:
        """Answer HTTP 429 with ``Retry-After: retry_after``."""
        self._script(method, _Behaviour("rate_limit", times, retry_after=retry_after))

    def server_error(self, method: str, *, status: int = 500, times: int | None = 1) -> None:
        """Answer an HTTP error status with a non-JSON body."""
        self._script(method, _Behaviour("status", times, status=status))

    def slow(self, method: str, *, seconds: float, times: int | None = 1) -> None:
        """Sleep ``seconds`` before answering normally."""
        self._script(method, _Behaviour("slow", times, seconds=seconds))

    def api_error(self, method: str, error: str, *, times: int | None = 1) -> None:
        """Answer HTTP 200 ``{"ok": false, "error": error}``."""
        self._script(method, _Behaviour("api_error", times, error=error))

    def drop(self, method: str, *, times: int | None = 1) -> None:
        """Close the connection without any answer (the client sees RemoteDisconnected)."""
        self._script(method, _Behaviour("drop", times))

    def normal(self, method: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls normally (to script e.g. "second call fails")."""
        self._script(method, _Behaviour("normal", times))

    def restore(self, method: str) -> None:
        """Drop every scripted behaviour of ``method``: it answers normally again (an outage ends)."""
        with self._state.lock:
            self._state.behaviours.pop(method, None)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def calls(self, method: str) -> list[RecordedRequest]:
        """The recorded requests to ``method``, oldest first."""
        return [r for r in self.requests if r.method == method]


class _Handler(BaseHTTPRequestHandler):
    stub_state: _State
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # slack-sdk sends every method as POST
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    # -- request side

    def _parse_body(self, raw: bytes) -> dict[str, Any]:
        content_type = self.headers.get("Content-Type", "")
        if "application/json" in content_type:
            return json.loads(raw.decode("utf-8") or "{}")
        body: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        body.update(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        for name in _JSON_FIELDS:
            if isinstance(body.get(name), str):
                try:
                    body[name] = json.loads(body[name])
                except json.JSONDecodeError:
                    pass
        return body

    def _next_behaviour(self, method: str) -> _Behaviour | None:
        state = self.stub_state
        with state.lock:
            queue = state.behaviours.get(method, [])
            if not queue:
                return None
            behaviour = queue[0]
            if behaviour.remaining is not None:
                behaviour.remaining -= 1
                if behaviour.remaining <= 0:
                    queue.pop(0)
            return behaviour

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        method = urlsplit(self.path).path.rsplit("/", 1)[-1]
        body = self._parse_body(raw)
        state = self.stub_state
        with state.lock:
            state.requests.append(RecordedRequest(method, body, dict(self.headers.items()), raw))

        behaviour = self._next_behaviour(method)
        if behaviour is not None:
            if behaviour.kind == "rate_limit":
                return self._reply(
                    429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(behaviour.retry_after)}
                )
            if behaviour.kind == "status":
                return self._reply_raw(behaviour.status, b"<html>upstream error</html>", "text/html")
            if behaviour.kind == "api_error":
                return self._reply(200, {"ok": False, "error": behaviour.error})
            if behaviour.kind == "drop":
                self.close_connection = True
                return None
            if behaviour.kind == "slow":
                time.sleep(behaviour.seconds)
        self._reply(200, self._answer(method, body))

    # -- response side

    def _next_ts(self) -> str:
        with self.stub_state.lock:
            n = next(self.stub_state.ts_counter)
        return f"1700000000.{n:06d}"

    def _answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        state = self.stub_state
        if method == "users.lookupByEmail":
            with state.lock:
                user_id = state.users.get(str(body.get("email", "")).lower())
            if user_id is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user_id, "profile": {"email": body.get("email")}}}
        if method == "users.info":
            wanted = str(body.get("user", ""))
            with state.lock:
                email = next((e for e, uid in state.users.items() if uid == wanted), None)
            if email is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": wanted, "profile": {"email": email}}}
        if method == "conversations.open":
            first_user = str(body.get("users", "")).split(",")[0]
            if not first_user:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "channel": {"id": "D" + first_user.lstrip("UW")}}
        if method == "chat.postMessage":
            channel = body.get("channel")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            return {
                "ok": True,
                "channel": channel,
                "ts": self._next_ts(),
                "message": {"text": body.get("text"), "blocks": body.get("blocks")},
            }
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0000000001"}}
        if method == "apps.connections.open":  # "ok" but no socket URL: a connection can never be made
            return {"ok": True}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://hokoku-test.slack.com/",
                "team": "hokoku",
                "user": "hokoku-bot",
                "team_id": "T0000000001",
                "user_id": "U0000BOT",
                "bot_id": "B0000000001",
            }
        return {"ok": False, "error": "unknown_method"}

    def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._reply_raw(status, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8", headers)

    def _reply_raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass
