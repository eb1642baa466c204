"""429/503 answers wait for ``Retry-After`` before the request is retried."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from crawlers.demo import DemoWeb
from crawlers.middlewares.retry_after import retry_after_seconds
from tests.crawlers.conftest import by_author, crawl, stored


def test_retry_after_values() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_429_is_retried_after_the_servers_delay_and_the_page_is_stored(demo_web: DemoWeb, settings) -> None:
    demo_web.inject("/telegram/s/sepehrmobile", 429, {"Retry-After": "2"}, times=1)
    summary = crawl(settings, demo_web, "demo-telegram-own")
    hits = [t for t, path in demo_web.request_times if path.startswith("/telegram/s/sepehrmobile") and "before" not in path]
    assert len(hits) == 2, demo_web.requests_seen
    assert hits[1] - hits[0] >= 1.9  # waited for Retry-After, not Scrapy's immediate retry
    assert summary.sources[0].finished
    assert len(by_author(stored(settings))["sepehrmobile"]) == 7
