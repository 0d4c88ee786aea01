"""Root fields beyond the entities' own, one module per area of the hub (the audit trail)."""
