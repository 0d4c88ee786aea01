"""The canonical data model, importable from every package: the catalog of entities
(`catalog`), the query types connectors accept (`query`), region codes (`regions`) and
resident ID numbers (`idnumbers`). Pure: it imports nothing else of the hub.
"""
