"""``DemoWeb``: the demo story served on 127.0.0.1 in the platforms' real formats.

A forum (Persian + English, Jalali dates, pagination, a robots.txt-disallowed area),
a review site, an RSS feed with conditional GET, a Mastodon-API-shaped instance under
``/mastodon`` and Telegram channel previews under ``/telegram/s/<channel>``. ``advance()``
moves the story 15 simulated minutes: engagement grows, replies and copies appear.
Tests use ``requests_seen`` and ``inject`` (e.g. a 429 with Retry-After).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawlers.demo import render_feeds, render_forum, render_mastodon
from crawlers.demo.story import DEMO_MASTODON_TOKEN, STEP


@dataclass
class Injection:
    path_prefix: str
    status: int
    headers: dict[str, str]
    times: int


class DemoWeb:
    """The demo web on ``host:port`` (0 = any free port), with the story at ``step``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        self.now0 = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
        self.step = 0
        self.requests_seen: list[str] = []  # paths with query, in arrival order
        self.request_times: list[tuple[float, str]] = []  # (time.monotonic(), path) per request
        self.user_agents: set[str] = set()
        self._injections: list[Injection] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def now(self) -> datetime:
        """The story's current time: the start plus 15 minutes per step."""
        return self.now0 + self.step * STEP

    def start(self) -> "DemoWeb":
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "DemoWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def advance(self, steps: int = 1) -> int:
        """Move the story on (15 simulated minutes per step); returns the new step."""
        with self._lock:
            self.step += steps
            return self.step

    def inject(self, path_prefix: str, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` requests under ``path_prefix`` with ``status`` (test hook)."""
        with self._lock:
            self._injections.append(Injection(path_prefix, status, headers or {}, times))

    def _take_injection(self, path: str) -> Injection | None:
        with self._lock:
            for inj in self._injections:
                if path.startswith(inj.path_prefix) and inj.times > 0:
                    inj.times -= 1
                    return inj
        return None

    def route(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body, extra headers) for a GET."""
        step, now0, base = self.step, self.now0, self.base_url
        page = _int(query.get("page", ["1"])[0], 1)
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, "text/plain", render_forum.ROBOTS_TXT.encode(), {}
        if path in ("/", "/index.html"):
            return 200, html, _INDEX.encode(), {}
        if path == "/forum/":
            return 200, html, render_forum.forum_listing(now0, step, page).encode(), {}
        if m := re.fullmatch(r"/forum/(private/)?thread/(\d+)", path):
            body = render_forum.forum_thread(int(m.group(2)), now0, step, page, private=bool(m.group(1)))
            return (200, html, body.encode(), {}) if body else _not_found()
        if m := re.fullmatch(r"/forum/user/(\w+)", path):
            return 200, html, f"<html><body><h1>{m.group(1)}</h1><p>Member since 1399</p></body></html>".encode(), {}
        if path == "/reviews/":
            return 200, html, render_forum.review_listing().encode(), {}
        if path == "/reviews/sepehr-mobile":
            body = render_forum.review_page(now0, step, page)
            return (200, html, body.encode(), {}) if body else _not_found()
        if path == "/news/feed.xml":
            body = render_feeds.rss_feed(base, now0).encode()
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if headers.get("If-None-Match") == etag:
                return 304, "application/rss+xml", b"", {"ETag": etag}
            return 200, "application/rss+xml; charset=utf-8", body, {"ETag": etag}
        if m := re.fullmatch(r"/news/([\w-]+)", path):
            body = render_feeds.news_article(m.group(1))
            return (200, html, body.encode(), {}) if body else _not_found()
        if m := re.fullmatch(r"/telegram/s/(\w+)", path):
            before = _int(query.get("before", [""])[0], None)
            body = render_feeds.telegram_channel(m.group(1), now0, step, before)
            return (200, html, body.encode(), {}) if body else _not_found()
        if path.startswith("/mastodon/api/"):
            return self._mastodon(path[len("/mastodon"):], query, headers, f"{base}/mastodon")
        return _not_found()

    def _mastodon(self, path: str, query: dict[str, list[str]], headers: Any, base: str) -> tuple[int, str, bytes, dict[str, str]]:
        js = "application/json; charset=utf-8"
        step, now0 = self.step, self.now0
        if m := re.fullmatch(r"/api/v1/timelines/tag/(\w+)", path):
            max_id = query.get("max_id", [None])[0]
            statuses, next_max = render_mastodon.tag_timeline(base, now0, step, m.group(1), max_id)
            if statuses is None:
                return 200, js, b'[{"id": "1", "content": "<p>truncated', {}
            extra = {"Link": f'<{base}/api/v1/timelines/tag/{m.group(1)}?limit=40&max_id={next_max}>; rel="next"'} if next_max else {}
            return 200, js, json.dumps(statuses).encode(), extra
        if path == "/api/v2/search":
            if headers.get("Authorization") != f"Bearer {DEMO_MASTODON_TOKEN}":
                return 401, js, b'{"error": "The access token is invalid"}', {}
            return 200, js, json.dumps(render_mastodon.search(base, now0, step, query.get("q", [""])[0])).encode(), {}
        if m := re.fullmatch(r"/api/v1/statuses/(\d+)(/context)?", path):
            if m.group(2):
                data = render_mastodon.context(base, now0, step, m.group(1))
            else:
                data = render_mastodon.status_by_id(base, now0, step, m.group(1))
            if data is None:
                return 404, js, b'{"error": "Record not found"}', {}
            return 200, js, json.dumps(data).encode(), {}
        return 404, js, b'{"error": "Not found"}', {}


def _int(value: str, default: int | None) -> int | None:
    return int(value) if value and value.isdigit() else default


def _not_found() -> tuple[int, str, bytes, dict[str, str]]:
    return 404, "text/html", b"<html><body>Not found</body></html>", {}


def _handler_for(web: DemoWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "DemoWeb/1.0"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            with web._lock:
                web.requests_seen.append(self.path)
                web.request_times.append((time.monotonic(), self.path))
                web.user_agents.add(self.headers.get("User-Agent", ""))
            injection = web._take_injection(parts.path)
            if injection is not None:
                self._send(injection.status, "text/plain", b"injected", injection.headers)
                return
            try:
                status, ctype, body, extra = web.route(parts.path, parse_qs(parts.query), self.headers)
            except Exception as exc:  # a bug in the demo must not hang the crawler
                status, ctype, body, extra = 500, "text/plain", f"demo error: {exc}".encode(), {}
            self._send(status, ctype, body, extra)

        def _send(self, status: int, ctype: str, body: bytes, extra: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            return

    return Handler


_INDEX = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>brandguard demo web</title></head><body>
<h1>brandguard demo web</h1><ul>
<li><a href="/forum/">Mobile Talk forum</a></li><li><a href="/reviews/">Shop reviews</a></li>
<li><a href="/news/feed.xml">Tehran Tech News (RSS)</a></li>
<li><a href="/mastodon/api/v1/timelines/tag/sepehrfail">Mastodon #sepehrfail</a></li>
<li><a href="/telegram/s/sepehrmobile">Telegram: sepehrmobile</a></li>
<li><a href="/telegram/s/mobile_chat_ir">Telegram: mobile_chat_ir</a></li></ul></body></html>"""
