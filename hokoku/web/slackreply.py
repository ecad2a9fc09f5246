"""Answering Slack: the reply a handler returns, and reaching one Slack user (shared by
:mod:`hokoku.web.slack` and :mod:`hokoku.web.slackcmd`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hokoku.services.organisation import organisation
from hokoku.web.context import WebContext

log = logging.getLogger("hokoku.web.slack")


@dataclass
class SlackReply:
    """The immediate answer to Slack (None: an empty 200) and the work to do after it."""

    body: dict[str, Any] | None = None
    work: Callable[[], None] | None = None


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text}


# -- people -----------------------------------------------------------------------------------
def person_for_slack_user(ctx: WebContext, user_id: str) -> str | None:
    """The organisation email of a Slack user: by ``slack_id``, else ``users.info`` → email."""
    people = organisation(ctx.app).people()
    for email, person in people.items():
        if person.slack_id and person.slack_id == user_id:
            return email
    if ctx.slack is None:
        return None
    email = ctx.slack.user_email(user_id)
    return email if email in people else None


def tell(
    ctx: WebContext,
    text: str,
    *,
    user_id: str,
    channel_id: str | None = None,
    response_url: str | None = None,
    prefer_response_url: bool = False,
) -> None:
    """An ephemeral message to ``user_id``: ``chat.postEphemeral`` or the ``response_url``."""
    ways: list[str] = ["ephemeral", "response_url"]
    if prefer_response_url:
        ways.reverse()
    for way in ways:
        try:
            if way == "ephemeral" and channel_id and ctx.slack is not None:
                ctx.slack.post_ephemeral(channel=channel_id, user=user_id, text=text)
                return
            if way == "response_url" and response_url:
                from slack_sdk.webhook import WebhookClient

                response = WebhookClient(response_url, timeout=5).send_dict(
                    {"response_type": "ephemeral", "replace_original": False, "text": text}
                )
                if response.status_code < 400:
                    return
        except Exception as exc:
            log.warning("could not tell Slack user %s (%s): %s", user_id, way, exc)
    log.warning("no way to tell Slack user %s: %s", user_id, text)
