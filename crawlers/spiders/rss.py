"""RSS and Atom feeds (news, blogs, review feeds) through feedparser.

Each run re-reads the feed with ``If-None-Match``/``If-Modified-Since`` from the last
run (a 304 means nothing new). ``options.full_text: true`` fetches each new entry's page
and extracts the article with trafilatura; when that page cannot be fetched (refused by the
SSRF guard, an HTTP error, a timeout) the entry is kept with the feed's own text. An entry without a link or date is logged
and skipped; the other entries are kept.
"""

from __future__ import annotations

from typing import Any, Iterable

import feedparser
import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from crawlers.textclean import canonical_url


class RssSpider(SourceSpider):
    name = "rss"
    kind = "rss"
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [304]}

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        state = self.states[source.name]
        for url in source.urls:
            headers = {}
            seen = state.get(url)
            if seen and seen.etag:
                headers["If-None-Match"] = seen.etag
            if seen and seen.last_modified:
                headers["If-Modified-Since"] = seen.last_modified
            yield scrapy.Request(url, self.parse_feed, headers=headers, meta={"source": source.name}, dont_filter=True)

    def parse_feed(self, response: Response) -> Iterable[Any]:
        source = self.source_of(response)
        state = self.state_of(response)
        if response.status == 304:
            self.skip_unchanged(response.url)
            return
        parsed = feedparser.parse(response.body, response_headers={"content-location": response.url})
        if parsed.bozo and not parsed.entries:
            self.skip_malformed(response.url, "feed", parsed.get("bozo_exception"))
            return
        for index, entry in enumerate(parsed.entries):
            try:
                item = self._item(entry, response, source, parsed.feed.get("language"))
            except ValueError as exc:
                self.skip_malformed(response.url, f"feed entry #{index + 1}", exc)
                continue
            if source.options.get("full_text") and item.url and state.get(item.url) is None:
                yield scrapy.Request(item.url, self.parse_article, errback=self.article_failed,
                                     meta={"source": source.name}, cb_kwargs={"item": item})
            else:
                yield item
            if item.url:
                state.mark(item.url, self.now, kind="article", activity_at=self.try_time(item.published))
        header = lambda name: (response.headers.get(name) or b"").decode("latin-1") or None  # noqa: E731
        state.mark(response.url, self.now, kind="feed", etag=header(b"ETag"), last_modified=header(b"Last-Modified"))

    def parse_article(self, response: Response, item: PostItem) -> Iterable[PostItem]:
        import trafilatura

        text = trafilatura.extract(response.text, url=response.url, include_comments=False)
        if text:
            item.text, item.is_html = text, False
        yield item

    def article_failed(self, failure: Any) -> Iterable[PostItem]:
        """The article page could not be fetched: keep the entry with the feed's text."""
        self.logger.info("full text of %s not fetched (%s); keeping the feed's text",
                         failure.request.url, failure.getErrorMessage())
        yield failure.request.cb_kwargs["item"]

    def _item(self, entry: Any, response: Response, source: SourceSettings, feed_lang: str | None) -> PostItem:
        link = entry.get("link")
        published = entry.get("published") or entry.get("updated")
        title = entry.get("title")
        if not link:
            raise ValueError(f"entry {title!r} has no link")
        if not published:
            raise ValueError(f"entry {title!r} has no date")
        body = ""
        if entry.get("content"):
            body = entry["content"][0].get("value", "")
        body = body or entry.get("summary", "")
        comments = entry.get("slash_comments")
        return PostItem(
            source=source.name, platform=source.options.get("platform", "rss"),
            native_id=entry.get("id") or canonical_url(link), text=body or title or "", is_html=True,
            published=published, page_url=response.url, url=link, title=title,
            thread_id=f"rss:{canonical_url(link)}", author_handle=entry.get("author"),
            replies=int(comments) if comments and str(comments).isdigit() else None,
            # A feed-wide <language> is often wrong for mixed feeds: trust it only when the script agrees.
            lang=source.options.get("lang") or _short_lang(entry.get("language") or _if_script_agrees(feed_lang, body or title)),
        )


def _short_lang(code: str | None) -> str | None:
    """``en-US`` → ``en`` (the system's language codes are two letters)."""
    return code.split("-")[0].lower() if code else None


def _if_script_agrees(lang: str | None, text: str | None) -> str | None:
    from core.textnorm import arabic_script_share

    if not lang or not text:
        return None
    arabic_script = arabic_script_share(text) > 0.5
    return lang if arabic_script == (_short_lang(lang) in ("fa", "ar", "ur", "ps", "ckb")) else None
