"""Slack channel: a direct message with Block Kit buttons, through ``slack_sdk.WebClient``.

Delivery model
--------------
* The **DM is the delivery.** ``send`` resolves the recipient (``recipient_slack_id`` or
  ``users.lookupByEmail``, cached per notifier), opens the DM with ``conversations.open`` (once
  per person: the DM channel id is cached; a ``channel_not_found`` drops it and is retried) and
  posts there. ``provider_id`` is ``"slack:<dm_channel_id>:<ts>"`` of that post.
* **Threads.** A message with ``thread_ref`` (``"slack:<channel>:<ts>"`` as returned by ``send``,
  or the bare ``"<channel>:<ts>"``) is posted as a reply in that thread. It is only threaded when
  the thread lives in the recipient's own DM; otherwise it is posted top-level in the DM, so a
  reminder can never leak into somebody else's conversation.
* **Incident channel.** Personal DMs are never copied to a channel. A message with
  ``conversation`` (the incident thread of :mod:`hokoku.services.incidentthread`) is posted in
  that channel instead of a DM; :meth:`SlackNotifier.update_message` keeps its parent current.
* **No retries here.** slack-sdk's own retry handlers are disabled; the dispatcher owns retries
  and is told what to do through :class:`~hokoku.notifiers.base.DeliveryError`.

User text is made inert with :func:`escape_mrkdwn` (``&``, ``<``, ``>`` per Slack's formatting
rules), so ``<!channel>``, ``<@U123>`` or ``<script>`` in an incident description render
literally instead of pinging people or forming links.

Error mapping (see :func:`map_slack_error`): HTTP 429 -> transient with ``retry_after`` from the
``Retry-After`` header; ``ok: false`` with an error code in :data:`PERMANENT_ERRORS` -> permanent;
other 4xx HTTP statuses (except 408) -> permanent; HTTP 5xx, other ``ok: false`` codes, connection
errors and timeouts -> transient.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from hokoku.i18n import t
from hokoku.notifiers.base import Action, DeliveryError, DeliveryResult, OutgoingMessage, split_quote

log = logging.getLogger(__name__)

#: ``ok: false`` error codes that retrying cannot fix (recipient, token or channel problems,
#: or a message Slack will never accept).
PERMANENT_ERRORS = frozenset(
    {
        # named by the specification
        "user_not_found",
        "users_not_found",
        "channel_not_found",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "no_permission",
        "missing_scope",
        "is_archived",
        "not_in_channel",
        # also permanent by nature (documented Slack error codes)
        "token_expired",
        "user_disabled",
        "user_not_visible",
        "cannot_dm_bot",
        "restricted_action",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)

#: Block Kit limits (characters) — longer values make Slack reject the whole message.
HEADER_MAX = 150
SECTION_MAX = 3000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
FALLBACK_TEXT_MAX = 3000

#: The action that gets the primary (green) style.
ACKNOWLEDGE_ACTION_ID = "acknowledge"

_TRAILING_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


# --------------------------------------------------------------------------- pure helpers


def escape_mrkdwn(text: str) -> str:
    """Make user text inert in Slack ``mrkdwn``: escape ``&``, ``<`` and ``>`` (in that order).

    Slack only interprets ``<...>`` sequences (mentions, ``<!channel>``, links) and entities, so
    after this no user text can ping anyone or form a link; it renders literally.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _truncate_escaped(escaped: str, limit: int) -> str:
    """Like :func:`_truncate` but never cuts an ``&amp;``/``&lt;``/``&gt;`` entity in half."""
    if len(escaped) <= limit:
        return escaped
    cut = _TRAILING_PARTIAL_ENTITY.sub("", escaped[: limit - 1])
    return cut + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    """A ``plain_text`` object (never parsed for mentions or links)."""
    return {"type": "plain_text", "text": _truncate(text, limit) or " ", "emoji": True}


def _button(action: Action, *, allow_style: bool = True) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action.action_id,
        "text": _plain(action.label, BUTTON_TEXT_MAX),
    }
    if action.value is not None:
        element["value"] = action.value[:BUTTON_VALUE_MAX]
    if action.url is not None:
        element["url"] = action.url
    if allow_style and action.action_id == ACKNOWLEDGE_ACTION_ID:
        element["style"] = "primary"
    return element


def _content_blocks(subject: str, text: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if subject.strip():
        blocks.append({"type": "header", "text": _plain(subject, HEADER_MAX)})
    if text.strip():
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _truncate_escaped(escape_mrkdwn(text), SECTION_MAX)},
            }
        )
    return blocks


def build_blocks(message: OutgoingMessage, *, links_only: bool = False) -> list[dict[str, Any]]:
    """Block Kit blocks for ``message``: header (subject), section (escaped text), actions, and
    after them any quotation of user text (:func:`hokoku.notifiers.base.split_quote`).

    ``links_only`` keeps only URL buttons (used for the shared incident-channel copy).
    The actions block is omitted when there are no (remaining) actions.
    """
    own, quoted = split_quote(message.text)
    blocks = _content_blocks(message.subject, own)
    actions = [a for a in message.actions if not links_only or a.url is not None]
    if actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": "hokoku_actions",
                "elements": [_button(a) for a in actions[:25]],
            }
        )
    if quoted.strip():  # text somebody typed: after the genuine buttons, set apart
        blocks.append({"type": "divider"})
        blocks.extend(_content_blocks("", quoted))
    return blocks


def format_ack_line(*, who: str, at: datetime, lang: str) -> str:
    """``"✅ <who> acknowledged at <time>"`` (or its Japanese form), ``who`` escaped."""
    when = at.strftime("%Y-%m-%d %H:%M")
    zone = at.tzname() if at.tzinfo is not None else None
    if zone:
        when = f"{when} {zone}"
    name = escape_mrkdwn(who)
    return t("slack.acked_line", lang, name=name, when=when)


def build_acknowledged_blocks(
    *, text: str, lang: str, who: str, at: datetime, subject: str | None = None
) -> list[dict[str, Any]]:
    """Blocks replacing an acknowledged message: the content kept, a ✅ context line, no actions."""
    blocks = _content_blocks(subject or "", text)
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format_ack_line(who=who, at=at, lang=lang)}],
        }
    )
    return blocks


def parse_slack_ref(ref: str) -> tuple[str, str]:
    """``"slack:<channel>:<ts>"`` or ``"<channel>:<ts>"`` -> ``(channel, ts)``; ValueError if not."""
    parts = ref.split(":")
    if len(parts) == 3 and parts[0] == "slack":
        parts = parts[1:]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"not a Slack message reference: {ref!r}")
    return parts[0], parts[1]


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup (values may be strings or one-element lists)."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    raw = _header(headers, "Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def map_slack_error(exc: BaseException, *, method: str) -> DeliveryError:
    """Translate a slack-sdk / transport exception raised by ``method`` into a DeliveryError."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None)
        headers = getattr(response, "headers", None)
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if status == 429 or code == "ratelimited":
            return DeliveryError(f"slack {method}: rate limited", retry_after=_retry_after(headers))
        if isinstance(status, int) and status >= 500:
            return DeliveryError(f"slack {method}: HTTP {status}")
        if isinstance(status, int) and 400 <= status < 500 and status != 408:
            return DeliveryError(f"slack {method}: HTTP {status}", permanent=True)
        if code in PERMANENT_ERRORS:
            return DeliveryError(f"slack {method}: {code}", permanent=True)
        return DeliveryError(f"slack {method}: {code or f'HTTP {status}'}")
    if isinstance(exc, SlackRequestError):  # malformed base URL / proxy: configuration
        return DeliveryError(f"slack {method}: {exc}", permanent=True)
    if isinstance(exc, (URLError, OSError, http.client.HTTPException)):
        # URLError wraps refused connections and connect timeouts; socket.timeout (TimeoutError),
        # resets and RemoteDisconnected are OSError / HTTPException.
        reason = getattr(exc, "reason", None) or exc
        return DeliveryError(f"slack {method}: connection failed: {reason}")
    return DeliveryError(f"slack {method}: {type(exc).__name__}: {exc}")


#: What a Slack call may raise because of Slack or the network (everything else is a bug).
_TRANSPORT_ERRORS = (SlackClientError, URLError, OSError, http.client.HTTPException)


# --------------------------------------------------------------------------- the notifier


class SlackNotifier:
    """Delivers :class:`OutgoingMessage` as Slack DMs; see the module docstring for the model."""

    channel = "slack"

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://slack.com/api/",
        incident_channel: str | None = None,
        timeout: float = 10,
    ):
        self.incident_channel = incident_channel
        # slack_sdk annotates the timeout as int; it hands it to urllib, which takes seconds as a float
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout)  # type: ignore[arg-type]
        self.client.retry_handlers = []  # the dispatcher owns retries
        self._user_ids: dict[str, str] = {}
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id (a DM's id does not change)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SlackNotifier(base_url={self.client.base_url!r}, incident_channel={self.incident_channel!r}, token='***')"
        )

    # -- Slack calls, each mapped to DeliveryError

    def _call(self, method: str, **kwargs: Any) -> Any:
        fn = getattr(self.client, method.replace(".", "_"))
        try:
            return fn(**kwargs)
        except _TRANSPORT_ERRORS as exc:  # programming errors are not delivery errors: they propagate
            raise map_slack_error(exc, method=method) from exc

    def resolve_user_id(self, message: OutgoingMessage) -> str:
        """The recipient's Slack user id: the given one, else looked up by email (cached)."""
        if message.recipient_slack_id:
            return message.recipient_slack_id
        key = message.recipient_email.strip().lower()
        with self._lock:
            cached = self._user_ids.get(key)
        if cached:
            return cached
        response = self._call("users.lookupByEmail", email=message.recipient_email.strip())
        user_id = (response.get("user") or {}).get("id")
        if not user_id:
            raise DeliveryError("slack users.lookupByEmail: response without user id")
        with self._lock:  # only successes are cached: a person may join Slack later
            self._user_ids[key] = user_id
        return user_id

    def _open_dm(self, user_id: str) -> str:
        """The DM channel with ``user_id``: ``conversations.open`` once, then from the cache."""
        with self._lock:
            cached = self._dm_channels.get(user_id)
        if cached:
            return cached
        response = self._call("conversations.open", users=user_id)
        channel_id = (response.get("channel") or {}).get("id")
        if not channel_id:
            raise DeliveryError("slack conversations.open: response without channel id")
        with self._lock:
            self._dm_channels[user_id] = channel_id
        return channel_id

    def forget_dm(self, user_id: str) -> None:
        """Drop a cached DM channel (Slack said it is gone); the next post opens it again."""
        with self._lock:
            self._dm_channels.pop(user_id, None)

    def _thread_ts(self, message: OutgoingMessage, dm_channel: str) -> str | None:
        if not message.thread_ref:
            return None
        try:
            channel_id, ts = parse_slack_ref(message.thread_ref)
        except ValueError:
            log.warning("ignoring malformed thread_ref for %s", message.idempotency_key)
            return None
        if channel_id != dm_channel:
            log.warning("thread_ref of %s is not in the recipient's DM; posting top-level", message.idempotency_key)
            return None
        return ts

    @staticmethod
    def _fallback_text(message: OutgoingMessage) -> str:
        """Notification/preview text (shown where blocks are not), escaped like the blocks."""
        return _truncate_escaped(escape_mrkdwn(message.subject or message.text), FALLBACK_TEXT_MAX)

    # -- public API

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        """Post ``message`` as a DM (threaded for follow-ups) and mirror it to the incident channel."""
        if message.conversation:  # the incident channel's thread: no person, no DM
            user_id, dm_channel = None, message.conversation
        else:
            user_id = self.resolve_user_id(message)
            dm_channel = self._open_dm(user_id)
        thread_ts = self._thread_ts(message, dm_channel)
        kwargs: dict[str, Any] = {
            "channel": dm_channel,
            "text": self._fallback_text(message),
            "blocks": build_blocks(message),
            "unfurl_links": False,
            "unfurl_media": False,
            # lets an operator reconcile a DM with the outbox after an ambiguous timeout
            "metadata": {
                "event_type": "hokoku_notification",
                "event_payload": {"idempotency_key": message.idempotency_key, "kind": message.kind},
            },
        }
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            response = self._call("chat.postMessage", **kwargs)
        except DeliveryError as exc:
            if exc.permanent and "channel_not_found" in str(exc) and user_id is not None:
                self.forget_dm(user_id)
                exc.permanent = False  # retried with a freshly opened DM
            raise
        ts = response.get("ts")
        channel_id = response.get("channel") or dm_channel
        if not ts:
            raise DeliveryError("slack chat.postMessage: response without ts")
        return DeliveryResult(provider_id=f"slack:{channel_id}:{ts}")

    def update_message(self, provider_id: str, *, subject: str, text: str) -> DeliveryResult:
        """Replace a posted message's content (the incident thread's parent): ``chat.update``."""
        try:
            channel_id, ts = parse_slack_ref(provider_id)
        except ValueError as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        response = self._call(
            "chat.update",
            channel=channel_id,
            ts=ts,
            text=_truncate_escaped(escape_mrkdwn(subject or text), FALLBACK_TEXT_MAX),
            blocks=_content_blocks(subject, text),
        )
        return DeliveryResult(provider_id=f"slack:{response.get('channel') or channel_id}:{response.get('ts') or ts}")

    def update_acknowledged(
        self,
        provider_id: str,
        *,
        text: str,
        lang: str,
        who: str,
        at: datetime,
        subject: str | None = None,
    ) -> DeliveryResult:
        """Replace the message's blocks: keep ``subject``/``text``, add "✅ who acknowledged at",
        drop the buttons. ``text`` is the original (user-supplied) body and is escaped again."""
        try:
            channel_id, ts = parse_slack_ref(provider_id)
        except ValueError as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        line = format_ack_line(who=who, at=at, lang=lang)
        response = self._call(
            "chat.update",
            channel=channel_id,
            ts=ts,
            text=line,
            blocks=build_acknowledged_blocks(text=text, lang=lang, who=who, at=at, subject=subject),
        )
        return DeliveryResult(provider_id=f"slack:{response.get('channel') or channel_id}:{response.get('ts') or ts}")

    # -- interactivity helpers (used by hokoku.web.slack)

    def user_email(self, user_id: str) -> str | None:
        """The email address of a Slack user (``users.info``; needs ``users:read.email``), or None."""
        try:
            response = self._call("users.info", user=user_id)
        except DeliveryError as exc:
            log.warning("users.info for %s failed: %s", user_id, exc)
            return None
        email = ((response.get("user") or {}).get("profile") or {}).get("email")
        return email.strip().lower() if isinstance(email, str) and email.strip() else None

    def post_ephemeral(self, *, channel: str, user: str, text: str) -> None:
        """A message only ``user`` sees in ``channel`` (plain text, escaped)."""
        self._call("chat.postEphemeral", channel=channel, user=user, text=escape_mrkdwn(text))

    def open_view(self, *, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal (``views.open``); ``trigger_id`` is valid for 3 seconds after the click."""
        self._call("views.open", trigger_id=trigger_id, view=view)
