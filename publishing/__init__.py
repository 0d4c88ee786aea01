"""Publishing and pulls (三务公开 and bulk data): the disclosure workflow (draft, review,
publish, withdraw, with versions and content hashes), the change feed for incremental pulls,
the streaming export of a list (NDJSON, CSV, XLSX) and periodic reports.

Services, not endpoints: no GraphQL and no HTTP here (`schema`, `resolvers` and `huitong`
expose them). Every read and write goes through `connectors.gateway` under the caller's (or a
named system principal's) policy, scoped, masked and audited with digests. Imports
`connectors` and `auth`, never `supervision`.
"""
