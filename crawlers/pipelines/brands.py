"""Record every configured brand a post matches; drop posts matching none.

Replies in a thread inherit the brands of the thread's first post (an angry reply under
a complaint rarely repeats the brand name). Posts from ``brand_owned`` sources are kept
even without a match: every comment on the brand's own channel counts; a post by one of
a brand's own handles (``brands[].handles``) is recorded for that brand.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawlers.brandmatch import BrandMatcher
from crawlers.items import PostItem
from crawlers.sources import brandguard_settings


class BrandMatchPipeline:
    def __init__(self, crawler: Crawler) -> None:
        settings = brandguard_settings(crawler.settings)
        self.matcher = BrandMatcher(settings)
        self.brand_owned = {s.name for s in settings.sources if s.brand_owned}
        self.stats = crawler.stats
        self.owners: dict[tuple[str, str], list[str]] = {}
        for brand in settings.brands:
            for platform, handles in brand.handles.items():
                for handle in handles:
                    self.owners.setdefault((platform, handle.lower().lstrip("@")), []).append(brand.name)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "BrandMatchPipeline":
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        brands = self.matcher.match(item.title, item.text)
        if not brands and item.thread_context:
            brands = self.matcher.match(item.thread_context)
        if not brands and item.source in self.brand_owned:
            brands = self.owners.get((item.platform, (item.author_handle or "").lower()), [])
        item.brands = brands
        if not brands and item.source not in self.brand_owned:
            self.stats.inc_value("brandguard/unmatched")
            raise DropItem(f"post {item.native_id} on {item.page_url} matches no brand", log_level="DEBUG")
        return item

