"""The default channel: the message stays in hokoku's outbox for people to read.

With no Slack or SMTP configured, ``hokoku outbox`` shows exactly what would have been sent;
"delivering" records that the message was rendered and released, with a stable provider id.
"""

from __future__ import annotations

import hashlib

from hokoku.notifiers.base import DeliveryResult, OutgoingMessage


class OutboxNotifier:
    channel = "outbox"

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:16]
        return DeliveryResult(provider_id=f"outbox:{digest}")
