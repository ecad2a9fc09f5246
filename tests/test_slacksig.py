"""Tests for hokoku.security.slacksig: Slack request-signature verification."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hokoku.security.slacksig import SlackSignatureError, verify_slack_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_775_000_000.0
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U0YAMADA%22%7D%7D"


def slack_sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    """Sign like Slack does: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def reason_of(**overrides) -> str:
    timestamp = str(int(NOW))
    fields = dict(signing_secret=SECRET, body=BODY, timestamp=timestamp, signature=slack_sign(BODY, timestamp), now=NOW)
    fields.update(overrides)
    with pytest.raises(SlackSignatureError) as caught:
        verify_slack_request(**fields)
    return caught.value.reason


def test_correctly_signed_request_passes():
    """A request signed with the secret moments ago is accepted (returns None)."""
    timestamp = str(int(NOW) - 10)
    assert (
        verify_slack_request(
            signing_secret=SECRET, body=BODY, timestamp=timestamp, signature=slack_sign(BODY, timestamp), now=NOW
        )
        is None
    )


def test_request_just_inside_the_window_passes():
    """A request 4m59s old is still fresh."""
    timestamp = str(int(NOW) - 299)
    verify_slack_request(
        signing_secret=SECRET, body=BODY, timestamp=timestamp, signature=slack_sign(BODY, timestamp), now=NOW
    )


def test_forged_secret_is_bad_signature():
    """A signature made with another secret is refused."""
    timestamp = str(int(NOW))
    assert reason_of(signature=slack_sign(BODY, timestamp, secret="not-the-secret")) == "bad_signature"


def test_tampered_body_is_bad_signature():
    """A body changed after signing is refused."""
    assert reason_of(body=BODY.replace(b"U0YAMADA", b"U0ATTACK")) == "bad_signature"


def test_six_minute_old_request_is_stale():
    """A correctly signed request from 6 minutes ago is a replay risk: stale."""
    old = str(int(NOW) - 360)
    assert reason_of(timestamp=old, signature=slack_sign(BODY, old)) == "stale"


def test_six_minutes_in_the_future_is_stale():
    """A timestamp 6 minutes ahead of now is refused too."""
    future = str(int(NOW) + 360)
    assert reason_of(timestamp=future, signature=slack_sign(BODY, future)) == "stale"


@pytest.mark.parametrize("missing", [{"timestamp": None}, {"signature": None}, {"signature": ""}])
def test_missing_headers(missing):
    """Without the timestamp or signature header there is nothing to verify."""
    assert reason_of(**missing) == "missing_headers"


def test_non_numeric_timestamp_is_bad_signature():
    """A timestamp that is not an integer cannot be authentic."""
    assert reason_of(timestamp="yesterday", signature=slack_sign(BODY, "yesterday")) == "bad_signature"
