"""Item pipelines, chained in ``crawlers.settings.ITEM_PIPELINES``:
clean text → parse time → match brands → build Mention → store (bulk upsert)."""
