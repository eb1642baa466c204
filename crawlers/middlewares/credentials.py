"""Secrets go on a request when it is sent, never while it waits in the queue.

A paused crawl's queue (JOBDIR) is pickled to disk, so a token, API key or app password set on a
request when it is created would be written there. Spiders keep their secrets in memory,
``spider.credentials[source] = {"headers": {...}, "json_body": {...}}``, and mark requests with
``meta["credentials"] = source``; this middleware adds the headers (and the JSON body of a sign-in
call) just before the download. It runs after robots.txt is checked, so a refused request never
gets them. A request resumed by a process that has no secret for it goes without (and the API's
refusal is logged by the spider).
"""

from __future__ import annotations

import json
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler


class SourceCredentialsMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SourceCredentialsMiddleware":
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        name = request.meta.get("credentials")
        secrets = getattr(self.crawler.spider, "credentials", {}).get(name) if name else None
        if not secrets:
            return None
        for header, value in (secrets.get("headers") or {}).items():
            request.headers[header] = value
        body = secrets.get("json_body")
        if body is not None and request.method == "POST" and not request.body:
            request._set_body(json.dumps(body).encode())  # noqa: SLF001 - Request has no public body setter
        return None
