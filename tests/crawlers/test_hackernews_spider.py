"""Hacker News via the Algolia search API: stories and comments inside the revisit window."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import scrapy

from core.config import Settings
from crawlers.items import PostItem
from crawlers.spiders.hackernews import HackerNewsSpider
from tests.crawlers.conftest import NOW, response_for, spider_for

SEARCH = {
    "hits": [
        {"created_at": "2026-11-23T10:00:00Z", "created_at_i": 1795428000, "title": "Sepehr Mobile opens an API for repairs",
         "url": "https://example.com/a", "author": "hn_user", "points": 42, "story_text": None, "comment_text": None,
         "num_comments": 7, "story_id": None, "story_title": None, "parent_id": None, "objectID": "4200",
         "_tags": ["story", "author_hn_user", "story_4200"]},
        {"created_at": "2026-11-23T11:00:00Z", "created_at_i": 1795431600, "title": None, "url": None, "author": "critic",
         "points": None, "story_text": None, "comment_text": "<p>Their support never answered me.</p>", "num_comments": None,
         "story_id": 4200, "story_title": "Sepehr Mobile opens an API for repairs", "parent_id": 4200, "objectID": "4201",
         "_tags": ["comment", "author_critic", "story_4200"]},
        {"title": "broken hit without id"},
    ],
    "nbHits": 3, "page": 0, "nbPages": 2, "hitsPerPage": 100,
}


def test_search_hits_become_stories_and_comments_and_pages_continue(tmp_path) -> None:
    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile"'}],
        "sources": [{"name": "hn", "kind": "hackernews", "urls": ["http://127.0.0.1:9/api/v1"], "revisit_window_hours": 48,
                     "options": {"queries": ["sepehr mobile"]}}],
    })
    spider = spider_for(HackerNewsSpider, settings, "hn")
    start = next(iter(spider.start_requests_for(settings.sources[0])))
    params = parse_qs(urlsplit(start.url).query)
    assert params["numericFilters"] == [f"created_at_i>{int(NOW.timestamp()) - 48 * 3600}"]
    assert params["tags"] == ["(story,comment)"]
    out = list(spider.parse_search(response_for(start.url, json.dumps(SEARCH), **start.meta)))
    story, comment = [o for o in out if isinstance(o, PostItem)]
    assert (story.native_id, story.title, story.likes, story.replies) == ("4200", "Sepehr Mobile opens an API for repairs", 42, 7)
    assert comment.parent_native_id == "4200" and comment.thread_id == story.thread_id == "hackernews:4200"
    assert comment.thread_context == "Sepehr Mobile opens an API for repairs"  # a comment inherits the story's brand
    assert [o.url for o in out if isinstance(o, scrapy.Request)] == [start.url.replace("page=0", "page=1")]
    assert spider.crawler.stats.get_value("brandguard/malformed") == 1


def test_hackernews_crawl_stores_the_story_and_its_comment(tmp_path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from crawlers.runner import run_sources
    from tests.crawlers.conftest import stored

    seen: list[str] = []

    class Algolia(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            page = parse_qs(urlsplit(self.path).query).get("page", ["0"])[0]
            body = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else json.dumps(
                SEARCH if page == "0" else {"hits": [], "nbPages": 2, "page": 1}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Algolia)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = Settings.model_validate({
            "data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile"'}],
            "sources": [{"name": "hn", "kind": "hackernews", "urls": [f"http://127.0.0.1:{server.server_address[1]}/api/v1"],
                         "options": {"queries": ["sepehr mobile"], "scrapy": {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}}}],
        })
        summary = run_sources(settings, now=NOW, timeout=120)
    finally:
        server.shutdown()
    assert summary.sources[0].finished and summary.sources[0].malformed == 1
    mentions = {m.native_id: m for m in stored(settings)}
    assert set(mentions) == {"4200", "4201"}
    assert mentions["4201"].text == "Their support never answered me." and mentions["4201"].parent_id == mentions["4200"].id
    assert mentions["4200"].engagement.likes == 42 and mentions["4200"].url == "https://news.ycombinator.com/item?id=4200"
    assert any("page=1" in p for p in seen)
