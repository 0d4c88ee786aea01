"""The canonical data model, importable from every package: the catalog of entities
(`catalog`, declared per domain in `entities/`), the query types connectors accept
(`query`), the hub's operations (`operations`), region codes (`regions`), resident ID numbers
(`idnumbers`) and the time convention (`time`). Pure: it imports nothing else of the hub.
"""
