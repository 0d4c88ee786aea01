"""Security headers on every HTTP response, with the Content-Security-Policy chosen per route.

`SecurityHeaders` wraps the whole app (plain ASGI, so WebSockets and streamed answers pass
untouched) and adds:

- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
  `X-Frame-Options: DENY` to every response;
- `Cache-Control: no-store` to every response that does not set its own: GraphQL answers,
  exports and readiness carry personal or operational data, and a route that serves something
  cacheable (static assets) says so itself;
- a Content-Security-Policy: `API_POLICY` (nothing may load, nothing may frame it) on
  everything but HTML; on HTML, the policy of the first `HTML_POLICIES` prefix that matches the
  path, with the `sha256-…` of each inline `<script>` and `<style>` block of the page added, so
  that no policy needs 'unsafe-inline'. Every policy has `frame-ancestors 'none'`.

GraphiQL (on `/graphql`) still loads its scripts from a CDN; once its assets are served from the
package (issue 15), its entry drops `GRAPHIQL_CDN` and becomes `'self'` only, like `PAGE_POLICY`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
PAGE_POLICY: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                      "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                      "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
GRAPHIQL_CDN: Final = "https://unpkg.com"
GRAPHIQL_POLICY: Final = (f"default-src 'none'; script-src 'self' {GRAPHIQL_CDN}; "
                          f"style-src 'self' {GRAPHIQL_CDN}; img-src 'self' data: "
                          f"{GRAPHIQL_CDN}; font-src 'self' data: {GRAPHIQL_CDN}; "
                          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                          "form-action 'self'")
# Path prefix → policy for HTML answers; the first match wins, PAGE_POLICY otherwise.
HTML_POLICIES: Final[tuple[tuple[str, str], ...]] = (("/graphql", GRAPHIQL_POLICY),)
ALWAYS: Final[Mapping[str, str]] = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_INLINE = re.compile(rb"<(script|style)(\s[^>]*)?>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)


def _with_inline_hashes(policy: str, html: bytes) -> str:
    """`policy` allowing exactly the page's inline script and style blocks, by hash."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for match in _INLINE.finditer(html):
        tag, attributes, body = match.group(1).lower().decode(), match.group(2) or b"", \
            match.group(3)
        if tag == "script" and b"src=" in attributes.lower():
            continue  # an external script: allowed (or not) by its source
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        hashes[tag].append(f"'sha256-{digest}'")
    directives = []
    for directive in policy.split(";"):
        name = directive.strip().split(" ", 1)[0]
        kind = name.removesuffix("-src")
        if hashes.get(kind):
            directive = f"{directive.strip()} {' '.join(hashes[kind])}"
        directives.append(directive.strip())
    return "; ".join(directives)


def html_policy(path: str) -> str:
    for prefix, policy in HTML_POLICIES:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return policy
    return PAGE_POLICY


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        held: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
                if not headers.get("content-type", "").startswith("text/html"):
                    headers["content-security-policy"] = API_POLICY
                    await send(message)
                    return
                start = message  # HTML: the policy needs the page's inline blocks first
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            held.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(held)
            headers = MutableHeaders(scope=start)
            headers["content-security-policy"] = _with_inline_hashes(
                html_policy(scope.get("path", "")), body)
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_with_headers)
