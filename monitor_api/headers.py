"""Security headers on every response, as a pure ASGI middleware.

- ``Content-Security-Policy``: only our own scripts and styles (no inline script, no
  ``eval``), no plugins, forms post only to us, and ``frame-ancestors 'none'`` (no
  click-jacking); the OpenAPI page gets its own policy (``docs_policy``).
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older browsers).
- ``Referrer-Policy: same-origin``: following a crawled link must not tell a stranger's
  site which alert or customer page it was opened from (``no-referrer`` would also make
  browsers send ``Origin: null`` on our own form posts, which the CSRF check refuses).
- ``Cache-Control: no-store`` on dashboard pages (they show personal data).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}

Scope = dict[str, Any]
Message = dict[str, Any]


class SecurityHeaders:
    """Add the security headers to every HTTP response (a route's own CSP wins)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope.get("path", "").startswith("/ui") and not scope.get("path", "").startswith("/ui/static")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = dict(COMMON_HEADERS, **{"content-security-policy": DASHBOARD_CSP})
                if no_store:
                    extra["cache-control"] = "no-store"
                for name, value in extra.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def docs_policy(html: str) -> str:
    """The CSP of the OpenAPI page: its CDN assets and exactly its own inline script (by hash)."""
    import base64
    import hashlib
    import re

    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    ]
    return (f"default-src 'none'; script-src https://cdn.jsdelivr.net {' '.join(hashes)}; "
            "style-src https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
