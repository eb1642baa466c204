"""Bulk-upsert mentions into the configured store, in batches.

The store's upsert is idempotent by id: a re-visit of a known post replaces its counts
and appends an engagement point instead of creating a second mention. Failed items are
logged by id with the store's reason; the rest of the batch is kept. A store that cannot
be opened stops the crawl loudly; a store that fails mid-run stops it with the reason
``store_error`` (``crawlers.crawl`` then forgets this run's visits so nothing is skipped
next time) — never a silent "stop storing" while the crawl goes on.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from core.domain import Mention
from core.store import open_store
from crawlers.sources import brandguard_settings

logger = logging.getLogger(__name__)


class StoreMentionsPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.settings = brandguard_settings(crawler.settings)
        self.batch_size = crawler.settings.getint("STORE_BATCH_SIZE", 100)
        self.stats = crawler.stats
        self.buffer: list[Mention] = []
        self.store = None
        self.crawler = crawler
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoreMentionsPipeline":
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = open_store(self.settings)

    def process_item(self, item: Mention) -> Mention:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered mentions; count created/updated; log each failed one."""
        if not self.buffer or self.store is None:
            return
        batch, self.buffer = self.buffer, []
        try:
            report = self.store.upsert_mentions(batch)
        except Exception as exc:  # noqa: BLE001 - any backend failure stops the crawl, loudly
            self.buffer = batch + self.buffer
            self._stop_on_store_error(exc, len(batch))
            return
        self.stats.inc_value("brandguard/stored_created", report.created)
        self.stats.inc_value("brandguard/stored_updated", report.updated)
        self.stats.inc_value("brandguard/stored_unchanged", report.unchanged)
        by_id = {m.id: m for m in batch}
        for failure in report.failed:
            self.stats.inc_value("brandguard/store_failed")
            mention = by_id.get(failure.id)
            self._log().error("store rejected mention %s (%s): %s", failure.id, mention.url if mention else "?", failure.error)

    def _stop_on_store_error(self, exc: Exception, count: int) -> None:
        self.stats.inc_value("brandguard/store_errors")
        self._log().error("writing %d mention(s) to the store failed: %s; stopping this crawl", count, exc)
        if not self.failed and self.crawler.engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            self.failed = True
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_error"))

    def _log(self) -> logging.LoggerAdapter | logging.Logger:
        # The spider's logger tags records with the spider, so errors count for this source only.
        spider = self.crawler.spider
        return spider.logger if spider is not None else logger

    def close_spider(self) -> None:
        try:
            self.flush()
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
