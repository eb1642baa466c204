"""Crawlers keep only http(s) links: a post linking ``javascript:``/``data:`` keeps its text,
loses the link, and the drop is counted (issue 12, item 4)."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from core.links import safe_http_url
from crawlers.items import PostItem
from crawlers.pipelines.clean import CleanTextPipeline

HOSTILE = ["javascript:alert(document.domain)//", " JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
           "https://blog.example/p|x> <!channel> <https://evil.example/login|Reset your Slack password",
           "vbscript:msgbox(1)", "file:///etc/passwd", "//evil.example/x", "https://", "http://[::1", "ftp://x.example/"]


def _item(url: str, author_url: str | None = None) -> PostItem:
    return PostItem(source="forum", platform="forum", native_id="1", text="سپهر موبایل گوشی مرا خراب کرد",
                    published="2 hours ago", page_url="https://forum.example/t/1", url=url, author_url=author_url)


@pytest.mark.parametrize("url", HOSTILE)
def test_unsafe_links_are_dropped_and_counted_and_the_post_kept(url: str) -> None:
    crawler = get_crawler()
    crawler.stats.open_spider()
    pipeline = CleanTextPipeline.from_crawler(crawler)
    item = pipeline.process_item(_item(url, author_url=url))
    assert item.url is None and item.author_url is None
    assert item.text == "سپهر موبایل گوشی مرا خراب کرد"
    assert crawler.stats.get_value("brandguard/unsafe_url_dropped") == 2


def test_http_links_are_kept_canonical() -> None:
    crawler = get_crawler()
    crawler.stats.open_spider()
    item = CleanTextPipeline.from_crawler(crawler).process_item(
        _item("HTTPS://Forum.Example:443/t/1?utm_source=x&p=2#frag", "http://forum.example/u/mina_r"))
    assert item.url == "https://forum.example/t/1?p=2" and item.author_url == "http://forum.example/u/mina_r"
    assert crawler.stats.get_value("brandguard/unsafe_url_dropped") is None


def test_safe_http_url_rules() -> None:
    assert safe_http_url("https://x.example/a?b=1&c=2") == "https://x.example/a?b=1&c=2"
    assert safe_http_url("http://127.0.0.1:8765/p") == "http://127.0.0.1:8765/p"
    for url in [*HOSTILE, None, "", 42, "https://x.example/" + "a" * 3000, "https://x.example/a b", "https://x.example/\x00"]:
        assert safe_http_url(url) is None, url
