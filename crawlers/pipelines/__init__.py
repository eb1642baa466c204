"""Item pipelines, chained in ``crawlers.settings.ITEM_PIPELINES``:
clean text → parse time → match brands → build Mention → store (bulk upsert)."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem


def malformed(stats: Any, message: str) -> DropItem:
    """A DropItem for a malformed post (logged as a warning with its URL), counted in the stats."""
    stats.inc_value("brandguard/malformed")
    return DropItem(message, log_level="WARNING")
