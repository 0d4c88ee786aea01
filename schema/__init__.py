"""Strawberry types, inputs and per-role schema building: no SQL, no HTTP."""
