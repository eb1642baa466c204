"""Parse each post's shown time (ISO, RFC 822, relative, Jalali) into aware UTC."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

from scrapy.crawler import Crawler

from crawlers.items import PostItem
from crawlers.normalize import MalformedPost, date_post
from crawlers.pipelines import malformed
from crawlers.sources import brandguard_settings, crawl_now


class ParseTimePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.now = crawl_now(crawler.settings)
        settings = brandguard_settings(crawler.settings)
        # A source may say which zone its naive times are in (options.timezone).
        self.zones = {s.name: ZoneInfo(s.options["timezone"]) for s in settings.sources if s.options.get("timezone")}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ParseTimePipeline":
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        try:
            return date_post(item, self.now, self.zones.get(item.source, timezone.utc))
        except MalformedPost as exc:
            raise malformed(self.stats, str(exc)) from None
