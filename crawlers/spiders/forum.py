"""Forums and review sites described by selectors in config: a new site needs no code.

``options`` of a ``kind: forum`` source::

    platform: forum            # or review
    lang: fa                   # optional, when the site is single-language
    listing:
      thread: li.thread        # one element per thread on a listing page
      link: a.title::attr(href)
      signature: .replies::text   # optional: a change (new replies) forces a re-visit
      next_page: a[rel=next]::attr(href)
      max_pages: 5
    thread:
      title: h1::text
      post: article.post       # one element per post (required)
      id: ::attr(data-post-id) # optional; default: the post's position
      author: .author::text
      author_url: .author::attr(href)
      time: time::attr(datetime)  # ISO, relative, Jalali with Persian digits...
      body: .post-body         # required; HTML turned into text
      rating: .stars::attr(data-rating)
      rating_scale: 5
      likes: .likes::text
      replies: .replies::text
      permalink: a.permalink::attr(href)
      next_page: a[rel=next]::attr(href)

Listing → thread pages (with pagination) → posts. Replies inherit the thread's brands.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from crawlers.spiders.selectors import first, option, select, text_of
from crawlers.textclean import canonical_url, html_to_text, parse_count

_REQUIRED = ("listing.link", "thread.post", "thread.body")


def check_forum_options(options: dict[str, Any]) -> list[str]:
    """Missing required selectors, phrased as option paths."""
    return [f"{path}: required selector missing" for path in _REQUIRED if not option(options, path)]


class ForumSpider(SourceSpider):
    name = "forum"
    kind = "forum"

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        problems = check_forum_options(source.options)
        if problems:
            self.logger.error("source %s is misconfigured: %s", source.name, "; ".join(problems))
            return
        for url in source.urls:
            yield scrapy.Request(url, self.parse_listing, meta={"source": source.name, "listing_page": 1}, dont_filter=True)

    def parse_listing(self, response: Response) -> Iterable[scrapy.Request]:
        source = self.source_of(response)
        state = self.state_of(response)
        opts = source.options
        containers = select(response, opts["listing"]["thread"]) if option(opts, "listing.thread") else [response]
        for container in containers:
            for href in select(container, opts["listing"]["link"]).getall():
                thread_url = canonical_url(response.urljoin(href.strip()))
                signature = text_of(container, option(opts, "listing.signature")) if option(opts, "listing.thread") else None
                if state.should_visit(thread_url, self.now, signature):
                    yield scrapy.Request(
                        thread_url, self.parse_thread,
                        meta={"source": source.name, "thread_url": thread_url, "signature": signature},
                        cb_kwargs={"page": 1, "context": None, "root_id": None},
                    )
                else:
                    self.skip_unchanged(thread_url)
        next_href = first(response, option(opts, "listing.next_page"))
        page = response.meta.get("listing_page", 1)
        if next_href and page < int(option(opts, "listing.max_pages", 5)):
            yield response.follow(next_href, self.parse_listing, meta={"source": source.name, "listing_page": page + 1})

    def parse_thread(self, response: Response, page: int, context: str | None, root_id: str | None) -> Iterable[Any]:
        source = self.source_of(response)
        opts = source.options
        thread_url = response.meta["thread_url"]
        platform = opts.get("platform", "forum")
        host = urlsplit(thread_url).netloc
        title = text_of(response, option(opts, "thread.title"))
        newest = None
        posts = select(response, opts["thread"]["post"])
        if not posts:
            self.skip_malformed(response.url, "thread page", f"no posts match {opts['thread']['post']!r}")
        for index, post in enumerate(posts):
            try:
                item = self._post_item(post, index, response, source, platform, host, title, page)
            except ValueError as exc:
                self.skip_malformed(response.url, f"post #{index + 1}", exc)
                continue
            if page == 1 and index == 0:
                context, root_id = html_to_text(item.text), item.native_id  # once per thread, not per reply
                item.title = title
            else:
                item.thread_context = "\n".join(t for t in (title, context) if t)
                item.parent_native_id = root_id
            when = item.published_at = self.try_time(item.published, source)  # the time pipeline keeps it
            newest = max(newest, when) if newest and when else (when or newest)
            yield item
        self.state_of(response).mark(
            thread_url, self.now, kind="thread", activity_at=newest, signature=response.meta.get("signature")
        )
        next_href = first(response, option(opts, "thread.next_page"))
        if next_href and page < int(option(opts, "thread.max_pages", 20)):
            yield response.follow(
                next_href, self.parse_thread, meta={"source": source.name, "thread_url": thread_url},
                cb_kwargs={"page": page + 1, "context": context, "root_id": root_id},
            )

    def _post_item(
        self, post: Any, index: int, response: Response, source: SourceSettings, platform: str, host: str,
        title: str | None, page: int,
    ) -> PostItem:
        opts = source.options
        body = first(post, opts["thread"]["body"])
        if not body or not body.strip():
            raise ValueError(f"no post body at {opts['thread']['body']!r}")
        post_id = first(post, option(opts, "thread.id")) or f"{urlsplit(response.meta['thread_url']).path}#p{page}-{index}"
        permalink = first(post, option(opts, "thread.permalink"))
        author_url = first(post, option(opts, "thread.author_url"))
        rating = parse_count_float(first(post, option(opts, "thread.rating")))
        if rating is not None:
            rating = max(0.0, min(5.0, rating * 5.0 / float(option(opts, "thread.rating_scale", 5))))
        return PostItem(
            source=source.name, platform=platform, native_id=f"{host}:{post_id}", text=body, is_html=True,
            published=text_of(post, option(opts, "thread.time")), page_url=response.url,
            url=response.urljoin(permalink) if permalink else f"{response.meta['thread_url']}#{post_id}",
            thread_id=f"{platform}:{response.meta['thread_url']}",
            author_handle=text_of(post, option(opts, "thread.author")),
            author_url=response.urljoin(author_url) if author_url else None,
            likes=parse_count(first(post, option(opts, "thread.likes"))),
            replies=parse_count(first(post, option(opts, "thread.replies"))),
            rating=rating, lang=opts.get("lang"),
        )


def parse_count_float(value: str | None) -> float | None:
    """A rating like ``4``, ``4.5``, ``۴``, ``4/5`` as a float (the part before '/')."""
    if not value:
        return None
    from core.textnorm import normalize_persian

    head = normalize_persian(value).split("/")[0].strip()
    try:
        return float(head)
    except ValueError:
        count = parse_count(head)
        return float(count) if count is not None else None
