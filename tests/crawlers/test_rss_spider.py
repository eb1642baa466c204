"""RSS/Atom feeds: brand entries stored, malformed entries skipped, unchanged feeds not re-read."""

from __future__ import annotations

from datetime import timedelta

from core.config import Settings
from crawlers.items import PostItem
from crawlers.spiders.rss import RssSpider
from tests.crawlers.conftest import NOW, crawl, response_for, spider_for, stored


def test_feed_entries_about_brands_are_stored_and_the_broken_one_is_logged(demo_web, settings, capfd) -> None:
    summary = crawl(settings, demo_web, "demo-news")
    news = {m.title: m for m in stored(settings, sources=["demo-news"])}
    assert set(news) == {"Sepehr Mobile opens a new store in Tehran", "سپهر موبایل شعبه جدید افتتاح کرد", "Arianet announces 5G plans"}
    store_news = news["Sepehr Mobile opens a new store in Tehran"]
    assert store_news.published_at == NOW - timedelta(minutes=300)  # RFC 822 pubDate
    assert store_news.url == f"{demo_web.base_url}/news/sepehr-new-store" and store_news.lang == "en"  # <language>
    assert news["Arianet announces 5G plans"].brands == ["Arianet"]
    assert news["سپهر موبایل شعبه جدید افتتاح کرد"].lang is None  # the feed says "en"; the text is Persian
    # "سپهر آبی" (the sky) is not the brand; the entry without link/date is logged and skipped.
    assert "entry 'Sepehr Mobile quarterly results' has no link" in capfd.readouterr().err
    assert summary.sources[0].malformed == 1 and summary.sources[0].dropped_unmatched == 1


def test_an_unchanged_feed_is_not_downloaded_again(demo_web, settings) -> None:
    crawl(settings, demo_web, "demo-news")
    summary = crawl(settings, demo_web, "demo-news")
    assert summary.sources[0].skipped_unchanged == 1  # the server answered 304 to If-None-Match
    assert summary.sources[0].created == 0
    assert len(stored(settings, sources=["demo-news"])) == 3


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Persian tech blog</title>
 <entry><title>بررسی خدمات سپهر موبایل</title><link href="http://127.0.0.1:9/posts/1?utm_source=rss"/>
  <id>tag:blog,2024:1</id><updated>2024-11-02T10:00:00+03:30</updated>
  <content type="html">&lt;p&gt;خدمات پس از فروش &lt;b&gt;سپهر موبایل&lt;/b&gt; بهتر شده است.&lt;/p&gt;</content></entry>
 <entry><title>No date here</title><link href="http://127.0.0.1:9/posts/2"/><id>tag:blog,2024:2</id></entry>
</feed>"""


def test_atom_entries_are_read_and_an_entry_without_date_is_skipped(tmp_path) -> None:
    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile", "query": '"سپهر موبایل"'}],
        "sources": [{"name": "blog", "kind": "rss", "urls": ["http://127.0.0.1:9/atom.xml"], "options": {"lang": "fa"}}],
    })
    spider = spider_for(RssSpider, settings, "blog")
    items = [o for o in spider.parse_feed(response_for("http://127.0.0.1:9/atom.xml", ATOM, source="blog")) if isinstance(o, PostItem)]
    assert len(items) == 1
    assert items[0].native_id == "tag:blog,2024:1" and items[0].lang == "fa"
    assert items[0].published == "2024-11-02T10:00:00+03:30"
    assert "<b>سپهر موبایل</b>" in items[0].text and items[0].is_html
    assert spider.crawler.stats.get_value("brandguard/malformed") == 1


def test_full_text_option_fetches_the_article_page(demo_web, settings) -> None:
    source = next(s for s in settings.sources if s.name == "demo-news")
    source.options["full_text"] = True
    crawl(settings, demo_web, "demo-news")
    assert "/news/sepehr-new-store" in demo_web.requests_seen
    news = {m.title: m for m in stored(settings, sources=["demo-news"])}
    article = news["Sepehr Mobile opens a new store in Tehran"].text
    assert "The company said more stores would follow." in article  # the page's text, not the feed summary
    assert "© Tehran Tech News" not in article  # boilerplate left out by trafilatura
