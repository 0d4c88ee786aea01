"""Turn a request's Authorization and X-Huitong-Purpose headers into a frozen `Principal`.

No Authorization header means the public principal. A header that is present must carry a
valid credential: anything else raises `InvalidCredentials`, never falls back to public. The
app turns the exception into HTTP `status` (401 unless a subclass says otherwise) with
`{"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}` and, for 401,
`WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import ClassVar, Protocol

from auth.identity.principal import PUBLIC, Principal

PURPOSE_HEADER = "X-Huitong-Purpose"
MAX_PURPOSE_LENGTH = 200
# A JWT or API key longer than this is not one we issued or would accept; refuse before parsing.
MAX_CREDENTIAL_LENGTH = 8192


class InvalidCredentials(Exception):
    """A credential was presented and is not acceptable. `message` is safe to show the caller."""

    status: ClassVar[int] = 401
    code: ClassVar[str] = "UNAUTHENTICATED"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationUnavailable(InvalidCredentials):
    """The credential could not be checked (e.g. the JWKS URL is down): 503, still not public."""

    status: ClassVar[int] = 503
    code: ClassVar[str] = "AUTHENTICATION_UNAVAILABLE"


class InvalidPurpose(InvalidCredentials):
    """The X-Huitong-Purpose header is unusable for the audit record: 400."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_USER_INPUT"


UNSUPPORTED_SCHEME = "Unsupported Authorization scheme; use Bearer or ApiKey."


class CredentialVerifier(Protocol):
    """`TokenVerifier` and `ApiKeyStore` both fit: a credential string in, a principal out."""

    async def verify(self, credential: str, /) -> Principal: ...


class Authenticator:
    """One request's headers in, one principal out (Starlette AuthenticationBackend style)."""

    def __init__(
        self,
        tokens: CredentialVerifier | None = None,
        api_keys: CredentialVerifier | None = None,
    ) -> None:
        self._verifiers: dict[str, tuple[CredentialVerifier | None, str]] = {
            "bearer": (tokens, "Bearer tokens are not accepted by this hub."),
            "apikey": (api_keys, "API keys are not accepted by this hub."),
        }

    async def authenticate(
        self, authorization_header: str | None, purpose_header: str | None
    ) -> Principal:
        purpose = _purpose(purpose_header)
        if authorization_header is None:
            principal = PUBLIC
        else:
            principal = await self._verify(authorization_header)
        if purpose is not None:
            principal = dataclasses.replace(principal, purpose=purpose)
        return principal

    async def _verify(self, header: str) -> Principal:
        scheme, _, credential = header.strip().partition(" ")
        entry = self._verifiers.get(scheme.lower())
        if entry is None:
            raise InvalidCredentials(UNSUPPORTED_SCHEME)
        verifier, disabled_message = entry
        credential = credential.strip()
        if not credential:
            raise InvalidCredentials(f"The Authorization header has no credential after {scheme}.")
        if len(credential) > MAX_CREDENTIAL_LENGTH:
            raise InvalidCredentials("The credential in the Authorization header is too long.")
        if verifier is None:
            raise InvalidCredentials(disabled_message)
        return await verifier.verify(credential)


def _purpose(header: str | None) -> str | None:
    if header is None:
        return None
    purpose = header.strip()
    # HTTP servers hand header bytes over as latin-1; clients send Chinese purposes as UTF-8.
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        purpose = purpose.encode("latin-1").decode("utf-8")
    if not purpose:
        return None
    if len(purpose) > MAX_PURPOSE_LENGTH:
        raise InvalidPurpose(
            f"The {PURPOSE_HEADER} header is longer than {MAX_PURPOSE_LENGTH} characters."
        )
    if not purpose.isprintable():
        raise InvalidPurpose(f"The {PURPOSE_HEADER} header contains control characters.")
    return purpose
