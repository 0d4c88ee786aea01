"""Principals, tokens, the access policy and its enforcement, masking and audit."""
