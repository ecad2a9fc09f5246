"""The contract every notification channel implements.

The dispatcher hands a notifier one :class:`OutgoingMessage` at a time. A notifier either
returns a :class:`DeliveryResult` (the provider accepted the message) or raises
:class:`DeliveryError`; it never reports success for a message the provider did not accept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Action:
    """A button or link offered with a message (Slack button, email link)."""

    action_id: str  # "acknowledge", "open", "mark_done"
    label: str
    url: str | None = None
    value: str | None = None


#: Opens (and closes) the quotation of text somebody typed (templates/messages/*/_quote.txt.j2).
#: Everything from the first line starting with it is quoted user text, placed after the genuine
#: acknowledgement link and buttons so that text cannot pose as them.
QUOTE_RULE = "──────────"


def split_quote(text: str) -> tuple[str, str]:
    """(hokoku's own text, the quotation that follows it — "" when there is none)."""
    at = 0
    for line in text.splitlines(keepends=True):
        if line.startswith(QUOTE_RULE):
            return text[:at], text[at:]
        at += len(line)
    return text, ""


@dataclass(frozen=True)
class OutgoingMessage:
    idempotency_key: str
    channel: str
    kind: str  # notify / reminder / escalation / overdue / notice / alert
    lang: str
    recipient_email: str
    recipient_name: str
    subject: str
    text: str
    html: str | None = None
    recipient_slack_id: str | None = None
    incident_id: str | None = None
    stage_code: str | None = None
    thread_ref: str | None = None  # provider id of the first message of this thread
    actions: tuple[Action, ...] = field(default_factory=tuple)
    conversation: str | None = None  # post in this Slack channel (the incident thread), not a DM


@dataclass(frozen=True)
class DeliveryResult:
    provider_id: str


class DeliveryError(Exception):
    """Delivery failed. ``permanent`` errors are not retried; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@runtime_checkable
class Notifier(Protocol):
    channel: str

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        """Deliver one message or raise :class:`DeliveryError`."""
        ...
