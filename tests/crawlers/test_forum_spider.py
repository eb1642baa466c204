"""Declarative forum and review-site crawling against the demo web and a second markup."""

from __future__ import annotations

from datetime import timedelta

from core.config import Settings
from core.domain import mention_id
from crawlers.items import PostItem
from crawlers.sources import check_settings
from crawlers.spiders.forum import ForumSpider
from tests.crawlers.conftest import NOW, by_author, crawl, response_for, spider_for, stored


def test_forum_crawl_stores_brand_posts_with_jalali_times_and_skips_the_rest(demo_web, settings, capfd) -> None:
    summary = crawl(settings, demo_web, "demo-forum")
    assert summary.sources[0].finished
    authors = by_author(stored(settings, sources=["demo-forum"]))
    assert set(authors) == {
        "mina_r", "user11", "pixel_fan", "techdad", "sara_a", "ali_t", "newbie42", "local_guide", "bargain_hunter",
    }
    mina = authors["mina_r"][0]
    assert mina.published_at == NOW - timedelta(minutes=50)  # shown as ۱۴۰۵/۰۹/۰۲ ۱۴:۴۰ (Iran time)
    assert "T-881" in mina.text and "همه بازنشر کنید" in mina.text
    assert mina.brands == ["Sepehr Mobile", "Arianet"]  # she names the competitor too
    assert mina.author.profile_url == f"{demo_web.base_url}/forum/user/mina_r"
    assert mina.engagement.likes == 4
    assert mina.title and "همه بازنشر کنید" in mina.title
    reply = authors["user11"][0]  # an angry reply that never names the brand: inherits the thread's
    assert "Sepehr Mobile" in reply.brands and reply.parent_id == mina.id and reply.thread_id == mina.thread_id
    # robots.txt was read and obeyed; the bot said who it is.
    assert "/robots.txt" in demo_web.requests_seen
    assert not [p for p in demo_web.requests_seen if p.startswith("/forum/private/")]
    assert any(ua.startswith("brandguard-bot/") for ua in demo_web.user_agents)
    # The post without a body is logged with its URL; its thread's good posts are stored.
    err = capfd.readouterr().err
    assert f"skipping malformed post #2 at {demo_web.base_url}/forum/thread/106" in err
    assert summary.sources[0].malformed == 1


def test_review_site_is_the_same_spider_with_other_selectors(demo_web, settings) -> None:
    crawl(settings, demo_web, "demo-reviews")
    reviews = {m.author.handle: m for m in stored(settings, sources=["demo-reviews"])}
    assert len(reviews) == 6
    assert {m.platform for m in reviews.values()} == {"review"}
    assert reviews["calm_critic"].rating == 2.0 and reviews["happy_buyer"].rating == 5.0
    assert reviews["reza_k"].published_at.isoformat() == "2024-11-01T20:30:00+00:00"  # ۱۴۰۳/۰۸/۱۲, Iran midnight
    assert reviews["happy_buyer"].published_at == NOW - timedelta(days=2)  # "2 days ago"
    assert reviews["one_star_omid"].id == mention_id("review", f"{demo_web.base_url[7:]}:r6")


XENFORO_LIKE = """<html><body><h1 class="p-title">مشکل گارانتی سپهر موبایل</h1>
<div class="message" id="post-77"><span class="username">neda_88</span>
 <span class="u-dt" title="۳ ساعت پیش">۳ ساعت پیش</span>
 <div class="bbWrapper">گارانتی سپهر موبایل رو قبول نکردن.<br>خیلی ناراحتم.</div><span class="reactions">۱۲</span></div>
<div class="message" id="post-78"><span class="username">omid</span><span class="u-dt">2 hours ago</span>
 <div class="bbWrapper">Did they give a reason?</div><span class="reactions">1.2K</span></div>
<div class="message" id="post-79"><span class="username">ghost</span><span class="u-dt">1 hour ago</span></div>
</body></html>"""


def test_a_new_site_needs_only_selectors(tmp_path) -> None:
    settings = Settings.model_validate({
        "data_dir": str(tmp_path),
        "brands": [{"name": "Sepehr Mobile", "query": '"سپهر موبایل" OR "sepehr mobile"'}],
        "sources": [{"name": "xf", "kind": "forum", "urls": ["http://127.0.0.1:9/forums/"], "options": {
            "listing": {"link": "a.thread::attr(href)"},
            "thread": {"title": "xpath://h1/text()", "post": "div.message", "id": "::attr(id)", "author": ".username::text",
                       "time": ".u-dt::text", "body": ".bbWrapper", "likes": ".reactions::text"},
        }}],
    })
    spider = spider_for(ForumSpider, settings, "xf")
    url = "http://127.0.0.1:9/threads/77/"
    out = list(spider.parse_thread(
        response_for(url, XENFORO_LIKE, source="xf", thread_url=url), page=1, context=None, root_id=None,
    ))
    items = [o for o in out if isinstance(o, PostItem)]
    assert [i.author_handle for i in items] == ["neda_88", "omid"]  # the body-less post is skipped
    assert items[0].published == "۳ ساعت پیش" and items[0].likes == 12 and items[1].likes == 1200
    assert items[0].title == "مشکل گارانتی سپهر موبایل"
    assert items[1].parent_native_id == items[0].native_id == "127.0.0.1:9:post-77"
    assert "سپهر موبایل" in items[1].thread_context  # a reply inherits the thread's brand
    assert spider.crawler.stats.get_value("brandguard/malformed") == 1


def test_config_check_names_missing_selectors(tmp_path) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path), "sources": [
        {"name": "bad-forum", "kind": "forum", "urls": ["http://127.0.0.1:9/"], "options": {"listing": {"link": "a::attr(href)"}}},
        {"name": "odd", "kind": "gopher", "urls": ["gopher://x"]},
    ]})
    problems = check_settings(settings)
    assert "sources[0] (bad-forum).options.thread.post: required selector missing" in problems
    assert "sources[0] (bad-forum).options.thread.body: required selector missing" in problems
    assert any(p.startswith("sources[1] (odd).kind: unknown kind 'gopher'") for p in problems)
