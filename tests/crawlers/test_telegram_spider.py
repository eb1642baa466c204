"""Telegram channel previews (t.me/s/<channel>): text, time, views, paging with ?before=."""

from __future__ import annotations

from core.config import Settings
from crawlers.items import PostItem
from crawlers.spiders.telegram import TelegramSpider
from tests.crawlers.conftest import by_author, crawl, response_for, spider_for, stored


def test_own_channel_keeps_every_message_and_pages_back(demo_web, settings) -> None:
    summary = crawl(settings, demo_web, "demo-telegram-own")
    messages = {m.native_id: m for m in stored(settings, sources=["demo-telegram-own"])}
    assert len(messages) == 7  # two pages: the preview shows 5, ?before= the rest
    assert any("?before=37" in p for p in demo_web.requests_seen)
    sale = messages["sepehrmobile/40"]
    assert sale.text == "Weekend sale: 10% off all accessories." and sale.brand_owned
    assert sale.brands == ["Sepehr Mobile"]  # no brand word, but the brand's own channel
    assert sale.engagement.views == 8100  # "8.1K"
    assert summary.sources[0].finished


def test_public_channel_stores_only_brand_messages(demo_web, settings) -> None:
    demo_web.advance(3)
    crawl(settings, demo_web, "demo-telegram-chat")
    messages = {m.native_id: m for m in stored(settings, sources=["demo-telegram-chat"])}
    assert set(messages) == {"mobile_chat_ir/520", "mobile_chat_ir/522", "mobile_chat_ir/523", "mobile_chat_ir/524"}
    assert messages["mobile_chat_ir/522"].author.bio == "forwarded from https://t.me/amir_h"
    assert messages["mobile_chat_ir/520"].brands == ["Arianet"]


PREVIEW = """<html><body><section class="tgme_channel_history js-message_history">
<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="shop_news/12">
 <div class="tgme_widget_message_text js-message_text" dir="auto">تخفیف <b>سپهر موبایل</b><br/>فقط امروز</div>
 <div class="tgme_widget_message_footer"><span class="tgme_widget_message_views">۱۲.۵K</span>
 <a class="tgme_widget_message_replies" href="https://t.me/shop_news/12?comment=1"><span class="tgme_widget_message_replies_count">34 comments</span></a>
 <span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/shop_news/12"><time datetime="2024-11-02T10:00:00+00:00" class="time">10:00</time></a></span></div></div></div>
<div class="tgme_widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="shop_news/13">
 <div class="tgme_widget_message_text js-message_text">no time element</div></div></div>
</section></body></html>"""


def test_preview_markup_details(tmp_path) -> None:
    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile", "query": '"سپهر موبایل"'}],
        "sources": [{"name": "tg", "kind": "telegram", "urls": ["https://t.me/s/shop_news"]}],
    })
    spider = spider_for(TelegramSpider, settings, "tg")
    out = list(spider.parse_channel(response_for("https://t.me/s/shop_news", PREVIEW, source="tg", page=1)))
    items = [o for o in out if isinstance(o, PostItem)]
    assert len(items) == 1
    item = items[0]
    assert (item.native_id, item.views, item.replies) == ("shop_news/12", 12500, 34)
    assert item.url == "https://t.me/shop_news/12" and item.published == "2024-11-02T10:00:00+00:00"
    assert spider.crawler.stats.get_value("brandguard/malformed") == 1  # the message without a time
