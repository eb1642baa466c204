"""Apple App Store customer reviews through Apple's public per-app reviews feed (no key needed).

``https://itunes.apple.com/<country>/rss/customerreviews/page=<n>/id=<app>/sortby=mostrecent/json``
serves the newest reviews of one app in one storefront, 50 per page, at most 10 pages. A source's
``options``: ``apps`` (App Store app ids), ``countries`` (two-letter storefront codes, default
``["us"]``), ``max_pages`` (default 3) and ``brand`` (the configured brand the apps belong to:
a review rarely repeats the app's name, so every review of these apps counts for that brand).

Each review keeps its star rating (``rating``, 1-5) and a ``sentiment_hint`` from it (1-2 stars
negative, 3 neutral, 4-5 positive), ``im:voteSum`` as likes ("helpful" votes). Paging stops at a
page with no review new to us. The feed's quirks are handled: ``entry`` is an object when there
is one review and missing when there are none, and older feeds put the app itself first.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import quote

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider

DEFAULT_HOST = "https://itunes.apple.com"
MAX_FEED_PAGES = 10  # Apple serves no more


def stars_to_sentiment(stars: float) -> str:
    """The sentiment a star rating implies: 1-2 negative, 3 neutral, 4-5 positive."""
    return "negative" if stars < 2.5 else ("neutral" if stars < 3.5 else "positive")


class AppStoreSpider(SourceSpider):
    name = "appstore"
    kind = "appstore"

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        host = (source.urls[0] if source.urls else DEFAULT_HOST).rstrip("/")
        for app in source.options.get("apps", []):
            app_id = str(app).removeprefix("id")
            for country in source.options.get("countries", ["us"]):
                yield self._page(host, country, app_id, 1, source.name)

    def _page(self, host: str, country: str, app_id: str, page: int, source: str) -> scrapy.Request:
        url = f"{host}/{quote(country)}/rss/customerreviews/page={page}/id={quote(app_id)}/sortby=mostrecent/json"
        meta = {"source": source, "host": host, "country": country, "app": app_id, "page": page}
        return scrapy.Request(url, self.parse_feed, meta=meta, dont_filter=page == 1, headers={"Accept": "application/json"})

    def parse_feed(self, response: Response) -> Iterable[Any]:
        data = self.json_of(response, "reviews feed")
        feed = data.get("feed") if isinstance(data, dict) else None
        if not isinstance(feed, dict):
            if data is not None:
                self.skip_malformed(response.url, "reviews feed", "no 'feed' object")
            return
        entries = feed.get("entry") or []
        if isinstance(entries, dict):  # one review: Apple sends the object itself, not a list
            entries = [entries]
        source = self.source_of(response)
        state = self.state_of(response)
        new = 0
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or "im:rating" not in entry:
                continue  # the app's own entry (older feeds put it first)
            try:
                item = self._review(entry, response, source)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "review", exc)
                continue
            if state.get(item.native_id) is None:
                new += 1
            state.mark(item.native_id, self.now, kind="review", activity_at=self.try_time(item.published))
            yield item
        meta, page = response.meta, response.meta["page"]
        has_next = any(_label(link, "rel") == "next" for link in _links(feed))
        if new and has_next and page < min(int(source.options.get("max_pages", 3)), MAX_FEED_PAGES):
            yield self._page(meta["host"], meta["country"], meta["app"], page + 1, meta["source"])

    def _review(self, entry: dict[str, Any], response: Response, source: SourceSettings) -> PostItem:
        review_id = _text(entry, "id")
        stars = float(_text(entry, "im:rating"))
        if not review_id or not 1 <= stars <= 5:
            raise ValueError(f"review without id or with rating {stars} outside 1-5")
        content = _text(entry, "content")
        if content is None:
            raise ValueError(f"review {review_id} has no content")
        author = entry.get("author") or {}
        app, country = response.meta["app"], response.meta["country"]
        version = _text(entry, "im:version")
        brand = source.options.get("brand")
        return PostItem(
            source=response.meta["source"], platform="appstore", native_id=review_id, text=content,
            title=_text(entry, "title"), published=_text(entry, "updated"), page_url=response.url,
            url=f"https://apps.apple.com/{country}/app/id{app}?see-all=reviews", thread_id=f"appstore:{app}",
            author_handle=_text(author, "name"), author_url=_text(author, "uri"),
            author_bio=f"App Store {country.upper()} reviewer" + (f", app version {version}" if version else ""),
            likes=_int(_text(entry, "im:voteSum")), rating=stars, sentiment_hint=stars_to_sentiment(stars),
            known_brands=[brand] if brand else [],
        )


def _text(node: dict[str, Any], key: str) -> str | None:
    """``node[key].label`` (the feed wraps every value as ``{"label": ...}``)."""
    value = node.get(key)
    label = value.get("label") if isinstance(value, dict) else None
    return label if isinstance(label, str) else None


def _links(feed: dict[str, Any]) -> list[dict[str, Any]]:
    links = feed.get("link") or []
    return [links] if isinstance(links, dict) else [link for link in links if isinstance(link, dict)]


def _label(link: dict[str, Any], attribute: str) -> str | None:
    return (link.get("attributes") or {}).get(attribute)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
