"""Turn a GraphQL selection into scoped queries, call connectors, map rows."""
