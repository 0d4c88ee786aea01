"""Bearer JWTs: HS256 with a secret, RS256/ES256 against a JWKS file or URL; the Authenticator."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from auth.identity.authenticate import (
    UNSUPPORTED_SCHEME,
    AuthenticationUnavailable,
    Authenticator,
    InvalidCredentials,
    InvalidPurpose,
)
from auth.identity.config import AuthConfig
from auth.identity.principal import PUBLIC
from auth.identity.tokens import EXPIRED, INVALID, NOT_YET_VALID, TokenVerifier, mint_token

SECRET = secrets.token_urlsafe(48)
REGION = "330108001000"
HS = AuthConfig(hs256_secret=SECRET)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": "huitong", "aud": "huitong", "sub": "alice", "iat": now, "nbf": now,
        "exp": now + 600, "jti": "j-1", "role": "civil_affairs", "region": REGION,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


async def rejected(config: AuthConfig, token: str) -> str:
    with pytest.raises(InvalidCredentials) as info:
        await TokenVerifier(config).verify(token)
    assert info.value.status == 401 and info.value.code == "UNAUTHENTICATED"
    return info.value.message


# --- HS256 -----------------------------------------------------------------------------------


async def test_minted_token_verifies_into_principal() -> None:
    token = mint_token(SECRET, subject="alice", role="civil_affairs", region_code=REGION,
                       agency="滨江区民政局", purpose="三务公开核对", ttl_seconds=120)
    principal = await TokenVerifier(HS).verify(token)
    assert principal.subject == "alice" and principal.role == "civil_affairs"
    assert principal.region_code == REGION and principal.agency == "滨江区民政局"
    assert principal.purpose == "三务公开核对"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="huitong")
    assert principal.credential == f"jwt:{payload['jti']}"
    assert payload["exp"] - payload["iat"] == 120 and payload["nbf"] == payload["iat"]


def test_mint_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="region code"):
        mint_token(SECRET, subject="a", role="r", region_code="33010800100")
    with pytest.raises(ValueError, match="32 bytes"):
        mint_token("short", subject="a", role="r", region_code=REGION)
    with pytest.raises(ValueError, match="ttl"):
        mint_token(SECRET, subject="a", role="r", region_code=REGION, ttl_seconds=0)
    with pytest.raises(ValueError, match="agency"):
        mint_token(SECRET, subject="a", role="r", region_code=REGION, agency=" ")


async def test_expired_rejected_but_leeway_respected() -> None:
    now = int(time.time())
    assert await rejected(HS, hs(claims(exp=now - 31, iat=now - 100, nbf=now - 100))) == EXPIRED
    principal = await TokenVerifier(HS).verify(hs(claims(exp=now - 10)))
    assert principal.subject == "alice"


async def test_not_yet_valid_rejected() -> None:
    now = int(time.time())
    assert await rejected(HS, hs(claims(nbf=now + 120))) == NOT_YET_VALID
    assert await rejected(HS, hs(claims(iat=now + 120))) == NOT_YET_VALID


async def test_wrong_issuer_audience_and_secret() -> None:
    assert "issuer" in await rejected(HS, hs(claims(iss="someone-else")))
    assert "audience" in await rejected(HS, hs(claims(aud="another-hub")))
    assert await rejected(HS, hs(claims(), secret=secrets.token_urlsafe(48))) == INVALID
    custom = AuthConfig(hs256_secret=SECRET, issuer="idp", audience="hub")
    assert (await TokenVerifier(custom).verify(hs(claims(iss="idp", aud=["x", "hub"])))).role


async def test_alg_none_and_tampering_rejected() -> None:
    unsigned = jwt.encode(claims(), "", algorithm="none")
    assert "algorithm" in await rejected(HS, unsigned)
    head, body, sig = hs(claims()).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["role"] = "discipline_inspector"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    assert await rejected(HS, f"{head}.{forged}.{sig}") == INVALID
    assert await rejected(HS, "not-a-jwt") == INVALID
    assert await rejected(HS, f"{head}.{body}.") == INVALID


@pytest.mark.parametrize("claim", ["sub", "role", "region", "exp", "iss", "aud"])
async def test_missing_claims_rejected(claim: str) -> None:
    assert f"'{claim}'" in await rejected(HS, hs(claims(**{claim: None})))


@pytest.mark.parametrize("region", ["33010800100", "000000000000", "33010800100x", 330108001000])
async def test_bad_region_rejected(region: object) -> None:
    assert "region" in await rejected(HS, hs(claims(region=region)))


@pytest.mark.parametrize("field", [{"role": ""}, {"role": 7}, {"sub": " "}, {"agency": 3}])
async def test_bad_claim_values_rejected(field: dict[str, Any]) -> None:
    await rejected(HS, hs(claims(**field)))


async def test_token_without_jti_gets_stable_credential() -> None:
    token = hs(claims(jti=None))
    first = await TokenVerifier(HS).verify(token)
    assert first.credential.startswith("jwt:sha256-")
    assert (await TokenVerifier(HS).verify(token)).credential == first.credential


async def test_hs256_refused_when_only_jwks_configured(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(rsa_key(), "r1")]}))
    assert "algorithm" in await rejected(AuthConfig(jwks=str(path)), hs(claims()))
    assert "not accepted" in await rejected(AuthConfig(), hs(claims()))


# --- RS256 / ES256 against a JWKS ------------------------------------------------------------


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwk(private: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else ECAlgorithm
    data: dict[str, Any] = json.loads(algorithm.to_jwk(private.public_key()))
    data.update(kid=kid, use="sig")
    return data


def signed(private: Any, kid: str | None, **overrides: Any) -> str:
    alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**overrides), private, algorithm=alg, headers=headers)


async def test_rs256_and_es256_from_jwks_file(tmp_path: Path) -> None:
    rsa_private, ec_private = rsa_key(), ec_key()
    path = tmp_path / "jwks.json"
    oct_secret = secrets.token_bytes(32)
    oct_key = {"kty": "oct", "kid": "h", "k": base64.urlsafe_b64encode(oct_secret).decode()}
    keys = [jwk(rsa_private, "rsa-1"), jwk(ec_private, "ec-1"), oct_key]
    path.write_text(json.dumps({"keys": keys}))
    config = AuthConfig(jwks=str(path))
    verifier = TokenVerifier(config)
    assert (await verifier.verify(signed(rsa_private, "rsa-1", sub="r"))).subject == "r"
    assert (await verifier.verify(signed(ec_private, "ec-1", sub="e"))).subject == "e"
    assert "kid" in await rejected(config, signed(rsa_private, None))
    assert "kid" in await rejected(config, signed(rsa_private, "nope"))
    # An RS256 token naming the EC key's kid must not verify, whatever it claims.
    assert await rejected(config, signed(rsa_private, "ec-1")) == INVALID
    assert await rejected(config, signed(rsa_key(), "rsa-1")) == INVALID
    assert await rejected(config, signed(ec_private, "ec-1", exp=int(time.time()) - 60)) == EXPIRED
    # A symmetric key in the JWKS is never used, even with HS256 allowed by a secret.
    assert "kid" in await rejected(config, signed(rsa_private, "h"))
    mixed = AuthConfig(hs256_secret=SECRET, jwks=str(path))
    forged = jwt.encode(claims(), oct_secret, algorithm="HS256", headers={"kid": "h"})
    assert await rejected(mixed, forged) == INVALID


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 whose key set and health the test can change."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.hits = 0
        self.failing = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = b"oops" if server.failing else json.dumps(server.document).encode()
                self.send_response(500 if server.failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join(5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_jwks_url_cached_rotated_and_refetched(jwks_server: JwksServer) -> None:
    old, new, ec_private = rsa_key(), rsa_key(), ec_key()
    jwks_server.document = {"keys": [jwk(old, "k1"), jwk(ec_private, "e1")]}
    clock = Clock()
    config = AuthConfig(jwks=jwks_server.url, jwks_cache_seconds=300)
    verifier = TokenVerifier(config, clock=clock)

    assert (await verifier.verify(signed(old, "k1"))).role == "civil_affairs"
    assert (await verifier.verify(signed(ec_private, "e1"))).role == "civil_affairs"
    assert jwks_server.hits == 1

    # Rotation: k2 replaces k1. The unknown kid triggers exactly one refetch.
    jwks_server.document = {"keys": [jwk(new, "k2")]}
    clock.now += 30
    assert (await verifier.verify(signed(new, "k2"))).subject == "alice"
    assert jwks_server.hits == 2
    with pytest.raises(InvalidCredentials, match="kid"):
        await verifier.verify(signed(old, "k1"))
    assert jwks_server.hits == 2  # made-up kids cannot hammer the endpoint

    clock.now += 11
    with pytest.raises(InvalidCredentials, match="kid"):
        await verifier.verify(signed(old, "k1"))
    assert jwks_server.hits == 3

    # Cache expiry refetches; a failing endpoint keeps the keys already known.
    jwks_server.failing = True
    clock.now += 301
    assert (await verifier.verify(signed(new, "k2"))).subject == "alice"
    assert jwks_server.hits == 4


async def test_unreachable_jwks_is_unavailable_not_public(jwks_server: JwksServer) -> None:
    jwks_server.failing = True
    private = rsa_key()
    clock = Clock()
    verifier = TokenVerifier(AuthConfig(jwks=jwks_server.url), clock=clock)
    with pytest.raises(AuthenticationUnavailable) as info:
        await verifier.verify(signed(private, "k1"))
    assert info.value.status == 503 and jwks_server.hits == 1
    with pytest.raises(AuthenticationUnavailable):
        await verifier.verify(signed(private, "k1"))
    assert jwks_server.hits == 1  # no retry storm while it is down
    jwks_server.failing = False
    jwks_server.document = {"keys": [jwk(private, "k1")]}
    clock.now += 11
    assert (await verifier.verify(signed(private, "k1"))).subject == "alice"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/jwks.json"
    with pytest.raises(AuthenticationUnavailable):
        await TokenVerifier(AuthConfig(jwks=closed)).verify(signed(private, "k1"))


# --- AuthConfig.from_table -------------------------------------------------------------------


def test_config_defaults_and_secret_from_environment(tmp_path: Path) -> None:
    bare = AuthConfig.from_table({}, "huitong.toml", {})
    assert bare.algorithms == () and bare.issuer == "huitong" and bare.leeway_seconds == 30
    config = AuthConfig.from_table(
        {"hs256_secret_env": "MY_SECRET", "issuer": "idp", "audience": "hub", "leeway_seconds": 5},
        "huitong.toml", {"MY_SECRET": SECRET},
    )
    assert config.hs256_secret == SECRET and config.algorithms == ("HS256",)
    assert SECRET not in repr(config)
    (tmp_path / "keys.json").write_text("{}")
    relative = AuthConfig.from_table({"jwks": "keys.json"}, "x.toml", {}, base_dir=tmp_path)
    assert relative.jwks == str(tmp_path / "keys.json")
    assert relative.algorithms == ("RS256", "ES256")
    url = AuthConfig.from_table({"jwks": "https://idp.example/jwks"}, "x.toml", {})
    assert url.jwks == "https://idp.example/jwks"


@pytest.mark.parametrize(
    ("table", "environ", "message"),
    [
        ({"issuer": 3}, {}, "huitong.toml: [auth].issuer: expected a non-empty string"),
        ({"audience": ""}, {}, "huitong.toml: [auth].audience: expected a non-empty string"),
        ({"leeway_seconds": -1}, {}, "[auth].leeway_seconds: expected a whole number"),
        ({"leeway_seconds": True}, {}, "[auth].leeway_seconds: expected a whole number"),
        ({"jwks": "/no/such/jwks.json"}, {}, "[auth].jwks: expected a JWKS file"),
        ({"isuser": "x"}, {}, "[auth].isuser: unknown key"),
        ({}, {"HUITONG_JWT_SECRET": "tiny-value"}, "[auth].hs256_secret_env: the secret in"),
    ],
)
def test_config_errors_name_file_and_key(
    table: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as info:
        AuthConfig.from_table(table, "huitong.toml", environ)
    assert message in str(info.value)
    assert "tiny-value" not in str(info.value)


# --- Authenticator: headers to principal -----------------------------------------------------


async def test_authenticator_bearer_and_public() -> None:
    auth = Authenticator(tokens=TokenVerifier(HS))
    assert await auth.authenticate(None, None) == PUBLIC
    assert (await auth.authenticate(None, "核查")).purpose == "核查"
    token = hs(claims(purpose="from-token"))
    principal = await auth.authenticate(f"Bearer {token}", None)
    assert principal.role == "civil_affairs" and principal.purpose == "from-token"
    assert (await auth.authenticate(f"bearer  {token} ", "override")).purpose == "override"
    mojibake = "专项检查".encode().decode("latin-1")
    assert (await auth.authenticate(f"Bearer {token}", mojibake)).purpose == "专项检查"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Basic YWxpY2U6cHc=", UNSUPPORTED_SCHEME),
        ("", UNSUPPORTED_SCHEME),
        ("Token abc", UNSUPPORTED_SCHEME),
        ("Bearer", "no credential"),
        ("Bearer   ", "no credential"),
        ("Bearer " + "a" * 9000, "too long"),
        ("ApiKey ht_0123456789abcdef_x", "API keys are not accepted"),
        ("Bearer garbage", INVALID),
    ],
)
async def test_authenticator_rejects_bad_headers(header: str, message: str) -> None:
    auth = Authenticator(tokens=TokenVerifier(HS))
    with pytest.raises(InvalidCredentials) as info:
        await auth.authenticate(header, None)
    assert message in info.value.message and info.value.status == 401


async def test_authenticator_expired_token_is_401_not_public() -> None:
    now = int(time.time())
    token = hs(claims(exp=now - 3600, iat=now - 7200, nbf=now - 7200))
    with pytest.raises(InvalidCredentials, match="expired"):
        await Authenticator(tokens=TokenVerifier(HS)).authenticate(f"Bearer {token}", None)


async def test_authenticator_bad_purpose_is_400() -> None:
    auth = Authenticator()
    with pytest.raises(InvalidPurpose) as info:
        await auth.authenticate(None, "x" * 201)
    assert info.value.status == 400
    with pytest.raises(InvalidPurpose):
        await auth.authenticate(None, "line\nbreak")


async def test_a_verified_token_is_not_checked_again_until_it_expires(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = AuthConfig(hs256_secret=SECRET, leeway_seconds=0)
    verifier = TokenVerifier(config)
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    token = hs(claims(exp=int(time.time()) + 2))
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first and len(decoded) == 1
    other = hs(claims(sub="bob"))
    assert (await verifier.verify(other)).subject == "bob" and len(decoded) == 2
    time.sleep(max(0.0, int(time.time()) + 2.05 - time.time()))
    with pytest.raises(InvalidCredentials) as info:
        await verifier.verify(token)  # expired while cached: checked again, and refused
    assert info.value.message == EXPIRED
