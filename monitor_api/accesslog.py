"""The access log: one line per request, without query strings.

Query strings carry personal data (``?customer_id=C-1042``, ``?author=mastodon:mina_r``,
``?q="Mina Rahimi"``), so the log names the method, the path, the status, the time taken,
the client address and the API key id (never the key) — and nothing of the query. uvicorn's
own access log (which prints the full URL) is switched off by ``brandguard serve``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

log = logging.getLogger("brandguard.access")

Scope = dict[str, Any]
Message = dict[str, Any]


class AccessLog:
    """Pure ASGI middleware writing ``brandguard.access`` INFO lines."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            client = scope.get("client") or ("-", 0)
            key_id = scope.get("state", {}).get("key_id", "-")
            log.info("%s %s %s %d %.1fms key=%s", client[0], scope["method"], scope["path"], status[0],
                     (time.perf_counter() - started) * 1000, key_id)
