"""Signed acknowledgement-link tokens (pure: no clock, no database).

An email carries a link ``.../ack?t=<token>``; opening it acknowledges one stage of one
incident for one person. The token is ``<payload>.<signature>``, both base64url without
padding (URL-safe as is):

* ``payload`` is compact JSON ``{"v": 1, "jti", "sub", "inc", "stg", "iat", "exp"}``
  (token id, person email, incident id, stage code, issued/expiry as Unix seconds);
* ``signature`` is HMAC-SHA256 under ``key`` of ``b"hokoku-ack-v1." + payload`` (the prefix
  keeps these MACs from ever being valid for another use of the same key).

The payload is signed, not encrypted: anyone holding the link can read the email address,
incident id and stage code in it, as they could read the email itself.

**Single use is the caller's job.** :func:`verify_token` only proves the token was issued by
us and has not expired; the caller must record ``AckClaims.token_id`` in the database in the
same transaction as the acknowledgement and refuse a token id seen before (a unique constraint
on the consumed-token table). Times are kept with one-second precision.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

VERSION = 1
_DOMAIN = b"hokoku-ack-v1."
MIN_KEY_BYTES = 32
_MAX_TOKEN_CHARS = 4096
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class TokenError(Exception):
    """The token is unusable; ``reason`` is ``malformed``, ``bad_signature`` or ``expired``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AckClaims:
    token_id: str
    person_email: str
    incident_id: str
    stage_code: str
    issued_at: datetime  # aware, UTC
    expires_at: datetime  # aware, UTC


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text or any(c not in _B64_ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the token key must be at least {MIN_KEY_BYTES} bytes")


def _sign(key: bytes, payload_b64: str) -> bytes:
    return hmac.new(bytes(key), _DOMAIN + payload_b64.encode("ascii"), hashlib.sha256).digest()


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    return int(moment.timestamp())


def issue_token(
    *,
    key: bytes,
    person_email: str,
    incident_id: str,
    stage_code: str,
    issued_at: datetime,
    ttl: timedelta,
    nonce: str | None = None,
) -> str:
    """A URL-safe signed token; ``nonce`` (the token id) defaults to 128 random bits."""
    _check_key(key)
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    iat = _epoch(issued_at)
    claims = {
        "v": VERSION,
        "jti": nonce if nonce is not None else secrets.token_urlsafe(16),
        "sub": person_email,
        "inc": incident_id,
        "stg": stage_code,
        "iat": iat,
        "exp": iat + max(1, int(ttl.total_seconds())),
    }
    payload = _b64encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_b64encode(_sign(key, payload))}"


def _text_claim(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError("missing claim")
    return value


def _time_claim(data: dict[str, object], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("bad time claim")
    return value


def _claims_from(payload: bytes) -> AckClaims:
    data = json.loads(payload.decode("utf-8"))
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise ValueError("unknown token version")
    jti, sub, inc, stg = (_text_claim(data, k) for k in ("jti", "sub", "inc", "stg"))
    iat, exp = (_time_claim(data, k) for k in ("iat", "exp"))
    return AckClaims(
        token_id=jti,
        person_email=sub,
        incident_id=inc,
        stage_code=stg,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
    )


def verify_token(token: str, *, key: bytes, now: datetime) -> AckClaims:
    """The claims of a genuine, unexpired token; :class:`TokenError` otherwise.

    Checks in order: shape (``malformed``), signature (``bad_signature``), then expiry
    (``expired``, when ``now >= expires_at``). Does **not** check single use — see module doc.
    """
    _check_key(key)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
        raise TokenError("malformed")
    payload_b64, signature_b64 = token.split(".")
    try:
        payload = _b64decode(payload_b64)
        signature = _b64decode(signature_b64)
    except (ValueError, binascii.Error):
        raise TokenError("malformed") from None
    if not hmac.compare_digest(signature, _sign(key, payload_b64)):
        raise TokenError("bad_signature")
    try:
        claims = _claims_from(payload)
    except (ValueError, UnicodeDecodeError, OverflowError, OSError):
        raise TokenError("malformed") from None
    if now >= claims.expires_at:
        raise TokenError("expired")
    return claims
