"""Audit checkpoints: (seq, hash, time, key, signature) kept outside the database.

Each live sweep and ``hokoku audit checkpoint`` append one JSON line to
``$HOKOKU_AUDIT_CHECKPOINT_DIR/checkpoints.jsonl`` (default ``$HOKOKU_HOME/audit-checkpoints``)
when the head has moved, and a daily message takes the newest one to the audit officer. A
database administrator who truncates or rewrites the chain cannot change what is already
written there (or mailed away): ``hokoku audit verify`` compares the chain with it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from hokoku.clock import utcnow
from hokoku.core.exceptions import ConfigError
from hokoku.models.audit import AuditHead

FILENAME = "checkpoints.jsonl"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # real wall-clock time, ISO 8601 UTC
    key_id: str
    signature: str
    source: str = ""

    def message(self) -> bytes:
        return f"hokoku audit checkpoint\n{self.seq}\n{self.hash}\n{self.at}\n{self.key_id}".encode()

    def to_json(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id, "signature": self.signature}


def make(keyring, *, seq: int, digest: str, at: datetime | None = None) -> Checkpoint:
    when = (at or utcnow()).astimezone(UTC).isoformat(timespec="seconds")
    unsigned = Checkpoint(seq, digest, when, keyring.signer.current.key_id, "")
    _, signature = keyring.signer.sign(unsigned.message())
    return Checkpoint(seq, digest, when, unsigned.key_id, signature)


def checkpoint_file(app) -> Path:
    return app.settings.checkpoint_dir / FILENAME


def append_line(path: Path, cp: Checkpoint) -> None:
    """Append one line (O_APPEND, one write, fsync): concurrent writers never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (json.dumps(cp.to_json(), separators=(",", ":")) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a file (a file given by the operator, or the local one)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read checkpoints ({exc.strerror or exc.__class__.__name__})") from None
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(
                Checkpoint(
                    int(d["seq"]),
                    str(d["hash"]),
                    str(d["at"]),
                    str(d["key_id"]),
                    str(d["signature"]),
                    source=f"{path.name}:{n}",
                )
            )
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path}:{n}: not a checkpoint line") from None
    return out


def last_line(path: Path) -> dict | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return None
    for raw in reversed(lines):
        try:
            return json.loads(raw)
        except ValueError:
            continue
    return None


def write_checkpoint(app, *, force: bool = False) -> Checkpoint | None:
    """Append a checkpoint of the current head (None when the head has not moved, unless ``force``)."""
    from hokoku.store.db import transaction

    with transaction(app.engine) as session:
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
        if head is None:
            return None
        seq, digest = head.seq, head.hash
    path = checkpoint_file(app)
    if not force:
        last = app._cache.get("last_checkpoint") or last_line(path)
        if last and last.get("seq") == seq and last.get("hash") == digest:
            return None
    cp = make(app.keyring, seq=seq, digest=digest)
    append_line(path, cp)
    app._cache["last_checkpoint"] = cp.to_json()
    return cp
