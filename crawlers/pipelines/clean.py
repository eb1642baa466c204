"""Clean text (HTML → text, whitespace) and canonicalise URLs; drop empty posts."""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from crawlers.items import PostItem
from crawlers.textclean import canonical_url, html_to_text, normalize_whitespace

logger = logging.getLogger(__name__)


class CleanTextPipeline:
    def process_item(self, item: PostItem) -> PostItem:
        try:
            item.text = html_to_text(item.text) if item.is_html else normalize_whitespace(item.text or "")
        except Exception as exc:  # lxml rejects some broken fragments
            raise DropItem(f"malformed body in post {item.native_id} on {item.page_url}: {exc}", log_level="WARNING") from None
        item.is_html = False
        item.title = normalize_whitespace(item.title) if item.title else None
        if not item.text and not item.title:
            raise DropItem(f"post {item.native_id} on {item.page_url} has no text", log_level="WARNING")
        item.url = canonical_url(item.url)
        item.author_url = canonical_url(item.author_url)
        if item.thread_context and "<" in item.thread_context:
            item.thread_context = html_to_text(item.thread_context)
        return item
