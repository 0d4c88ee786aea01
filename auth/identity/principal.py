"""Who is asking: the frozen principal every request carries from authentication on."""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC_ROLE = "public"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: str
    agency: str | None = None
    region_code: str | None = None
    purpose: str | None = None
    # How the caller proved itself: "jwt:<jti>", "apikey:<id>" or "anonymous".
    credential: str = "anonymous"

    @property
    def is_public(self) -> bool:
        return self.role == PUBLIC_ROLE


PUBLIC = Principal(subject="anonymous", role=PUBLIC_ROLE)
