"""Slack Socket Mode: the same handlers as ``/slack/*``, over a websocket hokoku opens.

With ``HOKOKU_SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with ``connections:write``) set,
``hokoku serve`` connects out to Slack and needs no inbound port. Requests arriving this way
are authenticated by the connection itself (Slack signs nothing here). Each request is
acknowledged at once with the handler's immediate answer (the envelope response), then the
handler's work runs — exactly as the HTTP endpoints do with a background task.

The connection is kept by :class:`SocketModeSupervisor` in a background thread: Slack being
unreachable (or answering without a socket URL) never takes ``hokoku serve`` down; the state
(connected / retrying since T with the last error) is in ``/healthz`` and the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hokoku.app import App
from hokoku.clock import utcnow
from hokoku.core.exceptions import ConfigError
from hokoku.web.context import WebContext
from hokoku.web.slack import handle_command, handle_interaction
from hokoku.web.slackreply import SlackReply

log = logging.getLogger(__name__)


def dispatch_socket_request(ctx: WebContext, client: Any, req: Any) -> SlackReply:
    """Answer one ``SocketModeRequest`` (``type``, ``envelope_id``, ``payload``) and do its work.

    ``client`` needs only ``send_socket_mode_response``; tests pass fakes for both.
    """
    from slack_sdk.socket_mode.response import SocketModeResponse

    payload = req.payload if isinstance(req.payload, dict) else {}
    if req.type == "interactive":
        reply = handle_interaction(ctx, payload)
    elif req.type == "slash_commands":
        reply = handle_command(ctx, {k: str(v) for k, v in payload.items() if v is not None})
    else:  # events_api and anything newer: acknowledge, nothing to do
        reply = SlackReply()
    client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=reply.body))
    if reply.work is not None:
        try:
            reply.work()
        except Exception:
            log.exception("Socket Mode %s request failed after it was acknowledged", req.type)
    return reply


def start_socket_mode(
    app: App, *, notifiers: dict | None = None, clock: Callable[[], datetime] = utcnow, **kwargs: Any
) -> SocketModeSupervisor:
    """Start a :class:`SocketModeSupervisor` (connects in the background; never raises on Slack)."""
    return socket_mode_supervisor(app, notifiers=notifiers, clock=clock, **kwargs).start()


def default_backoff(attempt: int) -> float:
    """Seconds before connection attempt ``attempt + 1`` (1, 2, 4 ... capped at 5 minutes)."""
    return float(min(300, 2 ** max(0, attempt - 1)))


class SocketModeSupervisor:
    """Keeps one Socket Mode connection up in a background thread; never raises to its caller.

    The state is one of ``starting``, ``connected``, ``retrying`` (since the first failure of the
    current run of failures, with the last error) and ``stopped``; :meth:`status` returns it for
    ``/healthz`` and each change is logged. ``connected`` means a websocket session is active —
    an ``apps.connections.open`` answering ``ok`` without a socket URL is a failure, not a
    connection. slack-sdk's own reconnection is off: this loop owns retries, with ``backoff``
    (attempt number -> seconds) between them and ``poll`` seconds between liveness checks.
    """

    def __init__(
        self,
        make_client: Callable[[], Any],
        *,
        clock: Callable[[], datetime] = utcnow,
        backoff: Callable[[int], float] = default_backoff,
        poll: float = 2.0,
        on_change: Callable[[dict], None] | None = None,
    ):
        self._make_client = make_client
        self._clock = clock
        self._backoff = backoff
        self._poll = poll
        self._on_change = on_change
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "state": "starting",
            "since": clock().isoformat(),
            "last_error": None,
            "attempts": 0,
        }
        self.client: Any = None
        self._thread = threading.Thread(target=self._run, name="hokoku-socket-mode", daemon=True)

    # -- public

    def start(self) -> SocketModeSupervisor:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._close_client()
        self._thread.join(timeout=timeout)
        self._set("stopped")

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def wait_for(self, state: str, timeout: float) -> bool:
        """Block until the state is ``state`` (tests); False after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.status()["state"] == state:
                return True
            time.sleep(0.02)
        return self.status()["state"] == state

    # -- the loop

    def _set(self, state: str, *, error: str | None = None) -> None:
        with self._lock:
            previous = self._state["state"]
            now = self._clock().isoformat()
            if state == "retrying":
                self._state["attempts"] += 1
                self._state["last_error"] = error
                if previous != "retrying":
                    self._state["since"] = now
            elif state != previous:
                self._state["since"] = now
                if state == "connected":
                    self._state["attempts"] = 0
            self._state["state"] = state
            snapshot = dict(self._state)
        if state != previous or state == "retrying":
            if state == "retrying":
                log.warning(
                    "Slack Socket Mode: retrying since %s (attempt %d): %s",
                    snapshot["since"],
                    snapshot["attempts"],
                    error,
                )
            else:
                log.info("Slack Socket Mode: %s", state)
            if self._on_change is not None:
                try:
                    self._on_change(snapshot)
                except Exception:
                    log.exception("Socket Mode state report failed")

    def _close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                log.debug("closing the Socket Mode client failed", exc_info=True)

    def _connect_once(self) -> None:
        client = self._make_client()
        self.client = client
        url = client.issue_new_wss_url()  # apps.connections.open
        if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
            raise NoSocketURL("apps.connections.open answered without a socket URL")
        client.wss_uri = url
        client.connect()  # the websocket; raises on any failure
        if not client.is_connected():
            raise ConnectionError("the websocket session did not become active")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._connect_once()
            except Exception as exc:
                self._close_client()
                if self._stop.is_set():
                    break
                self._set("retrying", error=_describe(exc))
                self._stop.wait(self._backoff(self.status()["attempts"]))
                continue
            self._set("connected")
            while not self._stop.wait(self._poll):
                client = self.client
                if client is None or not client.is_connected():
                    break
            if self._stop.is_set():
                break
            self._close_client()
            self._set("retrying", error="the connection was lost")
            self._stop.wait(self._backoff(self.status()["attempts"]))


class NoSocketURL(ConnectionError):
    """``apps.connections.open`` said ``ok`` but gave no websocket URL."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NoSocketURL):
        return str(exc)
    reason = getattr(exc, "reason", None)
    text = f"{type(exc).__name__}: {reason or exc}"
    return text[:500]


def socket_mode_supervisor(
    app: App,
    *,
    notifiers: dict | None = None,
    clock: Callable[[], datetime] = utcnow,
    backoff: Callable[[int], float] = default_backoff,
    poll: float = 2.0,
    on_change: Callable[[dict], None] | None = None,
) -> SocketModeSupervisor:
    """A (not yet started) supervisor whose clients dispatch to :func:`dispatch_socket_request`."""
    from slack_sdk import WebClient
    from slack_sdk.socket_mode import SocketModeClient
    from slack_sdk.socket_mode.client import BaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

    from hokoku.notifiers.registry import build_notifiers
    from hokoku.notifiers.slack import SlackNotifier

    settings = app.settings
    if settings.slack_app_token is None:
        raise ConfigError("HOKOKU_SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-...)")
    notifiers = notifiers if notifiers is not None else build_notifiers(settings)
    ctx = WebContext(app, notifiers, clock)
    slack = notifiers.get("slack")
    token = settings.slack_app_token.get_secret_value()

    def make_client():
        web_client = WebClient(base_url=settings.slack_api_url, timeout=10)
        if isinstance(slack, SlackNotifier):
            web_client = WebClient(token=slack.client.token, base_url=slack.client.base_url, timeout=10)
        web_client.retry_handlers = []  # the supervisor owns retries
        client = SocketModeClient(app_token=token, web_client=web_client, auto_reconnect_enabled=False)

        def listener(c: BaseSocketModeClient, r: SocketModeRequest) -> None:
            dispatch_socket_request(ctx, c, r)

        client.socket_mode_request_listeners.append(listener)
        return client

    return SocketModeSupervisor(make_client, clock=clock, backoff=backoff, poll=poll, on_change=on_change)
