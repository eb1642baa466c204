"""Mastodon through its public REST API.

A source's ``urls`` are instance base URLs (``https://mastodon.social``). ``options``:
``hashtags`` (tag timelines, no token needed), ``search`` (queries for ``/api/v2/search``,
needs a token read from the environment variable named by ``token_env``), ``max_pages``
(timeline pages per run, following the ``Link: rel="next"`` header), ``context``
(fetch reply threads of matching statuses via ``/api/v1/statuses/:id/context``),
``max_revisits`` (known statuses re-read per run, default 200).

Each run re-reads the first timeline pages (fresh counts for recent statuses) and
re-visits known statuses inside the revisit window via ``/api/v1/statuses/:id``, so
every re-visit appends an engagement point.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable
from urllib.parse import quote, urlencode, urlsplit

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider
from crawlers.textclean import html_to_text

_LINK_NEXT_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class MastodonSpider(SourceSpider):
    name = "mastodon"
    kind = "mastodon"

    new_this_run: set[str]

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        self.new_this_run = getattr(self, "new_this_run", set())
        opts = source.options
        # A real token comes from the environment (token_env); a literal ``token`` is for test instances.
        token = os.environ.get(opts["token_env"]) if opts.get("token_env") else opts.get("token")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"} if token else {"Accept": "application/json"}
        for base in source.urls:
            base = base.rstrip("/")
            meta = {"source": source.name, "base": base, "headers": headers, "page": 1}
            for tag in opts.get("hashtags", []):
                url = f"{base}/api/v1/timelines/tag/{quote(tag.lstrip('#'))}?limit=40"
                yield scrapy.Request(url, self.parse_timeline, headers=headers, meta=dict(meta), dont_filter=True)
            for query in opts.get("search", []):
                if not token:
                    self.logger.warning("source %s: search %r skipped: no token in $%s", source.name, query, opts.get("token_env"))
                    continue
                params = urlencode({"q": query, "type": "statuses", "limit": 40, "resolve": "false"})
                yield scrapy.Request(
                    f"{base}/api/v2/search?{params}", self.parse_search, headers=headers, dont_filter=True,
                    meta={**meta, "handle_httpstatus_list": [401, 403]},  # a bad token deserves a clear warning
                )
            state = self.states[source.name]
            due = [k for k in state.due_for_revisit(self.now, kind="status") if k.rpartition("|")[0] == base]
            for key in due[: int(opts.get("max_revisits", 200))]:  # a bound on requests per run
                status_id = key.rpartition("|")[2]
                if status_id:
                    yield scrapy.Request(f"{base}/api/v1/statuses/{status_id}", self.parse_status, headers=headers, meta=dict(meta))

    def _json(self, response: Response) -> Any:
        try:
            return json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            self.skip_malformed(response.url, "API response (invalid JSON)", exc)
            return None

    def parse_timeline(self, response: Response) -> Iterable[Any]:
        data = self._json(response)
        if data is None:
            return
        if not isinstance(data, list):
            self.skip_malformed(response.url, "timeline", f"expected a JSON array, got {type(data).__name__}")
            return
        fresh = yield from self._statuses(data, response)
        source = self.source_of(response)
        page = response.meta["page"]
        match = _LINK_NEXT_RE.search(response.headers.get(b"Link", b"").decode("latin-1"))
        if match and fresh and page < int(source.options.get("max_pages", 3)):
            yield scrapy.Request(match.group(1), self.parse_timeline, headers=response.meta["headers"], meta=_meta(response, page + 1))

    def parse_search(self, response: Response) -> Iterable[Any]:
        if response.status in (401, 403):
            self.logger.warning("Mastodon search at %s refused the token (HTTP %d): check the source's token_env",
                                response.url, response.status)
            self.crawler.stats.inc_value("brandguard/auth_refused")
            return
        data = self._json(response)
        if data is None:
            return
        statuses = data.get("statuses") if isinstance(data, dict) else None
        if not isinstance(statuses, list):
            self.skip_malformed(response.url, "search result", "no 'statuses' array")
            return
        yield from self._statuses(statuses, response)

    def parse_status(self, response: Response) -> Iterable[Any]:
        data = self._json(response)
        if isinstance(data, dict):
            yield from self._statuses([data], response)

    def parse_context(self, response: Response, root: dict[str, Any]) -> Iterable[Any]:
        data = self._json(response)
        if not isinstance(data, dict):
            return
        root_text = html_to_text(root.get("content") or "")
        host = urlsplit(response.meta["base"]).netloc
        for status in data.get("descendants") or []:
            try:
                item = self._item(status, response)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "reply status", exc)
                continue
            item.thread_context = root_text
            item.thread_id = f"mastodon:{host}:{root['id']}"
            yield item

    def _statuses(self, statuses: list[Any], response: Response) -> Iterable[Any]:
        """Yield items (and context requests) for ``statuses``; returns how many are new or young."""
        source = self.source_of(response)
        state = self.state_of(response)
        base = response.meta["base"]
        fresh = 0
        for status in statuses:
            try:
                status = status.get("reblog") or status
                item = self._item(status, response)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "status", exc)
                continue
            key = f"{base}|{status['id']}"
            created = self.try_time(status.get("created_at"))
            if state.get(key) is None:
                self.new_this_run.add(key)
            # Keep paging while a page has statuses new to us or young enough to still gain engagement.
            if key in self.new_this_run or (created and self.now - created <= state.window):
                fresh += 1
            state.mark(key, self.now, kind="status", activity_at=created)
            yield item
            wants_context = source.options.get("context", True) and (status.get("replies_count") or 0) > 0
            if wants_context and self.matcher.match(item.text):
                yield scrapy.Request(
                    f"{base}/api/v1/statuses/{status['id']}/context", self.parse_context,
                    headers=response.meta["headers"], meta=_meta(response), cb_kwargs={"root": status},
                )
        return fresh

    def _item(self, status: dict[str, Any], response: Response) -> PostItem:
        host = urlsplit(response.meta["base"]).netloc
        account = status.get("account") or {}
        if not status.get("id") or not status.get("created_at"):
            raise ValueError("status without id or created_at")
        if status.get("content") is None:
            raise ValueError(f"status {status['id']} has no content")
        reply_to = status.get("in_reply_to_id")
        return PostItem(
            source=response.meta["source"], platform="mastodon", native_id=f"{host}:{status['id']}",
            text=status["content"], is_html=True, published=status["created_at"], page_url=response.url,
            url=status.get("url") or status.get("uri"),
            thread_id=f"mastodon:{host}:{status['id']}" if not reply_to else None,
            parent_native_id=f"{host}:{reply_to}" if reply_to else None,
            author_handle=account.get("acct") or account.get("username"),
            author_name=account.get("display_name") or None, author_url=account.get("url"),
            author_followers=account.get("followers_count"),
            author_bio=html_to_text(account.get("note") or "") or None,
            likes=status.get("favourites_count"), shares=status.get("reblogs_count"),
            replies=status.get("replies_count"), lang=status.get("language"),
        )


def _meta(response: Response, page: int = 1) -> dict[str, Any]:
    """Our keys of ``response.meta`` only (never Scrapy's internal ones)."""
    return {"source": response.meta["source"], "base": response.meta["base"], "headers": response.meta["headers"], "page": page}
