"""Keys, encryption at rest and audit signatures.

One 32-byte master key per key id (the *data key*). From each master key HKDF derives:
- an AES-256-GCM key for personal data at rest,
- an HMAC key for acknowledgement links,
- a *legacy* Ed25519 key that signed audit events before the audit key was separated (it only
  verifies old events; :mod:`hokoku.security.auditkeys` holds the audit signing key, a key of its own).

Every ciphertext is bound to where it is stored: the AES-GCM associated data names the field
(table and column) and the row (``bind=``: the row's id or a unique natural key set before
insert), so a value copied into another row or column does not decrypt.

Rotation-ready: every ciphertext and signature names its key id; the keyring holds the current
key plus older ones, so old rows still decrypt and verify after a new key becomes current.
The keyring comes from ``HOKOKU_SECRET_KEY`` (``id:base64[,id:base64...]``, first is current; or
a bare base64 key, id ``k1``) or from the key file ``$HOKOKU_HOME/keys/secret.key`` (same
format, one entry per line), created by ``hokoku init`` with owner-only permissions.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, overload

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hokoku.core.exceptions import ConfigError, HokokuError

if TYPE_CHECKING:
    from hokoku.security.auditkeys import AuditSigner

_MAGIC = b"h2"  # bound ciphertexts: AAD = field + row identity
_LEGACY_MAGIC = b"h1"  # before 0003: AAD = field only (read by the migration alone)
KEY_CHECK_PLAINTEXT = "hokoku data key check v1"


class DecryptionError(HokokuError):
    """A ciphertext could not be decrypted (unknown key id or tampered data)."""


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"hokoku {purpose} v1".encode()).derive(master)


@dataclass(frozen=True)
class Key:
    """A data key. ``signing_key`` is the legacy derived audit key (old events only)."""

    key_id: str
    master: bytes

    @cached_property
    def aead(self) -> AESGCM:
        return AESGCM(_derive(self.master, "encryption"))

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(_derive(self.master, "audit signing"))

    @cached_property
    def public_key_hex(self) -> str:
        raw = self.signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()

    @cached_property
    def token_key(self) -> bytes:
        return _derive(self.master, "acknowledgement tokens")


class Keyring:
    def __init__(self, keys: list[Key]):
        if not keys:
            raise ConfigError("keyring: no key configured")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"keyring: duplicate key id in {ids}")
        self.keys = keys
        self._by_id = {k.key_id: k for k in keys}

    @property
    def current(self) -> Key:
        return self.keys[0]

    def get(self, key_id: str) -> Key:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise DecryptionError(f"unknown key id {key_id!r}: add it to the keyring") from None

    # -- encryption at rest -------------------------------------------------------------
    @staticmethod
    def _aad(field: str, bind) -> bytes:
        if bind is None or bind == "":
            raise ValueError(f"{field}: a ciphertext must be bound to its row (bind=)")
        return f"{field}\x1f{bind}".encode()

    def encrypt(self, plaintext: str, *, field: str, bind: object) -> bytes:
        """Encrypt for ``field`` (table.column) of the row identified by ``bind``."""
        key = self.current
        nonce = os.urandom(12)
        kid = key.key_id.encode()
        ct = key.aead.encrypt(nonce, plaintext.encode("utf-8"), self._aad(field, bind))
        return _MAGIC + bytes([len(kid)]) + kid + nonce + ct

    @overload
    def decrypt(self, blob: bytes, *, field: str, bind: object) -> str: ...
    @overload
    def decrypt(self, blob: bytes | None, *, field: str, bind: object) -> str | None: ...
    def decrypt(self, blob: bytes | None, *, field: str, bind: object) -> str | None:
        """The plaintext of ``blob`` (None stays None) for ``field`` of the row ``bind``."""
        if blob is None:
            return None
        key, nonce, ct = self._split(blob, field, _MAGIC)
        try:
            return key.aead.decrypt(nonce, ct, self._aad(field, bind)).decode("utf-8")
        except InvalidTag:
            raise DecryptionError(
                f"{field} of row {bind}: ciphertext was altered or belongs to another row or field"
            ) from None

    @overload
    def rebind(self, blob: bytes, *, field: str, source: object, target: object) -> bytes: ...
    @overload
    def rebind(self, blob: bytes | None, *, field: str, source: object, target: object) -> bytes | None: ...
    def rebind(self, blob: bytes | None, *, field: str, source: object, target: object) -> bytes | None:
        """The same plaintext, encrypted for another row (a copy made on purpose, e.g. a fallback)."""
        plain = self.decrypt(blob, field=field, bind=source)
        return None if plain is None else self.encrypt(plain, field=field, bind=target)

    def decrypt_legacy(self, blob: bytes | None, *, field: str) -> str | None:
        """Decrypt an unbound ``h1`` ciphertext (only the 0003 migration needs this)."""
        if blob is None:
            return None
        if bytes(blob).startswith(_MAGIC):
            raise DecryptionError(f"{field}: already a bound ciphertext")
        key, nonce, ct = self._split(blob, field, _LEGACY_MAGIC)
        try:
            return key.aead.decrypt(nonce, ct, field.encode()).decode("utf-8")
        except InvalidTag:
            raise DecryptionError(f"{field}: ciphertext was altered or belongs to another field") from None

    def _split(self, blob, field: str, magic: bytes):
        blob = bytes(blob)
        if blob.startswith(_LEGACY_MAGIC) and magic == _MAGIC:
            raise DecryptionError(f"{field}: an unbound ciphertext from before 0003: run `hokoku db upgrade`")
        if not blob.startswith(magic) or len(blob) < 4:
            raise DecryptionError(f"{field}: not a hokoku ciphertext")
        n = blob[2]
        key = self.get(blob[3 : 3 + n].decode())
        return key, blob[3 + n : 15 + n], blob[15 + n :]

    # -- key-check values: a process refuses to start with a data key that is not this database's
    def key_check_value(self, key: Key) -> str:
        nonce = os.urandom(12)
        ct = key.aead.encrypt(nonce, KEY_CHECK_PLAINTEXT.encode(), self._aad("meta.key_check", key.key_id))
        return base64.b64encode(nonce + ct).decode()

    @staticmethod
    def opens_key_check(key: Key, value: str) -> bool:
        try:
            raw = base64.b64decode(value)
            plain = key.aead.decrypt(raw[:12], raw[12:], Keyring._aad("meta.key_check", key.key_id))
        except (InvalidTag, ValueError):
            return False
        return plain == KEY_CHECK_PLAINTEXT.encode()

    # -- audit signatures ---------------------------------------------------------------
    #: Loads the audit signer (:class:`hokoku.security.auditkeys.AuditSigner`) on first use; set by the App.
    signer_loader: Callable[[], AuditSigner] | None = None

    @cached_property
    def signer(self) -> AuditSigner | None:
        """The audit signing key (its own key, not derived from the data key)."""
        if self.signer_loader is None:
            return None
        return self.signer_loader()

    def sign(self, message: bytes) -> tuple[str, str]:
        """Sign with the audit key (legacy: the key derived from the data key, when no signer)."""
        if self.signer is not None:
            return self.signer.sign(message)
        key = self.current
        return key.key_id, key.signing_key.sign(message).hex()

    def legacy_public_keys(self) -> dict[str, str]:
        """Public halves of the derived audit keys that signed events before the key separation."""
        return {k.key_id: k.public_key_hex for k in self.keys}

    def public_keys(self) -> dict[str, str]:
        """The audit public keys this process knows: its signer's keys and the legacy derived ones.

        Legacy keys are safe to trust: :func:`hokoku.security.audit.verify` accepts them only before the
        chain's first ``audit.key`` event and never for the signed head.
        """
        keys = self.legacy_public_keys()
        if self.signer is not None:
            keys.update(self.signer.public_keys())
        return keys


def verify_signature(public_keys: dict[str, str], key_id: str, message: bytes, signature_hex: str) -> bool:
    """Check an audit signature against published public keys (no secret needed)."""
    pub = public_keys.get(key_id)
    if pub is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_keyring(text: str, *, source: str) -> Keyring:
    keys = []
    for n, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, _, b64 = entry.rpartition(":") if ":" in entry else ("k1", "", entry)
        try:
            master = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except (ValueError, TypeError):
            master = b""
        if len(master) != 32:
            raise ConfigError(f"{source}: entry {n}: key must be 32 bytes in base64 (make one with `hokoku init`)")
        if not key_id or len(key_id) > 32:
            raise ConfigError(f"{source}: entry {n}: key id must be 1-32 characters")
        keys.append(Key(key_id, master))
    return Keyring(keys)


def new_key_entry(key_id: str = "k1") -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}"


def load_keyring(*, env_value: str | None, key_file: Path) -> Keyring:
    """The keyring from ``HOKOKU_SECRET_KEY`` if set, else from the key file."""
    if env_value:
        return parse_keyring(env_value, source="HOKOKU_SECRET_KEY")
    if not key_file.exists():
        raise ConfigError(f"{key_file}: no key file; run `hokoku init` or set HOKOKU_SECRET_KEY")
    return parse_keyring(key_file.read_text(), source=str(key_file))


def create_key_file(key_file: Path) -> bool:
    """Create the key file with owner-only permissions if missing; True if created."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(key_file.parent, 0o700)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write("# hokoku keyring: first entry is current; keep older entries to read old data\n")
        fh.write(new_key_entry() + "\n")
    return True
