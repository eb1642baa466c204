"""Clean text (HTML → text, whitespace) and canonicalise URLs; drop empty posts.

Only ``http``/``https`` links are kept (``core.links.safe_http_url``): a post whose link
or author link is ``javascript:``, ``data:`` or otherwise unsafe keeps its text but loses
that link, counted in the ``brandguard/unsafe_url_dropped`` stat.
"""

from __future__ import annotations

from scrapy.crawler import Crawler

from crawlers.items import PostItem
from crawlers.normalize import MalformedPost, clean_post
from crawlers.pipelines import malformed


class CleanTextPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CleanTextPipeline":
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        try:
            return clean_post(item, lambda: self.stats.inc_value("brandguard/unsafe_url_dropped"))
        except MalformedPost as exc:
            raise malformed(self.stats, str(exc)) from None
