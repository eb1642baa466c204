"""Parse each post's shown time (ISO, RFC 822, relative, Jalali) into aware UTC."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

from scrapy.crawler import Crawler

from crawlers.items import PostItem
from crawlers.pipelines import malformed
from crawlers.sources import brandguard_settings, crawl_now
from crawlers.timeparse import TimeParseError, parse_time


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
        if item.published_at is None:  # a spider that already parsed the time (same rules) set it
            try:
                item.published_at = parse_time(item.published, self.now, self.zones.get(item.source, timezone.utc))
            except TimeParseError as exc:
                raise malformed(self.stats, f"post {item.native_id} on {item.page_url}: {exc}") from None
        if item.published_at > self.now.replace(microsecond=0) and (item.published_at - self.now).total_seconds() > 86400:
            raise malformed(self.stats, f"post {item.native_id} on {item.page_url}: time {item.published_at} is in the future")
        return item
