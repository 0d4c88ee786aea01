"""Signed checkpoints of the chain head, kept outside the hub store.

The chain shows any record edited, removed from the middle or relinked, but not records cut
from its end together with a matching rewind of the head row: the store alone cannot tell a
shorter chain from a younger one. So the hub writes, every `[audit].checkpoint_interval_seconds`
and at shutdown, a checkpoint of the head — seq, hash and time — to `[audit].checkpoint_file`
(JSON lines, appended and fsynced; keep it on another disk or host, or ship it off). Each line
is signed: with the Ed25519 `signing_key` when configured (`alg` "ed25519"), else with an HMAC
key derived from the chain key (`alg` "hmac-sha256"); without either it is not written.

`huitong audit verify` reads the last checkpoint that verifies and fails when the store's head
is behind it (records were cut) or the record at its seq has another hash (the chain was
rewritten), naming the checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .chain import canonical_json

SignKey = Ed25519PrivateKey | bytes
CheckKey = Ed25519PrivateKey | Ed25519PublicKey | bytes


def checkpoint_hmac_key(chain_key: bytes) -> bytes:
    """The checkpoints' own key, derived so the chain key is never used as is."""
    return hmac.new(chain_key, b"huitong-audit-checkpoint:v1", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    line: int

    def __str__(self) -> str:
        return f"checkpoint of seq {self.seq} written {self.at} (line {self.line})"


def _message(body: dict[str, Any]) -> bytes:
    return canonical_json(body).encode()


def write_checkpoint(path: Path, seq: int, head_hash: str, key: SignKey,
                     at: datetime | None = None) -> None:
    body: dict[str, Any] = {"seq": seq, "hash": head_hash,
                            "at": (at or datetime.now(UTC)).astimezone(UTC).isoformat()}
    if isinstance(key, Ed25519PrivateKey):
        body["alg"] = "ed25519"
        signature = base64.b64encode(key.sign(_message(body))).decode()
    else:
        body["alg"] = "hmac-sha256"
        signature = hmac.new(key, _message(body), hashlib.sha256).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(_message({**body, "signature": signature}) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def _verifies(body: dict[str, Any], signature: str, key: CheckKey) -> bool:
    if body.get("alg") == "ed25519" and not isinstance(key, bytes):
        public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
        try:
            public.verify(base64.b64decode(signature), _message(body))
        except (InvalidSignature, ValueError):
            return False
        return True
    if body.get("alg") == "hmac-sha256" and isinstance(key, bytes):
        expected = hmac.new(key, _message(body), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)
    return False


def last_checkpoint(path: Path, key: CheckKey) -> Checkpoint | None:
    """The newest checkpoint whose signature verifies (None when the file has none).

    Lines that do not verify are skipped: a forged line cannot move the anchor, and a
    truncated last line (a crash while writing) costs only that checkpoint.
    """
    found: Checkpoint | None = None
    if not path.exists():
        return None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                data = json.loads(raw)
                signature = data.pop("signature")
                seq, head_hash, at = data["seq"], data["hash"], data["at"]
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            usable = type(seq) is int and isinstance(head_hash, str) and isinstance(
                signature, str) and _verifies(data, signature, key)
            if usable and (found is None or seq >= found.seq):
                found = Checkpoint(seq, head_hash, str(at), number)
    return found
