"""A store pipeline whose store breaks after its first batch (loaded by dotted path in a test crawl)."""

from __future__ import annotations

from typing import Any

from core.store.port import StoreError
from crawlers.pipelines.store import StoreMentionsPipeline


class _BreaksAfterFirstBatch:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._calls = 0

    def upsert_mentions(self, mentions: Any) -> Any:
        self._calls += 1
        if self._calls > 1:
            raise StoreError("database is locked (simulated)")
        return self._store.upsert_mentions(mentions)

    def close(self) -> None:
        self._store.close()


class FailingStorePipeline(StoreMentionsPipeline):
    def open_spider(self) -> None:
        super().open_spider()
        self.store = _BreaksAfterFirstBatch(self.store)
