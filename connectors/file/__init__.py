"""The `file` kind: CSV/XLSX drops from legacy systems. `config` says where the drops are and
which file feeds which entity, `read` turns bytes into numbered rows (encoding, dialect,
header), `validate` checks each cell, `parse` a whole drop, `load` puts valid rows into the
hub store (bad ones aside, with line and reason), `store` holds the tables and reads them back
with the SQL kind, `connector` serves them, `factory` builds it."""
