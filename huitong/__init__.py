"""The hub: app factory, settings, CLI, demo data."""
