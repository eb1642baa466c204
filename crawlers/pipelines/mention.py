"""Turn a cleaned, dated, brand-matched PostItem into a :class:`core.domain.Mention`."""

from __future__ import annotations

from scrapy.crawler import Crawler

from core.domain import Mention
from crawlers.items import PostItem
from crawlers.normalize import MalformedPost, build_mention, to_valid_mention
from crawlers.pipelines import malformed
from crawlers.sources import brandguard_settings, crawl_now

__all__ = ["BuildMentionPipeline", "build_mention"]


class BuildMentionPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.now = crawl_now(crawler.settings)
        settings = brandguard_settings(crawler.settings)
        self.brand_owned = {s.name for s in settings.sources if s.brand_owned}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "BuildMentionPipeline":
        return cls(crawler)

    def process_item(self, item: PostItem) -> Mention:
        try:
            return to_valid_mention(item, self.now, item.source in self.brand_owned)
        except MalformedPost as exc:
            raise malformed(self.stats, str(exc)) from None
