"""Contract: idempotent mention upsert, engagement history, bad records, patches."""

from __future__ import annotations

from datetime import timedelta

from core.domain import Analysis, Mention, RiskScore
from core.store.port import MentionPatch, MentionQuery
from tests.contract.conftest import NOW, make_mention, refresh


def _analysis(sentiment: str = "negative", anger: float = 0.8) -> dict:
    return Analysis(lang="fa", sentiment=sentiment, emotions={"anger": anger, "joy": 0.05}, anger=anger,
                    model="test-1").model_dump(mode="json")


def test_new_mentions_are_created_and_queued_for_analysis(store) -> None:
    a = make_mention("1", "سفارشم از دیجی‌کالا سه هفته است نرسیده و پشتیبانی جواب نمی‌دهد", likes=4)
    b = make_mention("2", "Digikala delivered my phone a day early, great service", platform="mastodon")
    report = store.upsert_mentions([a, b])
    assert (report.created, report.updated, report.unchanged, report.failed) == (2, 0, 0, [])
    stored = store.get_mention(a.id)
    assert stored is not None and stored.text == a.text
    assert [p.likes for p in stored.engagement_history] == [4]  # first history point
    assert store.get_mention(b.id).engagement_history == []  # no counts shown: no point
    refresh(store)
    claimed = store.claim("analyze", "nlp-1", limit=10, lease_seconds=60, now=NOW)
    assert {w.mention_id for w in claimed} == {a.id, b.id}


def test_recrawl_is_idempotent_and_appends_engagement_point(store) -> None:
    first = make_mention("7", "تماس با پشتیبانی دیجی‌کالا بی‌فایده بود", likes=3, shares=1)
    assert store.upsert_mentions([first]).created == 1
    # Same post crawled again with the same counts: nothing changes.
    again = first.model_copy(update={"crawled_at": NOW + timedelta(minutes=30)})
    report = store.upsert_mentions([again])
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    # Counts grew: one mention, one more history point, engagement replaced.
    later = NOW + timedelta(hours=2)
    grown = make_mention("7", first.text, likes=250, shares=40, crawled_at=later)
    report = store.upsert_mentions([grown])
    assert (report.created, report.updated) == (0, 1)
    refresh(store)
    assert store.count_mentions(MentionQuery()) == 1
    stored = store.get_mention(first.id)
    assert stored.engagement.likes == 250
    assert [(p.likes, p.at) for p in stored.engagement_history] == [(3, NOW), (250, later)]


def test_recrawl_keeps_analysis_risk_and_links_and_queues_risk(store) -> None:
    m = make_mention("9", "دیجی‌کالا پول من را پس نمی‌دهد، همه تحریمش کنید", likes=10)
    store.upsert_mentions([m])
    refresh(store)
    items = store.claim("analyze", "nlp-1", 10, 60, now=NOW)
    risk = RiskScore(score=72.5, reasons=["call to boycott"]).model_dump(mode="json")
    report = store.patch_mentions([MentionPatch(id=m.id, analysis=_analysis(), risk=risk, customer_id="C-1001",
                                                campaign_id="camp-1")])
    assert report.updated == 1
    assert store.ack("analyze", "nlp-1", [w.mention_id for w in items]) == 1
    store.upsert_mentions([make_mention("9", m.text, likes=90, crawled_at=NOW + timedelta(hours=1))])
    stored = store.get_mention(m.id)
    assert stored.analysis is not None and stored.analysis.sentiment == "negative"
    assert stored.risk.score == 72.5 and stored.customer_id == "C-1001" and stored.campaign_id == "camp-1"
    assert stored.engagement.likes == 90
    refresh(store)
    assert [w.mention_id for w in store.claim("risk", "risk-1", 10, 60, now=NOW + timedelta(hours=2))] == [m.id]


def test_bad_records_are_reported_and_good_ones_stored(store) -> None:
    good1 = make_mention("g1", "The Digikala app keeps crashing at checkout")
    good2 = make_mention("g2", "اپلیکیشن دیجی‌کالا موقع پرداخت بسته می‌شود")
    bad_dict = {"id": "forum-broken", "platform": "forum", "text": "no author, no dates"}
    report = store.upsert_mentions([good1, "not a mention", bad_dict, good2])
    assert report.created == 2
    assert {f.id for f in report.failed} == {"item #1", "forum-broken"}
    assert all(f.error for f in report.failed)
    assert "Mention" in next(f.error for f in report.failed if f.id == "item #1")
    assert store.get_mentions([good2.id, "forum-unknown", good1.id]) == [
        store.get_mention(good2.id), store.get_mention(good1.id)]


def test_get_mentions_keeps_requested_order(store) -> None:
    ms = [make_mention(str(i), f"Digikala review number {i}", hours_ago=i) for i in range(5)]
    store.upsert_mentions(ms)
    ids = [ms[3].id, ms[0].id, ms[4].id]
    assert [m.id for m in store.get_mentions(ids)] == ids
    assert store.get_mention("forum-nope") is None


def test_patch_sets_fields_and_reports_unknown_ids(store) -> None:
    m = make_mention("p1", "Digikala support solved my refund in one day")
    store.upsert_mentions([m])
    report = store.patch_mentions([
        MentionPatch(id=m.id, lang="en", analysis=_analysis("positive", 0.01), thread_id="t-55"),
        MentionPatch(id="forum-missing", lang="fa"),
    ])
    assert report.updated == 1 and [f.id for f in report.failed] == ["forum-missing"]
    stored = store.get_mention(m.id)
    assert (stored.lang, stored.thread_id, stored.analysis.sentiment) == ("en", "t-55", "positive")
    assert stored.text == m.text  # untouched fields stay
    assert store.patch_mentions([MentionPatch(id=m.id, lang="en")]).unchanged == 1


def test_changed_text_is_searchable_and_old_text_is_not(store) -> None:
    m = make_mention("e1", "first draft mentions tapsi only")
    store.upsert_mentions([m])
    edited = make_mention("e1", "edited: now it is about snappfood", crawled_at=NOW + timedelta(minutes=5))
    assert store.upsert_mentions([edited]).updated == 1
    refresh(store)
    assert store.count_mentions(MentionQuery(text="snappfood")) == 1
    assert store.count_mentions(MentionQuery(text="tapsi")) == 0
    assert isinstance(store.get_mention(m.id), Mention)


def test_same_post_twice_in_one_batch_is_one_mention_with_two_points(store) -> None:
    first = make_mention("dup", "Snapp charged me twice for one ride", likes=2)
    later = make_mention("dup", first.text, likes=30, crawled_at=NOW + timedelta(minutes=20))
    report = store.upsert_mentions([first, later])
    assert report.created == 1 and not report.failed
    refresh(store)
    assert store.count_mentions(MentionQuery(text="snapp")) == 1
    stored = store.get_mention(first.id)
    assert stored.engagement.likes == 30
    assert [(p.likes, p.at) for p in stored.engagement_history] == [(2, NOW), (30, NOW + timedelta(minutes=20))]
