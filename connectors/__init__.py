"""Connectors: one module per source kind. They speak to a source and nothing else."""
