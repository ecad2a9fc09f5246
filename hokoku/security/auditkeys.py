"""The audit signing key: an Ed25519 key of its own, not derived from the data key.

It lives in ``$HOKOKU_HOME/keys/audit-signing.key`` (made by ``hokoku init``, mode 0600) or in
``HOKOKU_AUDIT_SIGNING_KEY``: one base64 32-byte seed per line (or comma-separated), the first
current, older ones after it (kept so that the process can sign the rotation to a newer key).
A key's id is its fingerprint (``a`` + 20 hex digits of SHA-256 over the raw public key), so an
id names exactly one public key. Verification needs only the public keys (``hokoku audit keys``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hokoku.core.exceptions import ConfigError


def fingerprint(public_key_hex: str) -> str:
    """The key id of an audit public key: ``a`` + 20 hex digits of its SHA-256."""
    return "a" + hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:20]


@dataclass(frozen=True)
class AuditKey:
    private: Ed25519PrivateKey

    @cached_property
    def public_key_hex(self) -> str:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()

    @cached_property
    def key_id(self) -> str:
        return fingerprint(self.public_key_hex)


class AuditSigner:
    """The audit keys a process holds: ``keys[0]`` signs; older keys sign only their rotation."""

    def __init__(self, keys: list[AuditKey]):
        if not keys:
            raise ConfigError("audit signing key: no key configured")
        self.keys = keys
        self._by_id = {k.key_id: k for k in keys}

    @property
    def current(self) -> AuditKey:
        return self.keys[0]

    def get(self, key_id: str) -> AuditKey | None:
        return self._by_id.get(key_id)

    def sign(self, message: bytes, *, key_id: str | None = None) -> tuple[str, str]:
        key = self.current if key_id is None else self._by_id[key_id]
        return key.key_id, key.private.sign(message).hex()

    def public_keys(self) -> dict[str, str]:
        return {k.key_id: k.public_key_hex for k in self.keys}


def parse_signer(text: str, *, source: str) -> AuditSigner:
    keys = []
    for n, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            seed = base64.urlsafe_b64decode(entry + "=" * (-len(entry) % 4))
        except (ValueError, TypeError):
            seed = b""
        if len(seed) != 32:
            raise ConfigError(
                f"{source}: entry {n}: an audit signing key is 32 bytes in base64 (make one with `hokoku init`)"
            )
        keys.append(AuditKey(Ed25519PrivateKey.from_private_bytes(seed)))
    return AuditSigner(keys)


def new_seed() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def load_signer(*, env_value: str | None, key_file: Path) -> AuditSigner:
    if env_value:
        return parse_signer(env_value, source="HOKOKU_AUDIT_SIGNING_KEY")
    if not key_file.exists():
        raise ConfigError(f"{key_file}: no audit signing key; run `hokoku init` or set HOKOKU_AUDIT_SIGNING_KEY")
    return parse_signer(key_file.read_text(), source=str(key_file))


_HEADER = "# hokoku audit signing key (Ed25519 seed): first line signs; older keys below it\n"


def create_signer_file(key_file: Path) -> bool:
    """Create the audit key file with owner-only permissions if missing; True if created."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(key_file.parent, 0o700)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(_HEADER + new_seed() + "\n")
    return True


def prepend_new_key(key_file: Path) -> None:
    """Rotation: a new seed becomes the first line; the old ones stay below it."""
    old = [ln for ln in key_file.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    tmp = key_file.with_name(key_file.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(_HEADER + "\n".join([new_seed(), *old]) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, key_file)


# -- public-key files ------------------------------------------------------------------------
def read_public_keys(path: Path) -> dict[str, str]:
    """``{key_id: public key hex}`` from a public-key file.

    Accepts what ``hokoku audit keys --json`` prints (``{"keys": [{"key_id", "public_key"}...]}``)
    and the plain map ``{key_id: hex}`` of ``audit-public-keys.json``.
    """
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read public keys ({exc.__class__.__name__})") from None
    items = doc.get("keys") if isinstance(doc, dict) and "keys" in doc else doc
    out: dict[str, str] = {}
    if isinstance(items, dict):
        out = {str(k): str(v) for k, v in items.items() if isinstance(v, str)}
    elif isinstance(items, list):
        out = {str(i["key_id"]): str(i["public_key"]) for i in items if isinstance(i, dict) and "key_id" in i}
    if not out:
        raise ConfigError(f"{path}: no public keys in it")
    return out


def write_public_keys(path: Path, keys: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps(keys, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
