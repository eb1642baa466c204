"""Clean text (HTML → text, whitespace) and canonicalise URLs; drop empty posts."""

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
            return clean_post(item)
        except MalformedPost as exc:
            raise malformed(self.stats, str(exc)) from None
