"""The audit trail's background work while the hub runs: refusal counts and head checkpoints.

Every `[audit].checkpoint_interval_seconds`, and once more at shutdown, the counts of refused
requests (`huitong.refusals`) are written, and — when `[audit].checkpoint_file` is set — a
signed checkpoint of the chain head (`auth.audit.checkpoints`) is appended to that file when the
head moved since the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth.audit import AuditConfig, AuditStore, load_key
from auth.audit.checkpoints import SignKey, checkpoint_hmac_key, write_checkpoint

from .refusals import RefusalLog

log = logging.getLogger("huitong.audit")


def checkpoint_key(config: AuditConfig) -> SignKey | None:
    """The Ed25519 signing key if configured and present, else one derived from the chain
    key; None when there is neither (checkpoints are then not written)."""
    if config.signing_key is not None and config.signing_key.exists():
        key = load_key(config.signing_key)
        if isinstance(key, Ed25519PrivateKey):
            return key
    return checkpoint_hmac_key(config.hmac_key) if config.hmac_key is not None else None


class Housekeeping:
    def __init__(self, store: AuditStore, refusals: RefusalLog, config: AuditConfig) -> None:
        self.store = store
        self.refusals = refusals
        self.interval = config.checkpoint_interval_seconds
        self.path: Path | None = config.checkpoint_file
        self.key = checkpoint_key(config) if self.path is not None else None
        if self.path is not None and self.key is None:
            log.warning("[audit].checkpoint_file is set but there is no key to sign "
                        "checkpoints with (hmac_key_env or signing_key): none are written")
        self._last: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.once()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.once()

    async def once(self) -> None:
        try:
            await self.refusals.flush()
            if self.path is None or self.key is None:
                return
            head = await self.store.head()
            if head != self._last:
                await asyncio.to_thread(write_checkpoint, self.path, head[0], head[1],
                                        self.key)
                self._last = head
        except Exception:
            log.exception("audit housekeeping failed (refusal counts or checkpoint)")
