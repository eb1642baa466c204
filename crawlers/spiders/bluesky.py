"""Bluesky through the AppView's XRPC API: post search with cursor paging, and reply threads.

A source's ``options``: ``search`` (queries for ``app.bsky.feed.searchPosts``, newest first,
only posts inside the revisit window), ``max_pages`` (pages per query, default 3), ``thread``
(fetch ``app.bsky.feed.getPostThread`` of brand-matching posts with replies, default true),
``max_revisits`` (known posts re-read per run, default 100), and for signed-in use
``identifier`` (a handle) with ``app_password_env`` (the environment variable holding an app
password; a session is created through ``com.atproto.server.createSession`` at ``auth_url``,
default ``https://bsky.social``).

Without a session the crawl reads ``https://public.api.bsky.app``, which serves only the first
page of a search (a ``cursor`` is refused there), so paging needs the signed-in AppView
``https://api.bsky.app``. ``urls`` overrides the host. Counts: ``likeCount`` → likes,
``repostCount`` + ``quoteCount`` → shares (both spread the post), ``replyCount`` → replies.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider

PUBLIC_APPVIEW = "https://public.api.bsky.app"
SIGNED_IN_APPVIEW = "https://api.bsky.app"
DEFAULT_AUTH = "https://bsky.social"
WEB = "https://bsky.app"
THREAD_DEPTH = 6
MAX_REPLIES_PER_THREAD = 500  # a bound on one hostile or huge thread


class BlueskySpider(SourceSpider):
    name = "bluesky"
    kind = "bluesky"

    new_this_run: set[str]

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        self.new_this_run = getattr(self, "new_this_run", set())
        opts = source.options
        password = self.secret_from_env(source, "app_password_env")
        if opts.get("identifier") and password:
            auth = str(opts.get("auth_url") or (source.urls[0] if source.urls else DEFAULT_AUTH)).rstrip("/")
            # The password goes into the body at send time (crawlers.middlewares.credentials), never into JOBDIR.
            self.credentials[source.name] = {"json_body": {"identifier": opts["identifier"], "password": password}}
            yield scrapy.Request(
                f"{auth}/xrpc/com.atproto.server.createSession", self.parse_session, method="POST",
                headers={"Content-Type": "application/json", "Accept": "application/json"}, dont_filter=True,
                meta={"source": source.name, "credentials": source.name, "handle_httpstatus_list": [400, 401, 403]},
            )
            return
        if opts.get("app_password_env"):
            self.logger.warning("source %s: $%s is empty; searching Bluesky signed out (first pages only)",
                                source.name, opts["app_password_env"])
        base = (source.urls[0] if source.urls else PUBLIC_APPVIEW).rstrip("/")
        yield from self._begin(source, base, {"Accept": "application/json"}, signed_in=False)

    def parse_session(self, response: Response) -> Iterable[Any]:
        source = self.source_of(response)
        if response.status != 200:
            self.logger.warning("Bluesky refused to sign in %s at %s (HTTP %d): check identifier and the app password in $%s",
                                source.options.get("identifier"), response.url, response.status, source.options.get("app_password_env"))
            self.crawler.stats.inc_value("brandguard/auth_refused")
            return
        data = self.json_of(response, "session")
        token = data.get("accessJwt") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            self.skip_malformed(response.url, "session", "no accessJwt")
            return
        base = (source.urls[0] if source.urls else SIGNED_IN_APPVIEW).rstrip("/")
        self.credentials[source.name] = {"headers": {"Authorization": f"Bearer {token}"}}
        yield from self._begin(source, base, {"Accept": "application/json"}, signed_in=True)

    def _begin(self, source: SourceSettings, base: str, headers: dict[str, str], signed_in: bool) -> Iterable[scrapy.Request]:
        meta = {"source": source.name, "base": base, "headers": headers, "signed_in": signed_in, "credentials": source.name}
        since = datetime.fromtimestamp(self.now.timestamp() - source.revisit_window_hours * 3600, timezone.utc)
        for query in source.options.get("search", []):
            params = {"q": query, "sort": "latest", "limit": 100, "since": since.strftime("%Y-%m-%dT%H:%M:%SZ")}
            yield self._search(base, params, {**meta, "page": 1, "params": params})
        state = self.states[source.name]
        for uri in state.due_for_revisit(self.now, kind="post")[: int(source.options.get("max_revisits", 100))]:
            yield self._thread(uri, meta)

    def _search(self, base: str, params: dict[str, Any], meta: dict[str, Any]) -> scrapy.Request:
        return scrapy.Request(f"{base}/xrpc/app.bsky.feed.searchPosts?{urlencode(params)}", self.parse_search,
                              headers=meta["headers"], dont_filter=meta["page"] == 1,
                              meta={**meta, "handle_httpstatus_list": [400, 401, 403]})

    def _thread(self, uri: str, meta: dict[str, Any]) -> scrapy.Request:
        params = urlencode({"uri": uri, "depth": THREAD_DEPTH, "parentHeight": 0})
        return scrapy.Request(f"{meta['base']}/xrpc/app.bsky.feed.getPostThread?{params}", self.parse_thread,
                              headers=meta["headers"], meta={**_ours(meta), "handle_httpstatus_list": [400, 401, 403]})

    def parse_search(self, response: Response) -> Iterable[Any]:
        if self._xrpc_error(response):
            return
        data = self.json_of(response, "search result")
        posts = data.get("posts") if isinstance(data, dict) else None
        if not isinstance(posts, list):
            if data is not None:
                self.skip_malformed(response.url, "search result", "no 'posts' array")
            return
        source = self.source_of(response)
        state = self.state_of(response)
        fresh = 0
        for post in posts:
            try:
                item = self._item(post, response)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "post", exc)
                continue
            created = self.try_time(item.published)
            entry = state.get(item.native_id)
            if entry is None:
                self.new_this_run.add(item.native_id)
            if item.native_id in self.new_this_run or (created and self.now - created <= state.window):
                fresh += 1
            changed = entry is None or entry.signature != str(item.replies or 0)
            state.mark(item.native_id, self.now, kind="post", activity_at=created, signature=str(item.replies or 0))
            yield item
            if source.options.get("thread", True) and (item.replies or 0) > 0 and changed and self.matcher.match(item.text):
                yield self._thread(item.native_id, response.meta)
        cursor = data.get("cursor")
        page = response.meta["page"]
        if cursor and fresh and page < int(source.options.get("max_pages", 3)):
            if not response.meta["signed_in"]:
                self.logger.info("source %s: more results for %r need a signed-in session (identifier, app_password_env)",
                                 source.name, response.meta["params"]["q"])
                return
            params = {**response.meta["params"], "cursor": str(cursor)}
            yield self._search(response.meta["base"], params, {**_ours(response.meta), "page": page + 1, "params": params})

    def parse_thread(self, response: Response) -> Iterable[Any]:
        if self._xrpc_error(response):
            return
        data = self.json_of(response, "thread")
        thread = data.get("thread") if isinstance(data, dict) else None
        if not isinstance(thread, dict) or not isinstance(thread.get("post"), dict):
            if data is not None:
                self.skip_malformed(response.url, "thread", "no thread.post")
            return
        try:
            root = self._item(thread["post"], response)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self.skip_malformed(response.url, "post", exc)
            return
        self.state_of(response).mark(root.native_id, self.now, kind="post", activity_at=self.try_time(root.published),
                                     signature=str(root.replies or 0))
        yield root
        budget = [MAX_REPLIES_PER_THREAD]
        yield from self._replies(thread.get("replies"), root, response, budget, 0)

    def _replies(self, replies: Any, root: PostItem, response: Response, budget: list[int], depth: int) -> Iterable[PostItem]:
        if not isinstance(replies, list) or depth > THREAD_DEPTH:
            return
        for node in replies:
            # notFoundPost / blockedPost nodes carry no post: nothing to read there.
            if not isinstance(node, dict) or not isinstance(node.get("post"), dict) or budget[0] <= 0:
                continue
            budget[0] -= 1
            try:
                item = self._item(node["post"], response)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "reply", exc)
                continue
            item.thread_context = root.text
            item.thread_id = root.thread_id
            yield item
            yield from self._replies(node.get("replies"), root, response, budget, depth + 1)

    def _xrpc_error(self, response: Response) -> bool:
        """True (logged) for an XRPC error answer: refused credentials, a cursor refused signed out, a bad request."""
        if response.status == 200:
            return False
        if self.refused(response, "Bluesky", "the AppView refused this request signed out; set identifier and app_password_env"):
            return True
        data = self.json_of(response, "error")
        reason = f"{data.get('error')}: {data.get('message')}" if isinstance(data, dict) else f"HTTP {response.status}"
        self.logger.warning("Bluesky answered %s at %s", reason, response.url)
        return True

    def _item(self, post: dict[str, Any], response: Response) -> PostItem:
        uri, record, author = post["uri"], post.get("record") or {}, post.get("author") or {}
        if not isinstance(uri, str) or not uri.startswith("at://") or "/app.bsky.feed.post/" not in uri:
            raise ValueError(f"{uri!r} is not a post at:// uri")
        text = record.get("text")
        if not isinstance(text, str):
            raise ValueError(f"post {uri} has no record.text")
        reply = record.get("reply") or {}
        parent = (reply.get("parent") or {}).get("uri")
        root = (reply.get("root") or {}).get("uri") or uri
        langs = record.get("langs") or []
        handle = author.get("handle") or None
        return PostItem(
            source=response.meta["source"], platform="bluesky", native_id=uri, text=text,
            published=record.get("createdAt") or post.get("indexedAt"), page_url=response.url,
            url=post_url(uri, handle), thread_id=f"bluesky:{root}", parent_native_id=parent or None,
            author_handle=handle, author_name=author.get("displayName") or None,
            author_url=f"{WEB}/profile/{quote(handle or author.get('did') or '', safe=':')}" if (handle or author.get("did")) else None,
            likes=_count(post.get("likeCount")), shares=_sum(post.get("repostCount"), post.get("quoteCount")),
            replies=_count(post.get("replyCount")), lang=(langs[0][:2] if langs and isinstance(langs[0], str) else None),
        )


def post_url(uri: str, handle: str | None) -> str:
    """``at://<did>/app.bsky.feed.post/<rkey>`` → ``https://bsky.app/profile/<handle or did>/post/<rkey>``."""
    did, _, rkey = uri.removeprefix("at://").partition("/app.bsky.feed.post/")
    return f"{WEB}/profile/{quote(handle or did, safe=':')}/post/{quote(rkey)}"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _sum(*values: Any) -> int | None:
    counts = [c for c in (_count(v) for v in values) if c is not None]
    return sum(counts) if counts else None


def _ours(meta: Any) -> dict[str, Any]:
    """Our keys of ``response.meta`` only (never Scrapy's internal ones)."""
    return {k: meta[k] for k in ("source", "base", "headers", "signed_in", "page", "params", "credentials") if k in meta}
