"""Schema extensions, one per file (strawberry's own layout)."""
