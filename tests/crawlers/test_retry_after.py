"""429/503 answers wait for ``Retry-After`` before the request is retried."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from crawlers.demo import DemoWeb
from crawlers.middlewares.retry_after import rate_limit_reset_seconds, retry_after_seconds
from tests.crawlers.conftest import by_author, crawl, stored


def test_retry_after_values() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    # Mastodon's rate limit header is an ISO time.
    assert rate_limit_reset_seconds("2026-11-23T12:05:00.000Z", now) == 300
    assert rate_limit_reset_seconds("tomorrow", now) is None
    assert rate_limit_reset_seconds("42", now) == 42  # Reddit: seconds until the window resets
    assert rate_limit_reset_seconds(str(int(now.timestamp()) + 90), now) == 90  # a Unix time


def test_mastodon_rate_limit_reset_is_waited_for(demo_web, settings) -> None:
    import time
    from datetime import datetime as real_datetime

    reset_at = time.monotonic() + 4  # the same moment on the monotonic clock the demo web logs with
    reset = (real_datetime.now(timezone.utc) + timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
    demo_web.inject("/mastodon/api/v1/timelines/tag/sepehrfail", 429, {"X-RateLimit-Reset": reset}, times=1)
    crawl(settings, demo_web, "demo-mastodon")
    hits = [t for t, p in demo_web.request_times if p.startswith("/mastodon/api/v1/timelines/tag/sepehrfail?limit=40")
            and "max_id" not in p]
    assert len(hits) == 2 and hits[1] >= reset_at - 0.2  # not retried before the reset time
    assert "mina_r" in by_author(stored(settings, sources=["demo-mastodon"]))


def test_429_is_retried_after_the_servers_delay_and_the_page_is_stored(demo_web: DemoWeb, settings) -> None:
    demo_web.inject("/telegram/s/sepehrmobile", 429, {"Retry-After": "2"}, times=1)
    summary = crawl(settings, demo_web, "demo-telegram-own")
    hits = [t for t, path in demo_web.request_times if path.startswith("/telegram/s/sepehrmobile") and "before" not in path]
    assert len(hits) == 2, demo_web.requests_seen
    assert hits[1] - hits[0] >= 1.9  # waited for Retry-After, not Scrapy's immediate retry
    assert summary.sources[0].finished
    assert len(by_author(stored(settings))["sepehrmobile"]) == 7
