"""The `sql` kind: any SQLAlchemy async URL. `compile` turns scoped queries into one
statement each (bound parameters, names only from the checked mapping), `connector` runs them
and converts rows, `factory` builds it from a source's settings."""
