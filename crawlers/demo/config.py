"""The demo's brands and sources, pointing at a running DemoWeb."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import Settings
from crawlers.demo.story import DEMO_MASTODON_TOKEN, TELEGRAM_CHAT, TELEGRAM_OWN

SEPEHR_QUERY = '"sepehr mobile" OR sepehrmobile OR #sepehrfail OR @sepehrmobile OR "سپهر موبایل" OR #سپهر_موبایل'
ARIANET_QUERY = "arianet OR آریانت"

# The demo web is local: lift the politeness delays (robots.txt is still obeyed).
LOCAL_SCRAPY = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "LOG_LEVEL": "WARNING"}

FORUM_OPTIONS: dict[str, Any] = {
    "platform": "forum",
    "listing": {"thread": "li.thread", "link": "a.thread-title::attr(href)", "signature": ".replies::text",
                "next_page": "a[rel=next]::attr(href)", "max_pages": 5},
    "thread": {"title": "h1::text", "post": "article.post", "id": "::attr(data-post-id)", "author": "a.author::text",
               "author_url": "a.author::attr(href)",
               "time": ".post-date time::attr(datetime), .post-date .jalali::text",
               "body": ".post-body", "likes": ".likes::text", "permalink": "a.permalink::attr(href)",
               "next_page": "a[rel=next]::attr(href)"},
}
REVIEW_OPTIONS: dict[str, Any] = {
    "platform": "review",
    "listing": {"link": "a.shop-link::attr(href)"},
    "thread": {"title": "h1::text", "post": "div.review", "id": "::attr(data-review-id)", "author": ".reviewer a::text",
               "author_url": ".reviewer a::attr(href)", "time": ".review-date::text", "body": ".review-text",
               "rating": ".stars::attr(data-rating)", "rating_scale": 5, "likes": ".helpful::text",
               "next_page": "a[rel=next]::attr(href)"},
}


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    """Source entries for the demo web at ``base_url`` (short schedules, re-visit every step)."""
    common = {"schedule_seconds": 60, "revisit_seconds": 600, "revisit_window_hours": 72}

    def opts(extra: dict[str, Any]) -> dict[str, Any]:
        # The demo web runs on this machine: private addresses are what it is made of.
        return {**extra, "scrapy": dict(LOCAL_SCRAPY), "allow_private_networks": True}

    return [
        {"name": "demo-forum", "kind": "forum", "urls": [f"{base_url}/forum/"], **common, "options": opts(FORUM_OPTIONS)},
        {"name": "demo-reviews", "kind": "forum", "urls": [f"{base_url}/reviews/"], **common, "options": opts(REVIEW_OPTIONS)},
        {"name": "demo-news", "kind": "rss", "urls": [f"{base_url}/news/feed.xml"], **common, "options": opts({})},
        {"name": "demo-mastodon", "kind": "mastodon", "urls": [f"{base_url}/mastodon"], **common,
         "options": opts({"hashtags": ["sepehrfail", "sepehrmobile"], "search": ["sepehr mobile"],
                          "token": DEMO_MASTODON_TOKEN, "max_pages": 10})},
        {"name": "demo-telegram-own", "kind": "telegram", "urls": [f"{base_url}/telegram/s/{TELEGRAM_OWN}"], **common,
         "brand_owned": True, "options": opts({})},
        {"name": "demo-telegram-chat", "kind": "telegram", "urls": [f"{base_url}/telegram/s/{TELEGRAM_CHAT}"], **common,
         "options": opts({})},
    ]


def demo_settings(base_url: str, data_dir: Path) -> Settings:
    """Settings with the demo brands (Sepehr Mobile, competitor Arianet) and demo sources."""
    return Settings.model_validate({
        "data_dir": str(data_dir),
        "brands": [
            {"name": "Sepehr Mobile", "query": SEPEHR_QUERY,
             "handles": {"mastodon": ["sepehrmobile"], "telegram": ["sepehrmobile"]}},
            {"name": "Arianet", "query": ARIANET_QUERY, "competitor": True},
        ],
        "sources": demo_sources(base_url.rstrip("/")),
    })
