"""A streaming export: every row of one list the caller may read, page by page through the road.

`ExportStream` reads keyset pages (by id) through `connectors.gateway.Gateway`, so each page is
scoped, masked and noted in the access log like any GraphQL read, and hands the encoded bytes
on as they come: memory holds one page whatever the export's size. `prepare()` reads the first
page before anything is sent, so a refusal or a failing source still gets a proper answer;
after that, what happened is kept in `ExportRun` (rows, bytes and their sha256, the last id
sent, whether it completed and why not), which the export's audit record is made from when the
stream ends — completed, failed mid-way, or abandoned by the client.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

from auth.audit import AccessLog, AuditEntry, DocumentInfo
from auth.identity.principal import Principal
from auth.model.ids import to_global_id
from auth.model.query import EntityQuery, OrderKey
from connectors.gateway import Gateway
from connectors.rows import Row

from .export_formats import XLSX_MAX_ROWS, Encoder, encoder_for
from .export_request import ExportRefused, ExportRequest, request_parameters

PAGE_SIZE: Final = 5000
_BY_ID: Final = (OrderKey("id"),)


@dataclass
class ExportRun:
    """What an export sent: the basis of its audit record."""

    rows: int = 0
    size: int = 0
    last_id: str | None = None
    completed: bool = False
    # Why it stopped short: "client disconnected", or the code of the failure.
    stopped: str | None = None
    _sha256: Any = field(default_factory=hashlib.sha256)

    def sent(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._sha256.update(chunk)

    @property
    def sha256(self) -> str:
        """sha256 of the bytes sent, so a received file can be checked against the trail, in
        Subresource-Integrity form (`sha256-<base64>`; hex would read as digit runs that the
        trail's redaction takes for card numbers)."""
        return "sha256-" + base64.b64encode(self._sha256.digest()).decode()

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "bytes": self.size, "sha256": self.sha256,
                "completed": self.completed, "stopped": self.stopped,
                "resume_after": self.last_id}

    @property
    def outcome(self) -> str:
        if self.completed:
            return "ok"
        return "partial" if self.rows else "error"


class ExportStream:
    """One export of `request` for the principal whose road `gateway` is."""

    def __init__(self, gateway: Gateway, request: ExportRequest, *,
                 page_size: int | None = None) -> None:
        self.gateway = gateway
        self.request = request
        self.page_size = page_size or PAGE_SIZE
        self.run = ExportRun()
        self.encoder: Encoder = encoder_for(request.format, request.entity, request.fields,
                                            encoding=request.encoding, title=request.root)
        self._first: list[Row] | None = None

    @property
    def media_type(self) -> str:
        return self.encoder.media_type

    def _query(self, after: str | None) -> EntityQuery:
        req = self.request
        return EntityQuery(req.entity, req.fields, req.where, _BY_ID, self.page_size,
                           (after,) if after is not None else None)

    async def count(self) -> int:
        """How many rows the export holds (from its start; for progress and sheet limits)."""
        return await self.gateway.count(EntityQuery(self.request.entity, ("id",),
                                                    self.request.where))

    async def prepare(self) -> None:
        """Check what can be checked before the first byte: the first page is read (so a
        refused purpose or a source that is down is answered properly), and an XLSX export
        must fit one sheet."""
        if self.request.format == "xlsx" and await self.count() > XLSX_MAX_ROWS:
            raise ExportRefused("TOO_MANY_ROWS", f"More than {XLSX_MAX_ROWS:,} rows do not fit "
                                "an XLSX sheet; export as csv or ndjson, or filter further.")
        self._first = await self.gateway.fetch(self._query(self.request.after))

    async def _pages(self) -> AsyncIterator[list[Row]]:
        if self._first is None:
            await self.prepare()
        page = self._first or []
        self._first = None
        while page:
            yield page
            if len(page) < self.page_size:
                return
            page = await self.gateway.fetch(self._query(str(page[-1]["id"])))

    async def chunks(self) -> AsyncIterator[bytes]:
        """The export's bytes; `run` says how far it got when the iteration stops."""
        run, encoder = self.run, self.encoder
        head = encoder.start()
        if head:
            run.sent(head)
            yield head
        async for page in self._pages():
            chunk = encoder.page(page)
            run.rows += len(page)
            run.last_id = to_global_id(self.request.entity, page[-1]["id"])
            if chunk:
                run.sent(chunk)
                yield chunk
        for chunk in encoder.finish():
            run.sent(chunk)
            yield chunk
        run.completed = True


def export_entry(principal: Principal, stream: ExportStream, log: AccessLog, *,
                 document: str, started_at: Any, duration_ms: float,
                 max_listed_ids: int) -> AuditEntry:
    """The audit record of one export: who, what was asked, the rows read (count and digest
    of their ids, from the access log) and what was sent (rows, bytes, sha256, how it
    ended, and where to resume)."""
    run = stream.run
    return AuditEntry.build(
        principal, document=DocumentInfo.of_text(document),
        operation_name=f"export {stream.request.root}.{stream.request.format}",
        variables=request_parameters(stream.request), log=log, outcome=run.outcome,
        duration_ms=duration_ms, errors=[run.stopped] if run.stopped and not
        run.stopped.startswith("client") else [], at=started_at,
        extra={"export": run.summary()}, max_listed_ids=max_listed_ids,
    )
