"""Demo data: three legacy-style source databases (finance, civil affairs, inspection) and
the mapping files that map their tables onto the canonical entities.

`generate(urls, scale=…, seed=…)` fills them deterministically; `sqlite_urls(dir)` gives the
embedded default; `MAPPINGS_DIR` holds `finance.toml`, `civil_affairs.toml` and
`inspection.toml` for the `sql` connector.
"""

from .generate import MAPPING_FILES, MAPPINGS_DIR, DemoSummary, DemoUrls, generate, sqlite_urls

__all__ = ["MAPPINGS_DIR", "MAPPING_FILES", "DemoSummary", "DemoUrls", "generate",
           "sqlite_urls"]
