"""Hacker News through its public Algolia search API (no key needed).

A source's ``urls`` default to ``https://hn.algolia.com/api/v1``; ``options.queries`` lists
search terms (the brand queries' words). Each run asks ``search_by_date`` for stories and
comments created inside the revisit window (``numericFilters=created_at_i>...``), so young
items are re-read with fresh ``points``/``num_comments`` and old ones are never re-fetched.
"""

from __future__ import annotations

import json
from typing import Any, Iterable
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider

DEFAULT_API = "https://hn.algolia.com/api/v1"
HN_ITEM = "https://news.ycombinator.com/item?id="


class HackerNewsSpider(SourceSpider):
    name = "hackernews"
    kind = "hackernews"

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        since = int((self.now.timestamp()) - source.revisit_window_hours * 3600)
        for base in source.urls or [DEFAULT_API]:
            for query in source.options.get("queries", []):
                yield self._search(base.rstrip("/"), query, since, 0, source.name)

    def _search(self, base: str, query: str, since: int, page: int, source: str) -> scrapy.Request:
        params = urlencode({
            "query": query, "tags": "(story,comment)", "numericFilters": f"created_at_i>{since}",
            "hitsPerPage": 100, "page": page,
        })
        meta = {"source": source, "base": base, "query": query, "since": since, "page": page}
        return scrapy.Request(f"{base}/search_by_date?{params}", self.parse_search, meta=meta, dont_filter=page == 0)

    def parse_search(self, response: Response) -> Iterable[Any]:
        try:
            data = json.loads(response.text)
            hits = data["hits"]
        except (ValueError, KeyError, TypeError) as exc:
            self.skip_malformed(response.url, "search response", exc)
            return
        for hit in hits:
            try:
                yield self._item(hit, response)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "hit", exc)
        meta = response.meta
        max_pages = int(self.source_of(response).options.get("max_pages", 5))
        if meta["page"] + 1 < min(int(data.get("nbPages", 0)), max_pages):
            yield self._search(meta["base"], meta["query"], meta["since"], meta["page"] + 1, meta["source"])

    def _item(self, hit: dict[str, Any], response: Response) -> PostItem:
        object_id = str(hit["objectID"])
        is_comment = hit.get("comment_text") is not None
        text = hit.get("comment_text") if is_comment else (hit.get("story_text") or hit.get("title") or "")
        story_id = hit.get("story_id")
        return PostItem(
            source=response.meta["source"], platform="hackernews", native_id=object_id, text=text or "", is_html=True,
            published=hit.get("created_at") or hit["created_at_i"], page_url=response.url,
            url=f"{HN_ITEM}{object_id}", title=None if is_comment else hit.get("title"),
            thread_id=f"hackernews:{story_id or object_id}",
            parent_native_id=str(hit["parent_id"]) if is_comment and hit.get("parent_id") else None,
            thread_context=hit.get("story_title") if is_comment else None,
            author_handle=hit.get("author"), author_url=f"https://news.ycombinator.com/user?id={hit.get('author')}",
            likes=hit.get("points"), replies=hit.get("num_comments"), lang="en",
        )
