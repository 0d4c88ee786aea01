"""Bearer JWTs: mint HS256 development tokens; verify HS256, RS256 and ES256 tokens into principals.

All parsing and signature checks are PyJWT's. The allowed algorithms come from the configuration
(HS256 only with a secret, RS256/ES256 only with a JWKS), never from the token's own header.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from auth.identity.authenticate import AuthenticationUnavailable, InvalidCredentials
from auth.identity.config import ASYMMETRIC_ALGORITHMS, AuthConfig, check_secret, is_jwks_url
from auth.identity.principal import Principal
from auth.model.regions import BadRegionCode, check_region_code

log = logging.getLogger(__name__)


class TokenLifetimeTooLong(InvalidCredentials):
    """A token valid for longer than `[auth].max_token_lifetime_seconds`: 401 like any other
    unacceptable token, with its own code so that its issuer can tell what to change."""

    code = "TOKEN_LIFETIME_TOO_LONG"


INVALID = "The bearer token is invalid."
EXPIRED = "The bearer token has expired."
NOT_YET_VALID = "The bearer token is not valid yet."
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub", "role", "region")
# A verified token is trusted again, until its expiry, for this long (and, for a JWKS key,
# while its kid is still among the keys loaded): long enough to spare the signature check on
# a client's stream of requests, short enough to notice a key withdrawn from the JWKS.
VERIFIED_SECONDS = 60.0
MAX_VERIFIED = 4096
MAX_JWKS_BYTES = 1 << 20


def mint_token(
    secret: str,
    *,
    subject: str,
    role: str,
    region_code: str,
    agency: str | None = None,
    purpose: str | None = None,
    ttl_seconds: int = 3600,
    issuer: str = "huitong",
    audience: str = "huitong",
) -> str:
    """An HS256 development token; ValueError if an argument would make it unverifiable."""
    check_secret(secret)
    check_region_code(region_code)
    if not subject.strip():
        raise ValueError("subject must be a non-empty string")
    if not role.strip():
        raise ValueError("role must be a non-empty string")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    if any(value is not None and not value.strip() for value in (agency, purpose)):
        raise ValueError("agency and purpose must be non-empty when given")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "role": role,
        "region": region_code,
    }
    if agency is not None:
        claims["agency"] = agency
    if purpose is not None:
        claims["purpose"] = purpose
    return jwt.encode(claims, secret, algorithm="HS256")


class JwksKeys:
    """Signing keys by `kid` from a JWKS file or URL, cached; refetched once on an unknown kid."""

    def __init__(
        self,
        location: str,
        cache_seconds: float,
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout_seconds: float = 5.0,
        min_refetch_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._location = location
        self._cache_seconds = cache_seconds
        self._client = http_client
        self._timeout = timeout_seconds
        # Bounds how often tokens with made-up kids can make us hit the JWKS endpoint.
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = 0.0
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    def knows(self, kid: str) -> bool:
        """Whether `kid` is among the keys loaded last (no fetch)."""
        return self._keys is not None and kid in self._keys

    async def key(self, kid: str) -> PyJWK:
        async with self._lock:
            if self._keys is None or self._clock() - self._fetched_at >= self._cache_seconds:
                await self._reload()
            assert self._keys is not None
            found = self._keys.get(kid)
            if found is None and self._clock() - self._fetched_at >= self._min_refetch:
                await self._reload()
                found = self._keys.get(kid)
        if found is None:
            raise InvalidCredentials("The bearer token's signing key (kid) is not known here.")
        return found

    async def _reload(self) -> None:
        unavailable = AuthenticationUnavailable(
            "The token signing keys could not be loaded; try again later."
        )
        if (
            self._keys is None
            and self._failed_at is not None
            and self._clock() - self._failed_at < self._min_refetch
        ):
            # While the endpoint is down, don't let every request wait on another timeout.
            raise unavailable
        try:
            document = await self._load()
            keys = _usable_keys(document)
        except (OSError, ValueError, httpx.HTTPError) as exc:
            log.warning("could not load the JWKS from %s: %s", self._location, exc)
            self._failed_at = self._clock()
            if self._keys is None:
                raise unavailable from None
            # Keep serving the keys we had rather than locking every user out.
            self._fetched_at = self._clock()
            return
        self._keys = keys
        self._fetched_at = self._clock()
        self._failed_at = None

    async def _load(self) -> Any:
        if not is_jwks_url(self._location):
            data = await asyncio.to_thread(Path(self._location).read_bytes)
        elif self._client is not None:
            data = await self._fetch(self._client)
        else:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                data = await self._fetch(client)
        if len(data) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document is larger than 1 MiB")
        return json.loads(data)

    async def _fetch(self, client: httpx.AsyncClient) -> bytes:
        response = await client.get(self._location, timeout=self._timeout)
        response.raise_for_status()
        return response.content


def _usable_keys(document: Any) -> dict[str, PyJWK]:
    """Public signing keys with a kid; symmetric (`oct`) keys in a JWKS are never trusted."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    keys: dict[str, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("kty") not in ("RSA", "EC") or entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ASYMMETRIC_ALGORITHMS:
            keys[entry["kid"]] = key
    if not keys:
        raise ValueError("JWKS document has no usable RS256/ES256 keys with a kid")
    return keys


class TokenVerifier:
    """Checks a bearer JWT's signature, exp/nbf/iss/aud and claims; returns its principal."""

    def __init__(
        self,
        config: AuthConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        min_refetch_seconds: float = 10.0,
    ) -> None:
        self._config = config
        self._jwks = (
            JwksKeys(
                config.jwks,
                config.jwks_cache_seconds,
                http_client=http_client,
                min_refetch_seconds=min_refetch_seconds,
                clock=clock,
            )
            if config.jwks is not None
            else None
        )
        self._clock = clock
        # token → (principal, not before, expires, verified at (clock), its JWKS kid)
        self._verified: dict[str, tuple[Principal, float, float, float, str | None]] = {}

    async def verify(self, token: str) -> Principal:
        """The token's principal; a token verified in the last minute is not checked again
        (its signature cannot have changed), only its expiry and start times."""
        now, tick = time.time(), self._clock()
        cached = self._verified.get(token)
        if cached is not None:
            principal, not_before, expires, checked, kid = cached
            if not_before <= now < expires and tick - checked < VERIFIED_SECONDS and (
                    kid is None or (self._jwks is not None and self._jwks.knows(kid))):
                return principal
            del self._verified[token]
        principal, claims, kid = await self._verify(token)
        leeway = self._config.leeway_seconds
        not_before = float(claims.get("nbf", now)) - leeway
        expires = float(claims["exp"]) + leeway
        if len(self._verified) >= MAX_VERIFIED:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (principal, not_before, expires, tick, kid)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, dict[str, Any], str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidCredentials(INVALID) from None
        alg = header.get("alg")
        if alg not in self._config.algorithms:
            raise InvalidCredentials("The bearer token's signing algorithm is not accepted here.")
        key: str | PyJWK
        kid = None
        if alg == "HS256":
            assert self._config.hs256_secret is not None
            key = self._config.hs256_secret
        else:
            assert self._jwks is not None
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidCredentials("The bearer token has no key id (kid).")
            key = await self._jwks.key(kid)
        claims = self._decode(token, key, alg)
        self._check_lifetime(claims)
        return _principal(claims, token), claims, kid

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        exp, iat = claims["exp"], claims.get("iat")
        start = iat if isinstance(iat, int | float) and not isinstance(iat, bool) \
            else time.time()
        limit = self._config.max_token_lifetime_seconds
        if exp - start > limit + self._config.leeway_seconds:
            raise TokenLifetimeTooLong(
                f"The bearer token is valid for longer than this hub accepts ({limit} seconds); "
                "ask for a token with a shorter lifetime.")

    def _decode(self, token: str, key: str | PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._config.audience,
                issuer=self._config.issuer,
                leeway=self._config.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidCredentials(EXPIRED) from None
        except jwt.ImmatureSignatureError:
            raise InvalidCredentials(NOT_YET_VALID) from None
        except jwt.InvalidIssuerError:
            raise InvalidCredentials("The bearer token comes from an untrusted issuer.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidCredentials(f"The bearer token has no '{exc.claim}' claim.") from None
        except jwt.InvalidAudienceError:
            raise InvalidCredentials("The bearer token is meant for another audience.") from None
        except jwt.PyJWTError:
            raise InvalidCredentials(INVALID) from None


def _principal(claims: dict[str, Any], token: str) -> Principal:
    def optional_text(name: str) -> str | None:
        value = claims.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidCredentials(f"The bearer token's '{name}' claim must be a string.")
        return value

    subject, role = claims["sub"], claims["role"]
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidCredentials("The bearer token's 'sub' claim must be a non-empty string.")
    if not isinstance(role, str) or not role.strip():
        raise InvalidCredentials("The bearer token's 'role' claim must be a non-empty string.")
    region = claims["region"]
    try:
        check_region_code(region)
    except (BadRegionCode, TypeError):
        raise InvalidCredentials(
            "The bearer token's 'region' claim is not a 12-digit region code."
        ) from None
    jti = optional_text("jti")
    if jti is None:
        # Not every identity provider sets jti; the audit still needs a handle for this token.
        signature = token.rsplit(".", 1)[-1].encode("ascii")
        jti = "sha256-" + hashlib.sha256(signature).hexdigest()[:32]
    return Principal(
        subject=subject,
        role=role,
        agency=optional_text("agency"),
        region_code=region,
        purpose=optional_text("purpose"),
        credential=f"jwt:{jti}",
    )
