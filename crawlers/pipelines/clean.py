"""Clean text (HTML → text, whitespace) and canonicalise URLs; drop empty posts.

Only ``http``/``https`` links are kept (``core.links.safe_http_url``): a post whose link
or author link is ``javascript:``, ``data:`` or otherwise unsafe keeps its text but loses
that link, counted in the ``brandguard/unsafe_url_dropped`` stat.
"""

from __future__ import annotations

from scrapy.crawler import Crawler

from core.links import safe_http_url
from crawlers.items import PostItem
from crawlers.pipelines import malformed
from crawlers.textclean import canonical_url, html_to_text, normalize_whitespace


class CleanTextPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CleanTextPipeline":
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        try:
            item.text = html_to_text(item.text) if item.is_html else normalize_whitespace(item.text or "")
        except Exception as exc:  # lxml rejects some broken fragments
            raise malformed(self.stats, f"malformed body in post {item.native_id} on {item.page_url}: {exc}") from None
        item.is_html = False
        item.title = normalize_whitespace(item.title) if item.title else None
        if not item.text and not item.title:
            raise malformed(self.stats, f"post {item.native_id} on {item.page_url} has no text")
        item.url = self._safe(canonical_url(item.url))
        item.author_url = self._safe(canonical_url(item.author_url))
        if item.thread_context and "<" in item.thread_context:
            item.thread_context = html_to_text(item.thread_context)
        return item

    def _safe(self, url: str | None) -> str | None:
        if not url:
            return None
        safe = safe_http_url(url)
        if safe is None:
            self.stats.inc_value("brandguard/unsafe_url_dropped")
        return safe
