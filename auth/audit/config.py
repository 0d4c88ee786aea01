"""The `[audit]` table of huitong.toml.

    [audit]
    hmac_key_env = "HUITONG_AUDIT_KEY"   # env var holding the chain key (≥ 16 chars); unset
                                         # key = plain SHA-256 chain (no protection against
                                         # someone with write access to the store)
    previous_hmac_keys_env = ["HUITONG_AUDIT_KEY_2024"]   # keys of the chain before a
                                         # rotation (`huitong audit rotate-key`), to verify
    signing_key = "keys/audit-ed25519.pem"   # Ed25519 private key that signs exports
                                             # (created by `huitong audit keygen`)
    max_listed_ids = 1000                # per entity; larger reads are kept as a digest
    timeout_seconds = 10                 # an append slower than this fails closed (503)
    checkpoint_file = "/var/lib/huitong-anchor/checkpoints.jsonl"   # signed checkpoints of
                                         # the chain head, outside the store (`checkpoints`)
    checkpoint_interval_seconds = 60     # how often (and at shutdown); refusal counts too

Without a signing key, exports are stamped with an HMAC derived from the chain key, and
without either they carry only a digest (which detects damage, not deliberate edits).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .access_log import MAX_IDS_PER_ENTITY

_KEYS: Final = ("hmac_key_env", "max_listed_ids", "signing_key", "timeout_seconds",
                 "checkpoint_file", "checkpoint_interval_seconds", "previous_hmac_keys_env")
MIN_KEY_CHARS: Final = 16


@dataclass(frozen=True)
class AuditConfig:
    hmac_key: bytes | None = None
    signing_key: Path | None = None
    max_listed_ids: int = MAX_IDS_PER_ENTITY
    timeout_seconds: float = 10.0
    checkpoint_file: Path | None = None
    checkpoint_interval_seconds: float = 60.0
    previous_keys: tuple[bytes, ...] = ()

    @property
    def export_hmac_key(self) -> bytes | None:
        """A key for stamping exports, derived so the chain key itself is never reused as is."""
        if self.hmac_key is None:
            return None
        return hmac.new(self.hmac_key, b"huitong-audit-export:v1", hashlib.sha256).digest()

    @classmethod
    def from_table(
        cls,
        table: Mapping[str, Any],
        where: str,
        environ: Mapping[str, str],
        *,
        base_dir: Path | None = None,
    ) -> AuditConfig:
        """Check an `[audit]` table; ValueError naming file and key when it does not fit."""

        def fail(key: str, expected: str) -> ValueError:
            return ValueError(f"{where}: [audit].{key}: {expected}")

        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise fail(unknown[0], f"unknown key; expected one of {', '.join(_KEYS)}")
        key: bytes | None = None
        env_name = table.get("hmac_key_env")
        if env_name is not None:
            if not isinstance(env_name, str) or not env_name:
                raise fail("hmac_key_env", "expected an environment variable name")
            value = environ.get(env_name)
            if not value:
                raise fail("hmac_key_env", f"environment variable {env_name} is not set")
            if len(value) < MIN_KEY_CHARS:
                raise fail("hmac_key_env", f"the key in {env_name} is shorter than "
                           f"{MIN_KEY_CHARS} characters")
            key = value.encode()
        signing: Path | None = None
        raw_path = table.get("signing_key")
        if raw_path is not None:
            if not isinstance(raw_path, str) or not raw_path:
                raise fail("signing_key", "expected the path of an Ed25519 private key (PEM)")
            signing = Path(raw_path)
            if not signing.is_absolute() and base_dir is not None:
                signing = base_dir / signing
        max_ids = table.get("max_listed_ids", MAX_IDS_PER_ENTITY)
        if not isinstance(max_ids, int) or isinstance(max_ids, bool) or not (
            0 <= max_ids <= MAX_IDS_PER_ENTITY
        ):
            raise fail("max_listed_ids", f"expected an integer from 0 to {MAX_IDS_PER_ENTITY}")
        timeout = table.get("timeout_seconds", 10.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise fail("timeout_seconds", "expected a positive number of seconds")
        checkpoints: Path | None = None
        raw_checkpoints = table.get("checkpoint_file")
        if raw_checkpoints is not None:
            if not isinstance(raw_checkpoints, str) or not raw_checkpoints:
                raise fail("checkpoint_file", "expected the path of a file (outside the store)")
            checkpoints = Path(raw_checkpoints)
            if not checkpoints.is_absolute() and base_dir is not None:
                checkpoints = base_dir / checkpoints
        interval = table.get("checkpoint_interval_seconds", 60.0)
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
            raise fail("checkpoint_interval_seconds", "expected a positive number of seconds")
        previous: list[bytes] = []
        names = table.get("previous_hmac_keys_env", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise fail("previous_hmac_keys_env", "expected a list of environment variable names")
        for name in names:
            value = environ.get(name)
            if not value:
                raise fail("previous_hmac_keys_env", f"environment variable {name} is not set")
            previous.append(value.encode())
        return cls(key, signing, max_ids, float(timeout), checkpoints, float(interval),
                   tuple(previous))
