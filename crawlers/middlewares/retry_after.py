"""Honour ``Retry-After`` on 429 and 503 responses before retrying.

Scrapy's RetryMiddleware retries 429 at once; a polite crawler waits as long as the
server asked: ``Retry-After`` (seconds or an HTTP date) or, as Mastodon sends it,
``X-RateLimit-Reset`` (an ISO 8601 time). This middleware runs before it on the way back, waits (without blocking
the reactor), then hands the retry to Scrapy's ``get_retry_request`` so ``RETRY_TIMES``
and the retry stats still apply.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def rate_limit_reset_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds until an ``X-RateLimit-Reset``: an ISO time (Mastodon), seconds to go (Reddit) or a
    Unix time (a number past 10^9), or None."""
    if not value:
        return None
    number = value.strip()
    if number.replace(".", "", 1).isdigit():
        seconds = float(number)
        return max(0.0, seconds - (now or datetime.now(timezone.utc)).timestamp()) if seconds > 1e9 else seconds
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryAfterMiddleware:
    """Wait ``Retry-After`` seconds (capped) on 429/503, then retry the request."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("RETRY_AFTER_MAX_SECONDS", 600)
        self.default_wait = crawler.settings.getfloat("RETRY_AFTER_DEFAULT_SECONDS", 5)
        self.max_retry_times = crawler.settings.getint("RETRY_TIMES", 2)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RetryAfterMiddleware":
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in (429, 503) or request.meta.get("dont_retry"):
            return response
        header = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(header.decode("latin-1") if header else None)
        if wait is None:
            reset = response.headers.get(b"X-RateLimit-Reset")
            wait = rate_limit_reset_seconds(reset.decode("latin-1") if reset else None)
        if wait is None:
            wait = self.default_wait
        if wait > self.max_wait:
            logger.warning("giving up on %s: Retry-After %.0fs exceeds the %.0fs cap", request.url, wait, self.max_wait)
            return response
        logger.info("%s answered %d; waiting %.1fs (Retry-After) before retrying", request.url, response.status, wait)
        self.crawler.stats.inc_value("retry_after/waits")
        from twisted.internet import reactor  # the installed one; importing it earlier would pick a default

        await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=f"{response.status} Retry-After {wait:g}s",
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
        )
        return retry or response
