"""Telegram public channels through the web preview ``https://t.me/s/<channel>``.

Reads the preview's real markup: ``div.tgme_widget_message[data-post]``, the text in
``.tgme_widget_message_text``, ``.tgme_widget_message_views`` (``1.2K``), the time in
``time[datetime]``, forwarded-from names, reply counts where shown, and older pages
through ``?before=<id>``. Paging stops at ``max_pages`` or once a whole page is old
(outside the revisit window) and already seen.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from crawlers.textclean import parse_count

MESSAGE = "div.tgme_widget_message[data-post]"


class TelegramSpider(SourceSpider):
    name = "telegram"
    kind = "telegram"

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        for url in source.urls:
            yield scrapy.Request(url, self.parse_channel, meta={"source": source.name, "page": 1}, dont_filter=True)

    def parse_channel(self, response: Response) -> Iterable[Any]:
        source = self.source_of(response)
        state = self.state_of(response)
        messages = response.css(MESSAGE)
        if not messages and not response.css(".tgme_channel_info, .tgme_page"):
            self.skip_malformed(response.url, "channel page", "no tgme_widget_message elements")
            return
        keep_paging = False
        oldest_id: int | None = None
        for message in messages:
            try:
                item = self._item(message, response)
            except ValueError as exc:
                self.skip_malformed(response.url, "message", exc)
                continue
            post_number = item.native_id.rsplit("/", 1)[-1]
            if post_number.isdigit():
                oldest_id = int(post_number) if oldest_id is None else min(oldest_id, int(post_number))
            when = self.try_time(item.published)
            if state.should_visit(item.native_id, self.now):
                keep_paging = True  # new, or young enough that its views still grow
            state.mark(item.native_id, self.now, kind="message", activity_at=when)
            yield item
        more = response.css("a.tme_messages_more::attr(data-before)").get()
        before = more or (str(oldest_id) if oldest_id else None)
        page = response.meta["page"]
        if before and keep_paging and page < int(source.options.get("max_pages", 5)):
            base = response.url.split("?", 1)[0]
            yield scrapy.Request(f"{base}?before={before}", self.parse_channel, meta={"source": source.name, "page": page + 1})

    def _item(self, message: Any, response: Response) -> PostItem:
        post = message.attrib.get("data-post", "")
        if "/" not in post:
            raise ValueError(f"data-post {post!r} is not channel/number")
        channel = post.split("/", 1)[0]
        body = message.css(".tgme_widget_message_text").get()
        if not body:
            raise ValueError(f"message {post} has no text")
        published = message.css("time::attr(datetime)").get()
        if not published:
            raise ValueError(f"message {post} has no time[datetime]")
        author = message.css(".tgme_widget_message_from_author::text").get() or message.css(
            ".tgme_widget_message_owner_name span::text, .tgme_widget_message_owner_name::text"
        ).get()
        forwarded = message.css(".tgme_widget_message_forwarded_from_name::attr(href)").get()
        host = urlsplit(response.url).netloc
        return PostItem(
            source=response.meta["source"], platform="telegram", native_id=post, text=body, is_html=True,
            published=published, page_url=response.url,
            url=message.css("a.tgme_widget_message_date::attr(href)").get() or f"{response.urljoin('/')}{post}",
            thread_id=f"telegram:{post}", author_handle=channel, author_name=(author or "").strip() or None,
            author_url=f"https://{host}/{channel}" if host else None,
            views=parse_count(message.css(".tgme_widget_message_views::text").get()),
            replies=parse_count(message.css(".tgme_widget_message_replies_count::text").get()),
            author_bio=f"forwarded from {forwarded}" if forwarded else None,
        )
