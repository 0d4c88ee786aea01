"""Connectors: the one road to the data, and the kinds of source it leads to.

- `gateway`: the one road (scope → connector → mask → access log) that resolvers and the hub's
  own services alike take, free of GraphQL; and `Sources`, which routes entities to connectors.
- `base`: the small interface every kind implements, its errors and optional hooks.
- `rows`: the row protocol between connectors and resolvers.
- `mapping`: a source's names and codes mapped onto the catalog; `in_memory`: hub-side
  evaluation of scoped queries for sources that cannot evaluate them.
- `registry`: every kind by name, with its factory.
- `sql/`, `rest/`, `file/`: one subpackage per kind; each talks to its source, nothing else.

Nothing here imports GraphQL or HTTP-server code: strawberry, graphql-core and starlette stay
above, in `resolvers`, `schema` and `huitong`.
"""
