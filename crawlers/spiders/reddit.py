"""Reddit through its JSON API: subreddit listings, search, and comment trees of matching posts.

A source's ``options``: ``subreddits`` (names: ``/r/<sub>/new.json``), ``search`` (queries:
``/search.json?q=...&sort=new``), ``max_pages`` (listing pages per run, following ``after``;
default 3), ``comments`` (fetch ``/comments/<id>.json`` of brand-matching posts, default true),
``max_revisits`` (known posts re-read per run, default 100) and ``token_env`` (the environment
variable holding an OAuth bearer token). With a token the API host is ``https://oauth.reddit.com``
(Reddit's rules for API clients), without one ``https://www.reddit.com``; ``urls`` overrides both.

Posts (``t3``) carry ``score`` (likes) and ``num_comments`` (replies). A post's comment tree is
fetched when it is new or its ``num_comments`` changed, and known posts inside the revisit
window are re-read through the same endpoint, so each re-visit appends an engagement point.
Native ids are Reddit "fullnames" (``t3_abc``, ``t1_xyz``), which is what ``parent_id`` names.
"""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.spiders.base import SourceSpider

PUBLIC_API = "https://www.reddit.com"
OAUTH_API = "https://oauth.reddit.com"
SITE = "https://www.reddit.com"
MAX_COMMENT_DEPTH = 50  # a bound on recursion through hostile nesting


class RedditSpider(SourceSpider):
    name = "reddit"
    kind = "reddit"

    new_this_run: set[str]

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        self.new_this_run = getattr(self, "new_this_run", set())
        token = self.secret_from_env(source, "token_env")
        if source.options.get("token_env") and not token:
            self.logger.warning("source %s: $%s is empty; reading Reddit without a token", source.name, source.options["token_env"])
        if token:
            self.credentials[source.name] = {"headers": {"Authorization": f"bearer {token}"}}
        headers = {"Accept": "application/json"}
        base = (source.urls[0] if source.urls else (OAUTH_API if token else PUBLIC_API)).rstrip("/")
        meta = {"source": source.name, "base": base, "headers": headers, "page": 1, "credentials": source.name}
        for sub in source.options.get("subreddits", []):
            url = f"{base}/r/{quote(str(sub).removeprefix('r/'))}/new.json?{urlencode({'limit': 100, 'raw_json': 1})}"
            yield self._listing(url, meta)
        for query in source.options.get("search", []):
            url = f"{base}/search.json?{urlencode({'q': query, 'sort': 'new', 'limit': 100, 'raw_json': 1})}"
            yield self._listing(url, meta)
        state = self.states[source.name]
        for key in state.due_for_revisit(self.now, kind="post")[: int(source.options.get("max_revisits", 100))]:
            yield self._comments(key.removeprefix("t3_"), meta)

    def _listing(self, url: str, meta: dict[str, Any], first_page: str | None = None) -> scrapy.Request:
        return scrapy.Request(url, self.parse_listing, headers=meta["headers"], dont_filter=meta["page"] == 1,
                              meta={**meta, "handle_httpstatus_list": [401, 403], "listing": first_page or url})

    def _comments(self, post_id: str, meta: dict[str, Any]) -> scrapy.Request:
        params = urlencode({"limit": 200, "depth": 10, "sort": "new", "raw_json": 1})
        return scrapy.Request(f"{meta['base']}/comments/{quote(post_id)}.json?{params}", self.parse_comments,
                              headers=meta["headers"], meta={**_ours(meta), "handle_httpstatus_list": [401, 403]})

    def parse_listing(self, response: Response) -> Iterable[Any]:
        if self.refused(response, "Reddit", "check the token in the source's token_env (or the subreddit is private)"):
            return
        data = self.json_of(response, "listing")
        children = _listing_children(data)
        if children is None:
            if data is not None:
                self.skip_malformed(response.url, "listing", "no data.children array")
            return
        source = self.source_of(response)
        state = self.state_of(response)
        fresh = 0
        for child in children:
            if not isinstance(child, dict) or child.get("kind") != "t3":
                continue
            try:
                item = self._post(child.get("data") or {}, response)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "post", exc)
                continue
            key = item.native_id
            created = self.try_time(item.published)
            entry = state.get(key)
            if entry is None:
                self.new_this_run.add(key)
            if key in self.new_this_run or (created and self.now - created <= state.window):
                fresh += 1  # keep paging while posts are new to us or young enough to gain votes
            # The comment count is the signature: a changed count means new comments to read.
            comments_changed = entry is None or entry.signature != str(item.replies or 0)
            about_a_brand = bool(self.matcher.match(item.title, item.text))
            # Only posts about a brand are re-visited later; the rest are remembered as seen.
            state.mark(key, self.now, kind="post" if about_a_brand else "other", activity_at=created,
                       signature=str(item.replies or 0))
            yield item
            wants = source.options.get("comments", True) and (item.replies or 0) > 0 and comments_changed
            if wants and about_a_brand:
                yield self._comments(key.removeprefix("t3_"), response.meta)
        after = (data.get("data") or {}).get("after")
        page = response.meta["page"]
        if after and fresh and page < int(source.options.get("max_pages", 3)):
            first = response.meta["listing"]  # always has a query string: we built it
            next_url = f"{first}&{urlencode({'after': after, 'count': 100 * page})}"
            yield self._listing(next_url, {**_ours(response.meta), "page": page + 1}, first)

    def parse_comments(self, response: Response) -> Iterable[Any]:
        if self.refused(response, "Reddit", "check the token in the source's token_env"):
            return
        data = self.json_of(response, "comment page")
        if not isinstance(data, list) or len(data) != 2:
            if data is not None:
                self.skip_malformed(response.url, "comment page", "expected [post listing, comment listing]")
            return
        posts = _listing_children(data[0]) or []
        post_thing = next((c for c in posts if isinstance(c, dict) and c.get("kind") == "t3"), None)
        if post_thing is None:
            self.skip_malformed(response.url, "comment page", "no t3 post in the first listing")
            return
        try:
            post = self._post(post_thing.get("data") or {}, response)
        except (KeyError, TypeError, ValueError) as exc:
            self.skip_malformed(response.url, "post", exc)
            return
        self.state_of(response).mark(post.native_id, self.now, kind="post", activity_at=self.try_time(post.published),
                                     signature=str(post.replies or 0))
        yield post
        context = "\n".join(t for t in (post.title, post.text) if t)
        yield from self._comment_tree(_listing_children(data[1]) or [], post, context, response, 0)

    def _comment_tree(self, children: list[Any], post: PostItem, context: str, response: Response, depth: int) -> Iterable[PostItem]:
        if depth > MAX_COMMENT_DEPTH:
            return
        for child in children:
            if not isinstance(child, dict):
                continue
            if child.get("kind") == "more":
                self.crawler.stats.inc_value("brandguard/reddit_more_left", len((child.get("data") or {}).get("children") or []))
                continue
            if child.get("kind") != "t1":
                continue
            data = child.get("data") or {}
            try:
                yield self._comment(data, post, context, response)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "comment", exc)
            replies = data.get("replies")
            if isinstance(replies, dict):  # Reddit sends "" when there are none
                yield from self._comment_tree(_listing_children(replies) or [], post, context, response, depth + 1)

    def _post(self, data: dict[str, Any], response: Response) -> PostItem:
        if not data.get("id") or data.get("created_utc") is None:
            raise ValueError("post without id or created_utc")
        fullname = data.get("name") or f"t3_{data['id']}"
        author = _author(data)
        return PostItem(
            source=response.meta["source"], platform="reddit", native_id=fullname, text=data.get("selftext") or "",
            title=data.get("title"), published=float(data["created_utc"]), page_url=response.url,
            url=_permalink(data), thread_id=f"reddit:{fullname}",
            author_handle=author, author_url=f"{SITE}/user/{author}" if author else None,
            likes=_int(data.get("score")), replies=_int(data.get("num_comments")),
            author_bio=f"r/{data['subreddit']}" if data.get("subreddit") else None,
        )

    def _comment(self, data: dict[str, Any], post: PostItem, context: str, response: Response) -> PostItem:
        if not data.get("id") or data.get("created_utc") is None:
            raise ValueError("comment without id or created_utc")
        body = data.get("body")
        if body is None:
            raise ValueError(f"comment {data['id']} has no body")
        author = _author(data)
        parent = data.get("parent_id") or post.native_id
        return PostItem(
            source=response.meta["source"], platform="reddit", native_id=data.get("name") or f"t1_{data['id']}",
            text=body, published=float(data["created_utc"]), page_url=response.url, url=_permalink(data),
            thread_id=post.thread_id, parent_native_id=parent, thread_context=context,
            author_handle=author, author_url=f"{SITE}/user/{author}" if author else None,
            likes=_int(data.get("score")), replies=_reply_count(data.get("replies")),
        )


def _listing_children(thing: Any) -> list[Any] | None:
    """``thing.data.children`` of a Listing, or None when it is not one."""
    if not isinstance(thing, dict) or not isinstance(thing.get("data"), dict):
        return None
    children = thing["data"].get("children")
    return children if isinstance(children, list) else None


def _author(data: dict[str, Any]) -> str | None:
    author = data.get("author")
    return author if isinstance(author, str) and author not in ("[deleted]", "[removed]") else None


def _permalink(data: dict[str, Any]) -> str | None:
    link = data.get("permalink")
    return f"{SITE}{link}" if isinstance(link, str) and link.startswith("/") else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _reply_count(replies: Any) -> int:
    children = _listing_children(replies) or []
    return sum(1 for c in children if isinstance(c, dict) and c.get("kind") == "t1")


def _ours(meta: Any) -> dict[str, Any]:
    """Our keys of ``response.meta`` only (never Scrapy's internal ones)."""
    return {k: meta[k] for k in ("source", "base", "headers", "page", "credentials") if k in meta}
