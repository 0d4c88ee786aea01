"""What a role granted the audit-trail queries (`auditRecords`, `accessHistory`; the demo's
discipline inspectors) may see of the trail.

The rule keeps an inspector from learning about rows outside what it may read itself:

- `auditRecords` shows only the records of principals whose region code lies inside the
  caller's jurisdiction. Anonymous (public) callers carry no region, so their records are never
  shown here; operators read them with `huitong audit export`.
- In those records, the row ids of an entity read are shown only when they cannot name a row
  the caller could not read itself: the caller reads that entity, without static row conditions
  (a `where` it lacks could hide rows the reader saw), and either reads it with `rows = "all"`,
  or the reader's role reads it within its jurisdiction and that jurisdiction lies inside the
  caller's. Otherwise the read is shown with its count and fields, and its ids are withheld,
  and so is their digest (for a few small ids it is found by trying them all). Ids of
  `AuditRecord` reads (someone read the audit trail) are seqs, shown when the reader's
  jurisdiction lies inside the caller's.
- `accessHistory` answers only for a row the caller can see (the resolver looks it up through
  the scoped gateway first; a hidden row answers like a missing one). Reads that listed the row
  are shown whoever made them — that is the question asked. Reads kept only as a digest (too
  many rows to list) are shown only for readers who could have seen the row: whose jurisdiction
  contains the row's region, or whose role reads the entity with `rows = "all"`.

Readers' grants are judged against the current policy: if a role's rows were narrowed since,
its older reads are judged as if they had been narrow too. Seqs are shown, so gaps between them
tell how many operations of others fell in between (a volume, not who or what).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from auth.access.policy import Policy, RolePolicy
from auth.identity.principal import Principal
from auth.model.regions import SEGMENT_ENDS, is_region_code, jurisdiction_prefix

AUDIT_ENTITY: Final = "AuditRecord"


def _prefix(code: str | None) -> str | None:
    return jurisdiction_prefix(code) if code is not None and is_region_code(code) else None


def enclosing_codes(region_code: str) -> tuple[str, ...]:
    """The codes of every region whose subtree holds `region_code` (itself included)."""
    if not is_region_code(region_code):
        return ()
    codes = (region_code[:end].ljust(12, "0") for end in SEGMENT_ENDS)
    return tuple(dict.fromkeys(c for c in codes if is_region_code(c)))


@dataclass(frozen=True)
class TrailScope:
    """One caller's view of the audit trail."""

    policy: Policy
    role: RolePolicy
    principal: Principal

    @property
    def prefix(self) -> str | None:
        """The caller's jurisdiction prefix; None (nothing visible) without a valid region."""
        return _prefix(self.principal.region_code)

    def records_prefix(self, narrowed_to: str | None = None) -> str | None:
        """The region prefix a record's principal must have; None when nothing can match."""
        mine = self.prefix
        if mine is None or narrowed_to is None:
            return mine
        other = _prefix(narrowed_to)
        if other is None:
            return None
        if other.startswith(mine):
            return other
        return mine if mine.startswith(other) else None

    def _inside(self, reader_code: str | None) -> bool:
        mine, theirs = self.prefix, _prefix(reader_code)
        return mine is not None and theirs is not None and theirs.startswith(mine)

    def ids_disclosed(self, entity: str, reader_role: str, reader_code: str | None) -> bool:
        """May the caller see the row ids `reader_role` at `reader_code` read of `entity`?"""
        if entity == AUDIT_ENTITY:
            return self._inside(reader_code)
        mine = self.role.grant(entity)
        if mine is None or not mine.read or mine.where:
            return False
        if mine.rows == "all":
            return True
        reader = self.policy.role(reader_role)
        theirs = reader.grant(entity) if reader is not None else None
        return theirs is not None and theirs.rows == "jurisdiction" and self._inside(reader_code)

    def digest_readers(
        self, entity: str, row_region: str | None
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(principal region codes, roles) whose digest reads of `entity` may hold a row of
        `row_region`: readers whose jurisdiction contains it, roles that read every region."""
        codes = enclosing_codes(row_region) if row_region is not None else ()
        return codes, tuple(self._roles_reading_all(entity))

    def _roles_reading_all(self, entity: str) -> Iterator[str]:
        for name, role in sorted(self.policy.roles.items()):
            grant = role.grant(entity)
            if grant is not None and grant.read and grant.rows == "all":
                yield name
