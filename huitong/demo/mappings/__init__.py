"""Mapping files of the three demo sources (package only so that they ship as package data)."""
