"""Verification of Slack's request signatures (interactivity, slash commands, events).

A thin wrapper over :class:`slack_sdk.signature.SignatureVerifier` that takes the current time
as a parameter and says *why* a request is refused. The HMAC itself (``v0:{timestamp}:{body}``,
HMAC-SHA256 with the signing secret) is computed by slack-sdk, not here.

Reasons: ``missing_headers`` (no ``X-Slack-Request-Timestamp`` or ``X-Slack-Signature``),
``stale`` (timestamp more than 5 minutes before or after ``now`` — Slack's replay window),
``bad_signature`` (signature wrong, or a timestamp that is not an integer).
"""

from __future__ import annotations

from slack_sdk.signature import Clock, SignatureVerifier

#: Slack's replay window, in seconds (the SDK applies the same bound).
MAX_SKEW_SECONDS = 5 * 60


class SlackSignatureError(Exception):
    """The request is not provably from Slack; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _FixedClock(Clock):
    """A slack-sdk clock that answers the injected time."""

    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def verify_slack_request(
    *,
    signing_secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: float,
) -> None:
    """Return if the request is authentic and fresh; raise :class:`SlackSignatureError` otherwise.

    ``body`` is the raw request body exactly as received; ``timestamp`` and ``signature`` are
    the ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` header values; ``now`` is Unix
    seconds.
    """
    if not timestamp or not signature:
        raise SlackSignatureError("missing_headers")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SlackSignatureError("bad_signature") from None
    if abs(now - sent_at) > MAX_SKEW_SECONDS:
        raise SlackSignatureError("stale")
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(now))
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except UnicodeDecodeError:  # the SDK decodes the body as UTF-8; Slack always sends UTF-8
        valid = False
    if not valid:
        raise SlackSignatureError("bad_signature")
