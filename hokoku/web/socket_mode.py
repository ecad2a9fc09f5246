"""Slack Socket Mode: the same handlers as ``/slack/*``, over a websocket hokoku opens.

With ``HOKOKU_SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with ``connections:write``) set,
``hokoku serve`` connects out to Slack and needs no inbound port. Requests arriving this way
are authenticated by the connection itself (Slack signs nothing here). Each request is
acknowledged at once with the handler's immediate answer (the envelope response), then the
handler's work runs — exactly as the HTTP endpoints do with a background task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hokoku.app import App
from hokoku.exceptions import ConfigError
from hokoku.web.context import WebContext, utcnow
from hokoku.web.slack import SlackReply, handle_command, handle_interaction

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
        except Exception:  # noqa: BLE001 - one bad request must not stop the listener
            log.exception("Socket Mode %s request failed after it was acknowledged", req.type)
    return reply


def start_socket_mode(app: App, *, notifiers: dict | None = None,
                      clock: Callable[[], datetime] = utcnow):
    """Connect a ``SocketModeClient`` whose listener is :func:`dispatch_socket_request`."""
    from slack_sdk import WebClient
    from slack_sdk.socket_mode import SocketModeClient

    from notifiers.registry import build_notifiers

    settings = app.settings
    if settings.slack_app_token is None:
        raise ConfigError("HOKOKU_SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-...)")
    notifiers = notifiers if notifiers is not None else build_notifiers(settings)
    ctx = WebContext(app, notifiers, clock)
    slack = notifiers.get("slack")
    web_client = slack.client if slack is not None else WebClient(base_url=settings.slack_api_url)
    client = SocketModeClient(app_token=settings.slack_app_token.get_secret_value(), web_client=web_client)
    client.socket_mode_request_listeners.append(lambda c, r: dispatch_socket_request(ctx, c, r))
    client.connect()
    return client
