"""Who is asking: the frozen principal every request carries from authentication on.

Callers become principals by authenticating (a JWT, an API key, or nothing: `PUBLIC`). The
hub's own background work (the risk scanner, exports, publishing) acts as a named system
principal (`system_principal`): it takes the same road to the data as any caller, in a role
of the policy, scoped, masked and audited, and its records say which job it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PUBLIC_ROLE: Final = "public"
SYSTEM_PREFIX: Final = "system:"
_SYSTEM_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: str
    agency: str | None = None
    region_code: str | None = None
    purpose: str | None = None
    # How the caller proved itself: "jwt:<jti>", "apikey:<id>", "system:<job>" or "anonymous".
    credential: str = "anonymous"

    @property
    def is_public(self) -> bool:
        return self.role == PUBLIC_ROLE

    @property
    def is_system(self) -> bool:
        return self.credential.startswith(SYSTEM_PREFIX)


PUBLIC = Principal(subject="anonymous", role=PUBLIC_ROLE)


def system_principal(
    name: str, *, role: str, region_code: str | None = None, agency: str | None = None,
    purpose: str | None = None,
) -> Principal:
    """The principal of one kind of background work, e.g. `system_principal("risk-scanner",
    role="discipline_inspector", region_code="330000000000")`: it sees what that role sees
    there, no more. `name` is lower-case letters, digits, `-` and `_`."""
    if not _SYSTEM_NAME.fullmatch(name):
        raise ValueError(f"a system principal's name is lower-case letters, digits, - and _ "
                         f"(starting with a letter), not {name!r}")
    if not role.strip() or role == PUBLIC_ROLE:
        raise ValueError("a system principal acts in a named, non-public role")
    return Principal(subject=f"{SYSTEM_PREFIX}{name}", role=role, agency=agency,
                     region_code=region_code, purpose=purpose,
                     credential=f"{SYSTEM_PREFIX}{name}")
