"""YouTube through the Data API v3: videos about a brand (``search.list``) and their comments.

A source's ``options``: ``queries`` (search terms), ``api_key_env`` (the environment variable
holding the API key; sent as the ``X-Goog-Api-Key`` header, so it never appears in a URL or a
log line), ``daily_quota_units`` (the budget this source may spend per quota day, default
10,000, the default project quota), ``max_pages`` (search pages per query, default 1),
``max_videos`` (videos read per run, default 50), ``max_comment_pages`` (``commentThreads.list``
pages per video, default 2), ``lookback_hours`` (``publishedAfter``; default the revisit
window), ``relevance_language`` and ``region_code`` (passed to search), ``quota_costs``
(override the cost table below).

Quota: every call is counted at the documented cost (``search.list`` 100 units, every
``list`` used here 1) in a ledger kept under the data dir (``crawlers.quota``), so restarts
do not reset it; a call that would pass the budget is not made, and a ``quotaExceeded``
answer closes the day. Videos found are read with ``videos.list`` (views, likes, comment
count: the engagement), and videos inside the revisit window are re-read the same way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterable
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from core.config import SourceSettings
from crawlers.items import PostItem
from crawlers.quota import QuotaLedger
from crawlers.sources import source_dir
from crawlers.spiders.base import SourceSpider

DEFAULT_API = "https://www.googleapis.com/youtube/v3"
WATCH = "https://www.youtube.com/watch?v="
# Units per call, from the Data API's quota cost table (developers.google.com/youtube/v3/determine_quota_cost).
QUOTA_COSTS = {"search.list": 100, "videos.list": 1, "commentThreads.list": 1}
VIDEOS_PER_CALL = 50  # videos.list takes at most 50 ids


class YouTubeSpider(SourceSpider):
    name = "youtube"
    kind = "youtube"

    def setup(self, settings: Any, now: Any) -> None:
        super().setup(settings, now)
        self.ledgers: dict[str, QuotaLedger] = {}
        self.videos_this_run: dict[str, set[str]] = {}
        for name, source in self.sources.items():
            budget = int(source.options.get("daily_quota_units", 10_000))
            self.ledgers[name] = QuotaLedger(source_dir(settings, name) / "quota.json", budget)
            self.videos_this_run[name] = set()

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        key = self.secret_from_env(source, "api_key_env")
        if not key:
            self.logger.warning("source %s: no API key in $%s; YouTube not crawled", source.name, source.options.get("api_key_env"))
            self.crawler.stats.inc_value("brandguard/auth_refused")
            return
        base = (source.urls[0] if source.urls else DEFAULT_API).rstrip("/")
        self.credentials[source.name] = {"headers": {"X-Goog-Api-Key": key}}  # added at send time only
        meta = {"source": source.name, "base": base, "headers": {"Accept": "application/json"}, "credentials": source.name}
        lookback = float(source.options.get("lookback_hours", source.revisit_window_hours))
        after = (self.now - timedelta(hours=lookback)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for query in source.options.get("queries", []):
            params = {"part": "snippet", "q": query, "type": "video", "order": "date", "maxResults": 50, "publishedAfter": after}
            for option, param in (("relevance_language", "relevanceLanguage"), ("region_code", "regionCode")):
                if source.options.get(option):
                    params[param] = source.options[option]
            request = self._call("search.list", f"{base}/search", params, self.parse_search, {**meta, "page": 1, "params": params})
            if request is not None:
                yield request
        due = self.states[source.name].due_for_revisit(self.now, kind="video")
        for start in range(0, min(len(due), int(source.options.get("max_videos", 50))), VIDEOS_PER_CALL):
            request = self._videos(due[start:start + VIDEOS_PER_CALL], meta)
            if request is not None:
                yield request

    def _call(self, method: str, url: str, params: dict[str, Any], callback: Any, meta: dict[str, Any]) -> scrapy.Request | None:
        """The request, with its units counted; None (logged once) when it would pass today's budget."""
        source = self.sources[meta["source"]]
        cost = int({**QUOTA_COSTS, **(source.options.get("quota_costs") or {})}.get(method, 1))
        ledger = self.ledgers[source.name]
        if not ledger.spend(cost, self.now):
            self.crawler.stats.inc_value("brandguard/quota_skipped")
            if not self.crawler.stats.get_value(f"brandguard/quota_warned/{source.name}"):
                self.crawler.stats.set_value(f"brandguard/quota_warned/{source.name}", 1)
                self.logger.warning("source %s: YouTube quota budget reached (%d of %d units used today; resets at "
                                    "midnight Pacific time); skipping the remaining calls", source.name,
                                    ledger.used_on(self.now), ledger.budget)
            return None
        self.crawler.stats.inc_value("brandguard/quota_units", cost)
        return scrapy.Request(f"{url}?{urlencode(params)}", callback, headers=meta["headers"], dont_filter=True,
                              meta={**_ours(meta), "handle_httpstatus_list": [400, 401, 403]})

    def _videos(self, video_ids: list[str], meta: dict[str, Any]) -> scrapy.Request | None:
        params = {"part": "snippet,statistics", "id": ",".join(video_ids), "maxResults": VIDEOS_PER_CALL}
        return self._call("videos.list", f"{meta['base']}/videos", params, self.parse_videos, meta)

    def parse_search(self, response: Response) -> Iterable[Any]:
        data = self._answer(response)
        if data is None:
            return
        source = self.source_of(response)
        seen = self.videos_this_run[source.name]
        limit = int(source.options.get("max_videos", 50))
        ids = []
        for result in data.get("items") or []:
            video_id = ((result or {}).get("id") or {}).get("videoId") if isinstance(result, dict) else None
            if isinstance(video_id, str) and video_id and video_id not in seen and len(seen) < limit:
                seen.add(video_id)
                ids.append(video_id)
        if ids:
            request = self._videos(ids, response.meta)
            if request is not None:
                yield request
        token, page = data.get("nextPageToken"), response.meta["page"]
        if token and ids and page < int(source.options.get("max_pages", 1)) and len(seen) < limit:
            params = {**response.meta["params"], "pageToken": token}
            request = self._call("search.list", f"{response.meta['base']}/search", params, self.parse_search,
                                 {**_ours(response.meta), "page": page + 1, "params": params})
            if request is not None:
                yield request

    def parse_videos(self, response: Response) -> Iterable[Any]:
        data = self._answer(response)
        if data is None:
            return
        state = self.state_of(response)
        for video in data.get("items") or []:
            try:
                item = self._video(video, response)
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "video", exc)
                continue
            video_id = item.native_id.removeprefix("video:")
            entry = state.get(video_id)
            changed = entry is None or entry.signature != str(item.replies or 0)
            about_a_brand = bool(self.matcher.match(item.title, item.text))
            state.mark(video_id, self.now, kind="video" if about_a_brand else "other",
                       activity_at=self.try_time(item.published), signature=str(item.replies or 0))
            yield item
            if about_a_brand and changed and (item.replies or 0) > 0:
                params = {"part": "snippet,replies", "videoId": video_id, "maxResults": 100, "order": "time", "textFormat": "plainText"}
                about = {"id": video_id, "url": item.url, "context": "\n".join(t for t in (item.title, item.text) if t)}
                meta = {**_ours(response.meta), "page": 1, "params": params, "video": about}
                request = self._call("commentThreads.list", f"{response.meta['base']}/commentThreads", params,
                                     self.parse_comments, meta)
                if request is not None:
                    yield request

    def parse_comments(self, response: Response) -> Iterable[Any]:
        data = self._answer(response)
        if data is None:
            return
        video: dict[str, str] = response.meta["video"]  # id, url and text of the video (plain values: JOBDIR pickles them)
        for thread in data.get("items") or []:
            try:
                snippet = thread["snippet"]
                top = self._comment(snippet["topLevelComment"], video, response, parent=f"video:{video['id']}")
                top.replies = _int(snippet.get("totalReplyCount"))
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(response.url, "comment thread", exc)
                continue
            yield top
            for reply in ((thread.get("replies") or {}).get("comments") or [])[:100]:
                try:
                    yield self._comment(reply, video, response, parent=top.native_id)
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    self.skip_malformed(response.url, "reply", exc)
        source = self.source_of(response)
        token, page = data.get("nextPageToken"), response.meta["page"]
        if token and page < int(source.options.get("max_comment_pages", 2)):
            params = {**response.meta["params"], "pageToken": token}
            request = self._call("commentThreads.list", f"{response.meta['base']}/commentThreads", params, self.parse_comments,
                                 {**_ours(response.meta), "page": page + 1, "params": params, "video": video})
            if request is not None:
                yield request

    def _answer(self, response: Response) -> dict[str, Any] | None:
        """The JSON body, or None after handling an API error (quota spent, bad key, comments disabled)."""
        data = self.json_of(response)
        if response.status == 200:
            if not isinstance(data, dict):
                if data is not None:
                    self.skip_malformed(response.url, "API response", "expected a JSON object")
                return None
            return data
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            error = {}
        reasons = {e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)}
        message = str(error.get("message") or "no error document")
        source = self.source_of(response)
        if reasons & {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded"}:
            self.ledgers[source.name].exhaust(self.now)
            self.logger.warning("source %s: YouTube says the quota is spent (%s); no more calls until midnight Pacific time",
                                source.name, ", ".join(sorted(reasons)))
        elif "commentsDisabled" in reasons:
            self.logger.info("comments are disabled on %s", (response.meta.get("video") or {}).get("url") or response.url)
        elif reasons & {"keyInvalid", "forbidden", "accessNotConfigured"} or response.status == 401 or "API key" in message:
            self.logger.warning("YouTube refused the API key of source %s (HTTP %d, %s): check $%s and that the "
                                "YouTube Data API is enabled for it", source.name, response.status,
                                ", ".join(sorted(r for r in reasons if r)) or "no reason", source.options.get("api_key_env"))
            self.crawler.stats.inc_value("brandguard/auth_refused")
        else:
            self.logger.warning("YouTube answered HTTP %d at %s: %s", response.status, response.url, message)
        return None

    def _video(self, video: dict[str, Any], response: Response) -> PostItem:
        video_id, snippet, stats = video["id"], video["snippet"], video.get("statistics") or {}
        if not isinstance(video_id, str) or not video_id or not snippet.get("publishedAt"):
            raise ValueError("video without id or snippet.publishedAt")
        channel = snippet.get("channelId")
        return PostItem(
            source=response.meta["source"], platform="youtube", native_id=f"video:{video_id}",
            text=snippet.get("description") or "", title=snippet.get("title") or None, published=snippet["publishedAt"],
            page_url=response.url, url=f"{WATCH}{video_id}", thread_id=f"youtube:{video_id}",
            author_handle=channel, author_name=snippet.get("channelTitle") or None,
            author_url=f"https://www.youtube.com/channel/{channel}" if channel else None,
            views=_int(stats.get("viewCount")), likes=_int(stats.get("likeCount")), replies=_int(stats.get("commentCount")),
            lang=(snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage") or "")[:2] or None,
        )

    def _comment(self, comment: dict[str, Any], video: dict[str, str], response: Response, parent: str) -> PostItem:
        comment_id, snippet = comment["id"], comment["snippet"]
        text = snippet.get("textOriginal") if snippet.get("textOriginal") is not None else snippet.get("textDisplay")
        if not isinstance(comment_id, str) or not isinstance(text, str) or not snippet.get("publishedAt"):
            raise ValueError("comment without id, text or publishedAt")
        channel = (snippet.get("authorChannelId") or {}).get("value")
        video_id = video["id"]
        return PostItem(
            source=response.meta["source"], platform="youtube", native_id=f"comment:{comment_id}", text=text,
            published=snippet["publishedAt"], page_url=response.url, url=f"{WATCH}{video_id}&lc={comment_id}",
            thread_id=f"youtube:{video_id}", parent_native_id=parent, thread_context=video["context"],
            author_handle=channel, author_name=snippet.get("authorDisplayName") or None,
            author_url=snippet.get("authorChannelUrl") or None, likes=_int(snippet.get("likeCount")),
        )


def _int(value: Any) -> int | None:
    """YouTube sends counts as strings ("1234") in statistics and as numbers in comments."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _ours(meta: Any) -> dict[str, Any]:
    """Our keys of ``response.meta`` only (never Scrapy's internal ones)."""
    return {k: meta[k] for k in ("source", "base", "headers", "page", "params", "video", "credentials") if k in meta}
