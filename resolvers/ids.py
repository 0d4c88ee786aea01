"""Opaque global ids (`node(id:)`), as `auth.model.ids` defines them for every surface."""

from __future__ import annotations

from auth.model.ids import from_global_id, to_global_id

__all__ = ["from_global_id", "to_global_id"]
