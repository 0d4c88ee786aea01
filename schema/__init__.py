"""The GraphQL schema, one per role, built once at start-up — no SQL here.

`build` assembles a role's schema from the catalog and its grants: `entities` (object,
connection and edge types with only the granted fields), `inputs` (filters and orders),
`enums`, `scalars` (Money, RegionCode), the root fields contributed by `contributions` (one
module per area: the audit trail today) and the `extensions` (masking unexpected errors,
validation without hints, limits). `execution` is the fast path through rows' plain fields;
`namespace` gives each role's generated classes a module of their own. Committed SDL of every
role lives in `sdl/`.
"""
