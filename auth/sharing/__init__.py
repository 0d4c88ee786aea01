"""Data sharing (数据共享): the catalogue of what each department shares and on what terms,
access applications and their decisions, and grants that widen a role's policy for one
agency, entity, fields and region as overlays on the access policy. Empty until the sharing
catalogue is built; it belongs to `auth` because a grant is an access decision.
"""
