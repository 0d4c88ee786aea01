"""The hash chain: how a record's content is framed and hashed.

A record's content is the canonical JSON ``{"entry": <entry>, "prev": <previous hash>,
"seq": <n>}``, so the hash covers the entry, its position and the link to the record before
it. The hash is HMAC-SHA256 with the configured audit key when there is one — then someone who
can write to the database still cannot recompute a valid chain after editing it — and plain
SHA-256 otherwise (which detects accidents and careless edits, not a capable insider). The first
record links to `GENESIS`.

The key can be rotated: a rotation record (its entry's `extra.key_rotation = {"from": id,
"to": id}`, written by `huitong audit rotate-key` with the old key) says that the records after
it are keyed with the key of id `to`; verification follows it with the key ring it is given (the
current key and `[audit].previous_hmac_keys_env`). A key's id (`ChainHasher.key_id`) is derived
from it and reveals nothing of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Final

GENESIS: Final = "0" * 64
ALG_HMAC: Final = "hmac-sha256"
ALG_SHA256: Final = "sha256"


def canonical_json(value: Any) -> str:
    """Sorted keys, UTF-8, compact separators, no floats: the same value always hashes the same."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def record_content(body: str, seq: int, prev: str) -> str:
    """Canonical JSON of the record; `body` is already canonical, and the keys sort as written."""
    return f'{{"entry":{body},"prev":"{prev}","seq":{seq}}}'


@dataclass(frozen=True, slots=True)
class ParsedContent:
    entry: dict[str, Any]
    prev: str
    seq: int


def parse_content(content: str) -> ParsedContent:
    """The parts of stored content; ValueError when it is not a record's content."""
    data = json.loads(content)
    if not isinstance(data, dict) or set(data) != {"entry", "prev", "seq"}:
        raise ValueError("expected an object with entry, prev and seq")
    entry, prev, seq = data["entry"], data["prev"], data["seq"]
    if not isinstance(entry, dict) or not isinstance(prev, str) or type(seq) is not int:
        raise ValueError("entry, prev or seq has the wrong type")
    return ParsedContent(entry, prev, seq)


class ChainHasher:
    """Hashes record content: HMAC-SHA256 with `key`, else SHA-256."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or None
        self.alg = ALG_HMAC if self._key else ALG_SHA256

    @property
    def key_id(self) -> str:
        """A name for the key: letters only (the audit's redaction never mistakes it for a
        number), and nothing of the key itself."""
        if self._key is None:
            return ALG_SHA256
        digest = hmac.new(self._key, b"huitong-audit-key-id", hashlib.sha256).hexdigest()[:16]
        return "k" + digest.translate(str.maketrans("0123456789", "ghijklmnop"))

    def __call__(self, content: str) -> str:
        data = content.encode()
        if self._key is None:
            return hashlib.sha256(data).hexdigest()
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()
