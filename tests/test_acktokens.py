"""Tests for hokoku.security.acktokens: signed acknowledgement-link tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from hokoku.security.acktokens import AckClaims, TokenError, issue_token, verify_token

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
JST = timezone(timedelta(hours=9))
ISSUED = datetime(2026, 4, 1, 10, 0, 0, tzinfo=JST)
TTL = timedelta(hours=24)


def issue(**overrides) -> str:
    fields = dict(
        key=KEY,
        person_email="yamada@example.ac.jp",
        incident_id="INC-2026-0001",
        stage_code="detect",
        issued_at=ISSUED,
        ttl=TTL,
    )
    fields.update(overrides)
    return issue_token(**fields)


def reason_of(token: str, *, key: bytes = KEY, now: datetime = ISSUED + timedelta(minutes=5)) -> str:
    with pytest.raises(TokenError) as caught:
        verify_token(token, key=key, now=now)
    return caught.value.reason


def test_round_trip_returns_the_claims():
    """A fresh token verifies and yields exactly what was issued."""
    token = issue(nonce="tok-1")

    claims = verify_token(token, key=KEY, now=ISSUED + timedelta(minutes=5))

    assert claims == AckClaims(
        token_id="tok-1",
        person_email="yamada@example.ac.jp",
        incident_id="INC-2026-0001",
        stage_code="detect",
        issued_at=ISSUED,
        expires_at=ISSUED + TTL,
    )


def test_token_is_url_safe():
    """The token needs no URL escaping, even for non-ASCII claims."""
    token = issue(person_email="山田@example.ac.jp")
    assert re.fullmatch(r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", token)
    assert verify_token(token, key=KEY, now=ISSUED).person_email == "山田@example.ac.jp"


def test_each_token_gets_a_unique_random_id():
    """Without a nonce, two tokens for the same stage differ and carry different token ids."""
    one, two = issue(), issue()
    assert one != two
    assert verify_token(one, key=KEY, now=ISSUED).token_id != verify_token(two, key=KEY, now=ISSUED).token_id


def test_tampered_payload_is_bad_signature():
    """Changing a claim (another incident) without the key breaks the signature."""
    payload_b64, signature = issue().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    claims["inc"] = "INC-2026-0002"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    assert reason_of(f"{forged_payload}.{signature}") == "bad_signature"


def test_tampered_signature_is_bad_signature():
    """Flipping one signature character is detected."""
    payload_b64, signature = issue().split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert reason_of(f"{payload_b64}.{flipped}") == "bad_signature"


def test_token_from_another_key_is_bad_signature():
    """A token signed with a different (forged) key is refused."""
    assert reason_of(issue(key=OTHER_KEY)) == "bad_signature"


def test_expired_token_is_refused_at_and_after_expiry():
    """At expires_at and later the token is expired; one second before it is still valid."""
    token = issue()
    assert verify_token(token, key=KEY, now=ISSUED + TTL - timedelta(seconds=1)).stage_code == "detect"
    assert reason_of(token, now=ISSUED + TTL) == "expired"
    assert reason_of(token, now=ISSUED + TTL + timedelta(days=30)) == "expired"


def test_expired_and_forged_is_bad_signature_first():
    """The signature is checked before expiry, so a forgery never learns about validity windows."""
    assert reason_of(issue(key=OTHER_KEY), now=ISSUED + TTL * 2) == "bad_signature"


@pytest.mark.parametrize(
    "token",
    ["", "no-dot-at-all", "a.b.c", ".sig", "payload.", "pay load.sig", "pay+load.sig/", "x" * 5000 + ".y"],
)
def test_wrong_format_is_malformed(token):
    """Anything not shaped like payload.signature in base64url is malformed."""
    assert reason_of(token) == "malformed"


def test_signed_but_unparseable_payload_is_malformed():
    """A correctly signed payload that is not our claims JSON is malformed."""
    payload = base64.urlsafe_b64encode(b'{"v": 99}').rstrip(b"=").decode()
    sig = hmac.new(KEY, b"hokoku-ack-v1." + payload.encode(), hashlib.sha256).digest()
    token = f"{payload}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    assert reason_of(token) == "malformed"


def test_short_key_and_naive_time_are_rejected():
    """Keys under 32 bytes and naive datetimes are programming errors (ValueError)."""
    with pytest.raises(ValueError):
        issue(key=b"short")
    with pytest.raises(ValueError):
        issue(issued_at=datetime(2026, 4, 1, 10, 0))
    with pytest.raises(ValueError):
        verify_token(issue(), key=KEY, now=datetime(2026, 4, 1, 10, 0))
