"""Record every configured brand a post matches; drop posts matching none.

Replies in a thread inherit the brands of the thread's first post (an angry reply under
a complaint rarely repeats the brand name). Posts from ``brand_owned`` sources are kept
even without a match: every comment on the brand's own channel counts; a post by one of
a brand's own handles (``brands[].handles``) is recorded for that brand. The rules live in
:class:`crawlers.normalize.BrandAssigner` (the push-ingest API uses the same).
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawlers.items import PostItem
from crawlers.normalize import BrandAssigner, NotAboutABrand
from crawlers.sources import brandguard_settings


class BrandMatchPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.assigner = BrandAssigner(brandguard_settings(crawler.settings))
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "BrandMatchPipeline":
        return cls(crawler)

    def process_item(self, item: PostItem) -> PostItem:
        try:
            return self.assigner.assign(item)
        except NotAboutABrand as exc:
            self.stats.inc_value("brandguard/unmatched")
            raise DropItem(str(exc), log_level="DEBUG") from None
