"""A local HTTP API on 127.0.0.1 for spider tests: routes answer from fixtures, every request is kept.

A route is ``(method, path) -> handler(request) -> (status, body, headers)`` (a path ending in
``/`` serves everything under it); the handler sees the
parsed query and headers, so a fake can be as strict as the real API (refuse a missing key,
refuse a cursor without a token, answer 403 when the quota is spent).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from core.config import Settings
from crawlers.demo.config import ARIANET_QUERY, SEPEHR_QUERY


@dataclass
class Seen:
    """One request the fake API received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, [default])[0]


Reply = tuple[int, Any, dict[str, str]]
Handler = Callable[[Seen], Reply]


@dataclass
class FixtureApi:
    """Serves ``routes`` until :meth:`stop`; ``seen`` lists every request in order."""

    routes: dict[tuple[str, str], Handler]
    seen: list[Seen] = field(default_factory=list)
    robots: str = "User-agent: *\nAllow: /\n"
    fake: Any = None  # the fake service behind the routes, for tests to change its state

    def start(self) -> "FixtureApi":
        api = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Seen(method, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length) if length else b"")
                if parts.path == "/robots.txt":
                    status, body, headers = 200, api.robots, {"Content-Type": "text/plain"}
                else:
                    api.seen.append(request)
                    handler = api.route(method, parts.path)
                    status, body, headers = handler(request) if handler else (404, {"error": "NotFound"}, {})
                data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
                self.send_response(status)
                headers = {"Content-Type": "application/json; charset=utf-8", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def route(self, method: str, path: str) -> Handler | None:
        """The handler for ``path``: an exact route, else the longest route ending in ``/`` that prefixes it."""
        exact = self.routes.get((method, path))
        if exact is not None:
            return exact
        prefixes = [p for (m, p) in self.routes if m == method and p.endswith("/") and path.startswith(p)]
        return self.routes[(method, max(prefixes, key=len))] if prefixes else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def paths(self, prefix: str = "") -> list[str]:
        return [s.path for s in self.seen if s.path.startswith(prefix)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}  # per-source Scrapy overrides for local fixtures


@contextmanager
def serving(routes: dict[tuple[str, str], Handler], fake: Any = None) -> Iterator[FixtureApi]:
    """A started :class:`FixtureApi` for the ``with`` block (a pytest fixture yields from it)."""
    api = FixtureApi(routes, fake=fake).start()
    try:
        yield api
    finally:
        api.stop()


def source_settings(tmp_path: Path, source: dict[str, Any], *, competitor: bool = False) -> Settings:
    """Settings crawling one ``source`` (its options get :data:`FAST`) for Sepehr Mobile (and the
    competitor Arianet when asked) into ``tmp_path / "data"``."""
    brands = [{"name": "Sepehr Mobile", "query": SEPEHR_QUERY}]
    if competitor:
        brands.append({"name": "Arianet", "query": ARIANET_QUERY, "competitor": True})
    source = {**source, "options": {"scrapy": FAST, **source.get("options", {})}}
    return Settings.model_validate({"data_dir": str(tmp_path / "data"), "brands": brands, "sources": [source]})
