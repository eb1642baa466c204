"""Threads and virality: a thread whose shares explode rises past a flat one; replies and URLs group into threads."""

from __future__ import annotations

from datetime import timedelta

from core.config import Settings
from core.domain import Engagement, EngagementPoint, Mention
from risk.threads import url_thread_key
from risk.virality import ViralitySignals, mention_virality, virality_component
from risk.worker import RiskWorker
from tests.risk.conftest import ANGRY_EN, MINA_FA, NOW, angry_analysis, drain, growth, make_mention, seed

CUES = [("Share this everywhere", "call_to_action")]


def test_rates_per_hour_and_acceleration_from_engagement_history():
    post = make_mention("1", ANGRY_EN, analysis=angry_analysis(ANGRY_EN, "en"),
                        published=NOW - timedelta(minutes=10), history=growth([5, 40, 180, 500], NOW))
    signals = mention_virality(post, NOW + timedelta(minutes=45))
    assert signals.shares_per_hour == 1280  # (500 - 180) shares in the last 15 minutes
    assert signals.likes_per_hour == 2560
    assert signals.acceleration > 0
    flat = make_mention("2", ANGRY_EN, published=NOW - timedelta(minutes=10), history=growth([5, 5, 5, 5], NOW))
    assert mention_virality(flat, NOW + timedelta(minutes=45)).shares_per_hour == 0
    # One crawl an hour after publication already tells a rate (counts start at zero).
    once = make_mention("3", ANGRY_EN, published=NOW - timedelta(hours=1), history=growth([120], NOW))
    assert mention_virality(once, NOW).shares_per_hour == 120
    # ``now`` hides observations from the future (a replay sees what was known then).
    assert mention_virality(post, NOW + timedelta(minutes=15)).shares_per_hour == 140


def test_virality_component_grows_with_velocity_reach_spread_and_campaigns():
    quiet = virality_component(ViralitySignals())
    assert quiet == 0
    fast = virality_component(ViralitySignals(shares_per_hour=420))
    assert 0.8 < fast < 1
    assert virality_component(ViralitySignals(shares_per_hour=5)) < fast
    assert virality_component(ViralitySignals(campaign_authors=20)) > 0.6
    assert virality_component(ViralitySignals(reach=50_000)) > virality_component(ViralitySignals(reach=100))


def _recrawl(store, post: Mention, shares: int, at) -> None:
    update = post.model_copy(update={"engagement": Engagement(shares=shares, likes=2 * shares, replies=shares // 10),
                                     "engagement_history": [], "crawled_at": at, "analysis": None})
    assert store.upsert_mentions([update]).ok  # the store appends a history point and queues ``risk``


def test_thread_whose_shares_grow_5_to_500_in_an_hour_rises_past_a_flat_one(store, settings: Settings, clock):
    analysis = angry_analysis(ANGRY_EN, "en", cues=CUES)
    first = [EngagementPoint(at=NOW, shares=5, likes=10, replies=0)]
    viral = make_mention("v1", ANGRY_EN, handle="mina_r", analysis=analysis, thread_id="mastodon:demo:v1",
                         published=NOW - timedelta(minutes=30), history=first)
    flat = make_mention("f1", ANGRY_EN, handle="someone_else", analysis=analysis, thread_id="mastodon:demo:f1",
                        published=NOW - timedelta(minutes=30), history=first)
    seed(store, [viral, flat])
    worker = RiskWorker(settings, store, clock, "w1")
    drain(worker)
    start_viral, start_flat = store.get_thread("mastodon:demo:v1").risk, store.get_thread("mastodon:demo:f1").risk
    assert abs(start_viral.score - start_flat.score) < 1
    for shares in (40, 180, 500):
        at = clock.advance(timedelta(minutes=20))
        _recrawl(store, viral, shares, at)
        _recrawl(store, flat, 5, at)
        drain(worker)
    end_viral, end_flat = store.get_thread("mastodon:demo:v1").risk, store.get_thread("mastodon:demo:f1").risk
    assert end_viral.score > end_flat.score + 10
    assert end_viral.score > start_viral.score + 10
    assert end_flat.score <= start_flat.score
    assert "shares +960/h" in end_viral.reasons and "accelerating" in end_viral.reasons
    # The mention's own score rose too, and its history holds every re-crawl.
    stored = store.get_mention(viral.id)
    assert [p.shares for p in stored.engagement_history] == [5, 40, 180, 500]
    assert stored.risk.components["virality"] > 0.9


def test_replies_join_their_parents_thread_and_same_url_posts_share_one(store, settings: Settings, clock):
    root = make_mention("100", MINA_FA, platform="forum", handle="mina_r", analysis=angry_analysis(MINA_FA, "fa"),
                        url="https://forum.example/t/42", thread_id="forum:https://forum.example/t/42")
    reply = make_mention("101", "منم همین مشکل رو با سپهر موبایل داشتم، افتضاحه", platform="forum", handle="hamed_j",
                         analysis=angry_analysis("x", "fa", reasons=[]), parent_id=root.id,
                         url="https://forum.example/t/42#post-101", published=NOW + timedelta(minutes=5))
    reply_to_reply = make_mention("102", "واقعا؟ من ازشون راضی بودم", platform="forum", handle="omid_sh",
                                  parent_id=reply.id, url="", published=NOW + timedelta(minutes=9))
    article_a = make_mention("a1", "Sepehr Mobile opens a new store", platform="rss", handle=None,
                             url="https://news.example/sepehr-store?utm_source=feed", source="news-a")
    article_b = make_mention("a2", "Sepehr Mobile opens a new store in Shiraz", platform="rss", handle=None,
                             url="https://news.example/sepehr-store#comments", source="news-b")
    seed(store, [root, reply, reply_to_reply, article_a, article_b])
    drain(RiskWorker(settings, store, clock, "w1"))
    thread = store.get_thread("forum:https://forum.example/t/42")
    assert thread.mention_ids == [root.id, reply.id, reply_to_reply.id]
    assert thread.authors == ["forum:mina_r", "forum:hamed_j", "forum:omid_sh"]
    assert store.get_mention(reply_to_reply.id).thread_id == thread.id
    news = store.get_thread(url_thread_key("https://news.example/sepehr-store"))
    assert sorted(news.mention_ids) == sorted([article_a.id, article_b.id])
    assert news.risk.score < 30  # neutral news is no risk
