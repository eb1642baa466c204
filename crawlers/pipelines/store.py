"""Bulk-upsert mentions into the configured store, in batches.

The store's upsert is idempotent by id: a re-visit of a known post replaces its counts
and appends an engagement point instead of creating a second mention. Failed items are
logged by id with the store's reason; the rest of the batch is kept. A store that cannot
be opened stops the crawl loudly (never a silent "stop storing" mid-run).
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
        report = self.store.upsert_mentions(batch)
        self.stats.inc_value("brandguard/stored_created", report.created)
        self.stats.inc_value("brandguard/stored_updated", report.updated)
        self.stats.inc_value("brandguard/stored_unchanged", report.unchanged)
        by_id = {m.id: m for m in batch}
        for failure in report.failed:
            self.stats.inc_value("brandguard/store_failed")
            mention = by_id.get(failure.id)
            logger.error("store rejected mention %s (%s): %s", failure.id, mention.url if mention else "?", failure.error)

    def close_spider(self) -> None:
        try:
            self.flush()
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
