"""Turn a cleaned, dated, brand-matched PostItem into a :class:`core.domain.Mention`."""

from __future__ import annotations

from pydantic import ValidationError
from scrapy.crawler import Crawler

from core.domain import Author, Engagement, Mention, mention_id
from crawlers.items import PostItem
from crawlers.pipelines import malformed
from crawlers.sources import brandguard_settings, crawl_now


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
            return build_mention(item, self.now, item.source in self.brand_owned)
        except (ValidationError, ValueError) as exc:
            raise malformed(self.stats, f"post {item.native_id} on {item.page_url} is invalid: {exc}") from None


def build_mention(item: PostItem, now, brand_owned: bool) -> Mention:  # noqa: ANN001 - datetime
    """The Mention for ``item`` with a stable id; the store keeps its engagement history."""
    engagement = Engagement(likes=item.likes, shares=item.shares, replies=item.replies, views=item.views)
    return Mention(
        id=mention_id(item.platform, item.native_id),
        platform=item.platform,
        source=item.source,
        native_id=item.native_id,
        url=item.url,
        thread_id=item.thread_id,
        parent_id=mention_id(item.platform, item.parent_native_id) if item.parent_native_id else None,
        title=item.title,
        text=item.text or item.title or "",
        lang=item.lang,
        author=Author(
            platform=item.platform, handle=item.author_handle, name=item.author_name,
            profile_url=item.author_url, followers=item.author_followers, bio=item.author_bio,
        ),
        published_at=item.published_at,
        crawled_at=now,
        engagement=engagement,
        rating=item.rating,
        brands=item.brands,
        brand_owned=brand_owned,
    )
