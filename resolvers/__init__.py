"""GraphQL selections and arguments → canonical reads, and rows → the objects GraphQL shows.

`lists` (root connections, lookups, `node`, region subtrees), `relations` (batched with
per-request DataLoaders), `spending` (`spendingSummary`) and `audit_trail` (`auditRecords`,
`accessHistory`) read arguments with `filters`, `selection`, `cursors` and `ids`, and take the
request's road to the data (`context.gateway`: `connectors.gateway` with its refusals as the
GraphQL errors of `errors`). `objects` holds the row and page objects fields resolve on.
"""
