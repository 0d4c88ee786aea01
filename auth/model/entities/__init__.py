"""The catalog's domains, one module each: its entities (`ENTITIES`) and code lists (`ENUMS`).

`reference` (the region tree), `finance`, `civil_affairs` and `inspection` today; hub-owned
domains (supervision, publishing, sharing) join as modules of their own, each listed once in
`auth.model.catalog.DOMAINS`. Entities are declared with the builders of `auth.model.specs`.
"""
