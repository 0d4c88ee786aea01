"""Exporting audit records to a stamped JSON-lines file that can be checked offline.

The file is UTF-8 JSON lines: a header (`"type": "header"`: format, time window, chain
algorithm), one line per record (`"type": "record"`: seq, prev_hash, hash and the exact hashed
`content` text) for a contiguous seq range, and a final stamp (`"type": "stamp"`): count, seq
range, the first record's prev_hash and the last hash, the store's chain head at export time,
the sha256 of every byte before the stamp line, and a signature over the stamp's canonical JSON
(without the signature) — Ed25519 (`alg` "ed25519", base64) or HMAC-SHA256 (`alg`
"hmac-sha256", hex), or none (`alg` "none": a digest only, which catches damage, not edits).

`verify_export` needs only the file and the key (an Ed25519 public key, or the HMAC key): it
checks the digest, the signature and the chain links inside the file, and recomputes each
record's hash when the chain is plain SHA-256 or the chain key is given.
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
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .chain import ALG_SHA256, ChainHasher, canonical_json, parse_content
from .store import AuditStore

FORMAT: Final = "huitong-audit-export/1"
Key = Ed25519PrivateKey | Ed25519PublicKey | bytes


def _key_id(key: Key) -> str:
    if isinstance(key, bytes):
        return hmac.new(key, b"huitong-key-id", hashlib.sha256).hexdigest()[:16]
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_signing_key(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key at `path` (PEM, mode 0600) with its public key at `<path>.pub`."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path(path).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def public_path(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def load_key(path: Path) -> Ed25519PrivateKey | Ed25519PublicKey:
    """An Ed25519 private or public key from a PEM file; ValueError if it is not one."""
    data = path.read_bytes()
    loaded: Any
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        loaded = serialization.load_pem_public_key(data)
    if not isinstance(loaded, Ed25519PrivateKey | Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return loaded


def _sign(stamp: dict[str, Any], key: Ed25519PrivateKey | bytes | None) -> dict[str, Any]:
    stamp = {**stamp, "alg": "none", "key_id": None}
    if isinstance(key, Ed25519PrivateKey):
        stamp.update(alg="ed25519", key_id=_key_id(key))
        message = canonical_json(stamp).encode()
        return {**stamp, "signature": base64.b64encode(key.sign(message)).decode()}
    if isinstance(key, bytes):
        stamp.update(alg="hmac-sha256", key_id=_key_id(key))
        message = canonical_json(stamp).encode()
        return {**stamp, "signature": hmac.new(key, message, hashlib.sha256).hexdigest()}
    return {**stamp, "signature": None}


@dataclass(frozen=True, slots=True)
class ExportReport:
    ok: bool
    problem: str | None
    count: int
    first_seq: int | None
    last_seq: int | None
    alg: str
    signed: bool
    key_id: str | None = None
    chain_head_seq: int | None = None
    chain_head_hash: str | None = None


def _line(value: dict[str, Any]) -> bytes:
    return canonical_json(value).encode() + b"\n"


async def export_records(
    store: AuditStore,
    out: Path,
    *,
    since: datetime,
    until: datetime,
    key: Ed25519PrivateKey | bytes | None = None,
) -> ExportReport:
    """Write the records of [since, until] to `out`, stamped (and signed with `key` if given)."""
    head_seq, head_hash = await store.head()
    span = await store.seq_range(since, until)
    digest = hashlib.sha256()
    tmp = out.with_name(out.name + ".partial")
    count, first, last, first_prev, last_hash = 0, None, None, None, None
    with tmp.open("wb") as handle:
        def write(line: bytes) -> None:
            digest.update(line)
            handle.write(line)

        write(_line({"type": "header", "format": FORMAT, "chain_alg": store.alg,
                     "from": since.astimezone(UTC).isoformat(),
                     "to": until.astimezone(UTC).isoformat(),
                     "created_at": datetime.now(UTC).isoformat()}))
        if span is not None:
            async for row in store.stream(*span):
                write(_line({"type": "record", "seq": row.seq, "prev_hash": row.prev_hash,
                             "hash": row.hash, "content": row.content}))
                first_prev = row.prev_hash if first is None else first_prev
                first = row.seq if first is None else first
                count, last, last_hash = count + 1, row.seq, row.hash
        stamp = _sign({"type": "stamp", "format": FORMAT, "count": count, "first_seq": first,
                       "last_seq": last, "first_prev_hash": first_prev, "last_hash": last_hash,
                       "chain_head_seq": head_seq, "chain_head_hash": head_hash,
                       "body_sha256": digest.hexdigest()}, key)
        handle.write(_line(stamp))
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(out)
    return ExportReport(True, None, count, first, last, stamp["alg"], key is not None,
                        stamp["key_id"], head_seq, head_hash)


def verify_export(
    path: Path,
    public_key: Ed25519PublicKey | Ed25519PrivateKey | None = None,
    *,
    hmac_key: bytes | None = None,
    chain_key: bytes | None = None,
) -> ExportReport:
    """Check an export offline: digest, signature, and the chain inside the file.

    `public_key` checks Ed25519-signed files, `hmac_key` HMAC-stamped ones; `chain_key` (the
    audit HMAC key) also lets it recompute each record's hash when the chain is keyed.
    """
    checker = _ExportCheck(chain_key)
    try:
        with path.open("rb") as handle:
            held: bytes | None = None
            for line in handle:
                if held is not None:
                    checker.body(held)
                held = line
        if held is None:
            raise _Broken("the file is empty")
        stamp = checker.finish(held)
        signed = _check_signature(stamp, public_key, hmac_key)
    except _Broken as exc:
        return ExportReport(False, str(exc), checker.count, checker.first, checker.last,
                            "unknown", False)
    return ExportReport(True, None, checker.count, checker.first, checker.last, stamp["alg"],
                        signed, stamp.get("key_id"), stamp.get("chain_head_seq"),
                        stamp.get("chain_head_hash"))


class _Broken(Exception):
    pass


def _check_signature(
    stamp: dict[str, Any],
    key: Ed25519PublicKey | Ed25519PrivateKey | None,
    hmac_key: bytes | None,
) -> bool:
    alg, signature = stamp.get("alg"), stamp.get("signature")
    message = canonical_json({k: v for k, v in stamp.items() if k != "signature"}).encode()
    if alg == "none":
        return False
    if alg == "ed25519":
        if isinstance(key, Ed25519PrivateKey):
            key = key.public_key()
        if not isinstance(key, Ed25519PublicKey):
            raise _Broken("the file is signed with Ed25519: give the public key to check it")
        try:
            key.verify(base64.b64decode(str(signature)), message)
        except (InvalidSignature, ValueError):
            raise _Broken("the Ed25519 signature does not match (altered, or another key)"
                          ) from None
        return True
    if alg == "hmac-sha256":
        if hmac_key is None:
            raise _Broken("the file is stamped with HMAC-SHA256: give the key to check it")
        expected = hmac.new(hmac_key, message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(signature)):
            raise _Broken("the HMAC stamp does not match (altered, or another key)")
        return True
    raise _Broken(f"unknown stamp algorithm {alg!r}")


class _ExportCheck:
    def __init__(self, chain_key: bytes | None) -> None:
        self.chain_key = chain_key
        self.hasher: ChainHasher | None = None
        self.digest = hashlib.sha256()
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None
        self.first_prev: str | None = None
        self.last_hash: str | None = None
        self.header = False

    def body(self, line: bytes) -> None:
        self.digest.update(line)
        data = _parse(line)
        if not self.header:
            if data.get("type") != "header" or data.get("format") != FORMAT:
                raise _Broken(f"the first line is not a {FORMAT} header")
            self.header = True
            if data.get("chain_alg") == ALG_SHA256:
                self.hasher = ChainHasher(None)
            elif self.chain_key is not None:
                self.hasher = ChainHasher(self.chain_key)
            return
        if data.get("type") != "record":
            raise _Broken(f"line {self.count + 2}: expected a record")
        seq, prev, digest, content = (data.get(k) for k in ("seq", "prev_hash", "hash",
                                                             "content"))
        if not isinstance(seq, int) or not isinstance(content, str):
            raise _Broken(f"line {self.count + 2}: malformed record")
        if self.last is not None and seq != self.last + 1:
            raise _Broken(f"seq {self.last + 1}: missing record (the next is seq {seq})")
        if self.last_hash is not None and prev != self.last_hash:
            raise _Broken(f"seq {seq}: prev link broken")
        try:
            parsed = parse_content(content)
        except ValueError:
            raise _Broken(f"seq {seq}: content edited (not a record)") from None
        if parsed.seq != seq or parsed.prev != prev:
            raise _Broken(f"seq {seq}: seq or prev_hash differs from the hashed content")
        if self.hasher is not None and self.hasher(content) != digest:
            raise _Broken(f"seq {seq}: content edited (it no longer matches its hash)")
        self.first = seq if self.first is None else self.first
        self.first_prev = prev if self.first_prev is None else self.first_prev
        self.count, self.last, self.last_hash = self.count + 1, seq, digest

    def finish(self, line: bytes) -> dict[str, Any]:
        stamp = _parse(line)
        if not self.header or stamp.get("type") != "stamp":
            raise _Broken("the file does not end with a stamp line (truncated?)")
        if stamp.get("body_sha256") != self.digest.hexdigest():
            raise _Broken("the file body does not match the stamp's sha256 (altered)")
        for name, value in (("count", self.count), ("first_seq", self.first),
                            ("last_seq", self.last), ("first_prev_hash", self.first_prev),
                            ("last_hash", self.last_hash)):
            if stamp.get(name) != value:
                raise _Broken(f"the stamp's {name} does not match the records")
        return stamp


def _parse(line: bytes) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise _Broken("a line is not JSON") from None
    if not isinstance(data, dict):
        raise _Broken("a line is not a JSON object")
    return data
