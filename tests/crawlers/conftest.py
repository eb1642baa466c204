"""Shared fixtures: the demo web on 127.0.0.1, demo settings in a temp data dir, crawl helpers."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.config import Settings
from core.domain import Mention
from core.store import open_store
from core.store.port import MentionQuery
from crawlers.demo import DemoWeb, demo_settings
from crawlers.runner import CrawlSummary, run_sources

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def demo_web() -> Iterator[DemoWeb]:
    web = DemoWeb(now=NOW).start()
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture
def settings(demo_web: DemoWeb, tmp_path: Path) -> Settings:
    return demo_settings(demo_web.base_url, tmp_path / "data")


def crawl(settings: Settings, web: DemoWeb, *names: str, **extra: Any) -> CrawlSummary:
    """Crawl ``names`` in a child process at the demo's current time."""
    return run_sources(settings, list(names) or None, now=web.now, extra_scrapy_settings=extra or None, timeout=120)


def stored(settings: Settings, **query: Any) -> list[Mention]:
    store = open_store(settings)
    try:
        return store.search_mentions(MentionQuery(limit=500, **query)).items
    finally:
        store.close()


def by_author(mentions: list[Mention]) -> dict[str, list[Mention]]:
    out: dict[str, list[Mention]] = {}
    for m in mentions:
        out.setdefault(m.author.handle or "", []).append(m)
    return out


def spider_for(spider_cls: Any, settings: Settings, source: str, now: datetime = NOW) -> Any:
    """A spider bound to ``source`` without running a crawl (for parse-level tests)."""
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(spider_cls, {"BRANDGUARD_SETTINGS": settings, "BRANDGUARD_NOW": now.isoformat()})
    spider = spider_cls.from_crawler(crawler, source=source)
    crawler.spider = spider
    return spider


def response_for(url: str, body: str | bytes, **meta: Any) -> Any:
    """An HTML/text response for ``url`` whose request carries ``meta``."""
    from scrapy import Request
    from scrapy.http import HtmlResponse

    data = body.encode("utf-8") if isinstance(body, str) else body
    return HtmlResponse(url=url, body=data, encoding="utf-8", request=Request(url, meta=meta))
