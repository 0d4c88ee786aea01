"""Who may see what, and the record of what they saw. Imports no other package of the hub.

- `auth.model`: the canonical data model every package shares: the catalog of entities (one
  module per domain in `auth.model.entities`), the query types, the hub's operations, region
  codes, ID numbers and the time convention.
- `auth.identity`: principals, bearer tokens, API keys, authentication and its settings.
- `auth.access`: the policy (roles as data, default deny), scoping queries, masking,
  small-group suppression, purpose rules and `policy explain`.
- `auth.audit`: the hash-chained audit trail: the access log of a request, records, the
  store, verification, signed exports, search and what the audit-trail queries may show.
- `auth.sharing`: the sharing catalogue, applications and grants (to come).
"""
