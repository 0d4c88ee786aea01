"""The assembly: the app factory (`app`), settings (`settings`), the hub that opens stores and
connectors once (`hub`), the GraphQL view (`graphql_view`, strict request parsing), the audit
recorder (`audit_recorder`), the sources (`sources`), the CLI (`cli`, `commands/`) and the demo
data (`demo/`). It mounts the routes; everything below it is in `schema`, `resolvers`,
`supervision`, `publishing`, `connectors`, `auth` and `portal`.
"""
