"""Contract: the overview statistics (volume per brand over time, platform/language/source
mix, top negative threads, loudest authors) give the same numbers on every adapter, for
Persian and English brands, with exact range edges and after re-crawls and analysis."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from core.domain import Analysis, Author, Engagement, Mention, RiskScore, mention_id
from core.store.port import MentionPatch
from core.store.stats_port import StatsFilter
from tests.contract.conftest import NOW, refresh

SEPEHR = "سپهر موبایل"  # a Persian brand name
ACME = "Acme"
RIVAL = "Arianet"  # a competitor


def mention(native: str, text: str, at: datetime, *, brands: tuple[str, ...] = (SEPEHR,), platform: str = "forum",
            source: str = "digikala-forum", lang: str | None = "fa", sentiment: str | None = "negative",
            handle: str = "mina_r", followers: int | None = None, thread: str | None = None,
            risk: float | None = None) -> Mention:
    analysis = Analysis(lang=lang or "en", sentiment=sentiment) if sentiment else None
    return Mention(
        id=mention_id(platform, native), platform=platform, source=source, native_id=native, text=text, lang=lang,
        author=Author(platform=platform, handle=handle, followers=followers), published_at=at, crawled_at=at,
        engagement=Engagement(shares=1), brands=list(brands), analysis=analysis, thread_id=thread,
        risk=RiskScore(score=risk) if risk is not None else None,
    )


# Three days and a bit before NOW, not aligned to hours: every part of the SQLite summary is used.
SINCE = NOW - timedelta(days=3, hours=5, minutes=17)
UNTIL = NOW - timedelta(minutes=13)

COMPLAINT_FA = "گوشیم رو برای بار دوم دادم تعمیر سپهر موبایل و باز خراب برگردوندن"
PRAISE_FA = "خرید از سپهر موبایل خیلی راحت بود، گوشی یک روزه رسید"
COMPLAINT_EN = "Acme froze my account again, terrible support #acmefail"
PRAISE_EN = "Acme support fixed it in ten minutes, thanks"
SWITCH_FA = "از سپهر موبایل ناامید شدم، دارم میرم سراغ آریانت"


def corpus() -> list[Mention]:
    """Mentions inside the range (edges included), and a few just outside it."""
    return [
        mention("in-edge", COMPLAINT_FA, SINCE, thread="forum:t1", followers=900, risk=70),  # exactly at since
        mention("fa-2", COMPLAINT_FA, SINCE + timedelta(minutes=20), thread="forum:t1", handle="ali", followers=120),
        mention("fa-3", PRAISE_FA, NOW - timedelta(days=2, hours=3), sentiment="positive", handle="happy",
                followers=120, thread="forum:t2"),
        mention("fa-4", SWITCH_FA, NOW - timedelta(days=1, minutes=5), brands=(SEPEHR, RIVAL), thread="forum:t3",
                handle="sara", followers=5000, risk=40),
        mention("tg-1", SWITCH_FA, NOW - timedelta(hours=30), brands=(SEPEHR, RIVAL), platform="telegram",
                source="tg-sepehr", handle="channel_x", followers=25000, thread="telegram:c1", risk=90),
        mention("ms-1", COMPLAINT_EN, NOW - timedelta(hours=20), brands=(ACME,), platform="mastodon", source="mastodon",
                lang="en", handle="bob", followers=5000, thread="mastodon:9", risk=55),
        mention("ms-2", COMPLAINT_EN, NOW - timedelta(hours=2), brands=(ACME,), platform="mastodon", source="mastodon",
                lang="en", handle="bob", followers=5000, thread="mastodon:9"),
        mention("ms-3", PRAISE_EN, NOW - timedelta(minutes=40), brands=(ACME,), platform="mastodon", source="mastodon",
                lang="en", sentiment="positive", handle="carol", thread="mastodon:10"),
        mention("new-1", COMPLAINT_FA, NOW - timedelta(minutes=20), lang=None, sentiment=None, handle="nobody"),
        mention("out-before", COMPLAINT_FA, SINCE - timedelta(milliseconds=1), thread="forum:t1", followers=99999),
        mention("out-after", COMPLAINT_EN, UNTIL, brands=(ACME,), platform="mastodon", source="mastodon", lang="en",
                handle="late", followers=99999, thread="mastodon:11"),
    ]


@pytest.fixture
def loaded(store: Any) -> Any:
    report = store.upsert_mentions(corpus())
    assert report.ok and report.created == 11, report
    refresh(store)
    return store


def flt(**kw: Any) -> StatsFilter:
    return StatsFilter(since=kw.pop("since", SINCE), until=kw.pop("until", UNTIL), **kw)


def test_volume_overall_and_per_brand_per_day(loaded: Any) -> None:
    stats = loaded.mention_volume(flt(), "day")
    assert stats.interval == "day"
    starts = [b.start for b in stats.overall.buckets]
    assert starts[0] == SINCE.replace(hour=0, minute=0, second=0, microsecond=0) and len(starts) == 4
    assert all(b - a == timedelta(days=1) for a, b in zip(starts, starts[1:]))
    # A mention of two brands counts once overall and once for each brand.
    assert (stats.overall.count, stats.overall.negative) == (9, 6)
    per_brand = {s.brand: (s.count, s.negative) for s in stats.brands}
    assert per_brand == {SEPEHR: (6, 4), ACME: (3, 2), RIVAL: (2, 2)}
    assert [s.brand for s in stats.brands] == [SEPEHR, ACME, RIVAL]  # largest first
    assert sum(b.count for b in stats.overall.buckets) == 9
    last = stats.overall.buckets[-1]
    assert (last.count, last.negative) == (3, 1)  # ms-2, ms-3 and new-1 (not analysed yet: not negative)


def test_volume_per_hour_is_exact_at_the_edges(loaded: Any) -> None:
    stats = loaded.mention_volume(flt(since=NOW - timedelta(hours=2, minutes=30), until=NOW), "hour")
    counts = {b.start: (b.count, b.negative) for b in stats.overall.buckets if b.count}
    # 11:00-12:00: ms-3, new-1 and the negative post at 11:47 (inside this range)
    assert counts == {NOW - timedelta(hours=2): (1, 1), NOW - timedelta(hours=1): (3, 1)}
    assert len(stats.overall.buckets) == 3  # 09:00 (starts 09:30), 10:00, 11:00


def test_brand_filter_narrows_overall_and_series(loaded: Any) -> None:
    stats = loaded.mention_volume(flt(brands=[RIVAL]), "day")
    assert (stats.overall.count, stats.overall.negative) == (2, 2)
    assert [(s.brand, s.count) for s in stats.brands] == [(RIVAL, 2)]  # only the brands asked for
    persian = loaded.mention_volume(flt(brands=[SEPEHR], platforms=["telegram"]), "week")
    assert (persian.overall.count, [s.brand for s in persian.brands]) == (1, [SEPEHR])
    assert loaded.mention_volume(flt(brands=["unknown brand"]), "day").overall.count == 0


def test_mix_by_platform_language_and_source(loaded: Any) -> None:
    mix = loaded.mention_mix(flt())
    assert (mix.count, mix.negative) == (9, 6)
    assert [(b.value, b.count, b.negative) for b in mix.platforms] == [("forum", 5, 3), ("mastodon", 3, 2),
                                                                       ("telegram", 1, 1)]
    assert [(b.value, b.count) for b in mix.langs] == [("fa", 5), ("en", 3)]  # unknown language left out
    assert [b.value for b in mix.sources] == ["digikala-forum", "mastodon", "tg-sepehr"]
    english = loaded.mention_mix(flt(langs=["en"]))
    assert (english.count, english.negative, [b.value for b in english.platforms]) == (3, 2, ["mastodon"])


def test_counts_follow_analysis_patches_and_recrawls(loaded: Any) -> None:
    new_id = mention_id("forum", "new-1")
    assert loaded.patch_mentions([MentionPatch(id=new_id, lang="fa", analysis=Analysis(
        lang="fa", sentiment="negative").model_dump(mode="json"))]).ok
    # A re-crawl that corrects the publication time moves the mention to another day.
    moved = mention("fa-3", PRAISE_FA, NOW - timedelta(hours=1), sentiment="positive", handle="happy", followers=120,
                    thread="forum:t2")
    assert loaded.upsert_mentions([moved]).ok
    refresh(loaded)
    stats = loaded.mention_volume(flt(), "day")
    assert (stats.overall.count, stats.overall.negative) == (9, 7)
    last = stats.overall.buckets[-1]
    assert (last.count, last.negative) == (4, 2)
    assert [(b.value, b.count) for b in loaded.mention_mix(flt()).langs] == [("fa", 6), ("en", 3)]


def test_top_negative_threads(loaded: Any) -> None:
    threads = loaded.negative_thread_counts(flt(), 10)
    assert [(t.thread_id, t.negative, t.max_risk) for t in threads] == [
        ("forum:t1", 2, 70.0), ("mastodon:9", 2, 55.0), ("telegram:c1", 1, 90.0), ("forum:t3", 1, 40.0),
    ]
    assert threads[0].last_at == SINCE + timedelta(minutes=20)
    assert [t.thread_id for t in loaded.negative_thread_counts(flt(brands=[ACME]), 1)] == ["mastodon:9"]


def test_loudest_authors_by_reach(loaded: Any) -> None:
    authors = loaded.author_reach(flt(), 10)
    assert [(a.author_key, a.reach, a.mentions, a.negative) for a in authors] == [
        ("telegram:channel_x", 25000, 1, 1), ("mastodon:bob", 5000, 2, 2), ("forum:sara", 5000, 1, 1),
        ("forum:mina_r", 900, 1, 1), ("forum:ali", 120, 1, 1), ("forum:happy", 120, 1, 0),
    ]  # carol and nobody show no follower count; the 99999 authors are outside the range
    assert authors[1].last_at == NOW - timedelta(hours=2)
    assert [a.author_key for a in loaded.author_reach(flt(langs=["fa"]), 2)] == ["telegram:channel_x", "forum:sara"]


def test_sqlite_walks_the_followers_index_with_the_same_result(sqlite_store: Any, monkeypatch: Any) -> None:
    import core.store.sqlite.stats as sqlite_stats

    assert sqlite_store.upsert_mentions(corpus()).ok
    scanned = sqlite_store.author_reach(flt(), 3)
    monkeypatch.setattr(sqlite_stats, "AUTHOR_SCAN_MAX", 0)
    assert sqlite_store.author_reach(flt(), 3) == scanned
    assert [a.author_key for a in scanned] == ["telegram:channel_x", "mastodon:bob", "forum:sara"]
    assert sqlite_store.author_reach(flt(platforms=["nowhere"]), 3) == []


def test_sqlite_summary_is_rebuilt_by_the_migration(tmp_path: Any) -> None:
    from core.store.sqlite import SqliteStore
    from core.store.sqlite.schema import MIGRATIONS

    store = SqliteStore(tmp_path / "m.db")
    assert store.upsert_mentions(corpus()).ok
    expected = store.mention_volume(flt(), "day")
    with store._write() as conn:  # an old file: counts missing, then migration 2 runs again
        conn.execute("DELETE FROM mention_counts")
        conn.execute("DELETE FROM schema_version WHERE version >= 2")
        conn.execute("DROP INDEX mentions_negative")
        for name in ("mention_stats_insert", "mention_stats_delete", "mention_stats_update"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP INDEX mentions_followers")
        conn.execute("ALTER TABLE mentions DROP COLUMN followers")
        conn.execute("DROP TABLE mention_counts")
        conn.execute("DROP TABLE mention_sets")
        conn.execute("DROP TABLE brand_set_members")
        conn.execute("DROP TABLE brand_sets")
    store.close()
    reopened = SqliteStore(tmp_path / "m.db")
    assert reopened.schema_version() == MIGRATIONS[-1][0] == 2
    assert reopened.mention_volume(flt(), "day") == expected
    reopened.close()


def test_bad_filters_are_refused() -> None:
    with pytest.raises(ValueError, match="since must be before until"):
        StatsFilter(since=NOW, until=NOW)
    with pytest.raises(ValueError):
        StatsFilter(since=NOW, until=NOW + timedelta(hours=1), brands=[f"b{i}" for i in range(21)])


def test_emerging_terms_and_thread_velocity_on_every_adapter(store: Any) -> None:
    from core.domain import EngagementPoint
    from core.stats.emerging import EmergingThresholds, count_at_most, find_emerging_terms
    from core.stats.overview import top_threads
    from core.store.port import MentionQuery

    tag = "#سپهر_جواب_بده"
    angry = [mention(f"surge-{i}", f"{COMPLAINT_FA} {tag}", NOW - timedelta(minutes=10 * i + 5), handle=f"user_{i}",
                     thread=f"forum:s{i}") for i in range(4)]
    calm = mention("calm", f"{PRAISE_FA} {tag}", NOW - timedelta(minutes=50), sentiment="positive", handle="calm")
    old = [mention(f"old-{i}", f"{COMPLAINT_EN} #acmefail", NOW - timedelta(days=2, hours=i), brands=(ACME,),
                   platform="mastodon", source="mastodon", lang="en", handle=f"old_{i}") for i in range(3)]
    fresh = [mention(f"acme-{i}", f"{COMPLAINT_EN} #acmefail", NOW - timedelta(minutes=5 + i), brands=(ACME,),
                     platform="mastodon", source="mastodon", lang="en", handle=f"acme_{i}") for i in range(3)]
    viral = mention("viral", COMPLAINT_EN, NOW - timedelta(hours=3), brands=(ACME,), platform="mastodon",
                    source="mastodon", lang="en", handle="loud", thread="mastodon:viral").model_copy(update={
                        "engagement_history": [EngagementPoint(at=NOW - timedelta(minutes=60), shares=10),
                                               EngagementPoint(at=NOW - timedelta(minutes=30), shares=110)]})
    assert store.upsert_mentions([*angry, calm, *old, *fresh, viral]).ok
    refresh(store)
    window = (NOW - timedelta(hours=1), NOW)
    found = find_emerging_terms(store, MentionQuery(), *window, NOW - timedelta(days=7),
                                EmergingThresholds(min_authors=3))
    # #acmefail is not new (used two days and three hours ago); the Persian tag is, 4 of 5 uses negative.
    assert [(t.label, t.authors, t.negative, t.total, t.baseline) for t in found] == [(tag, 4, 4, 5, 0)]
    assert find_emerging_terms(store, MentionQuery(), *window, NOW - timedelta(days=7),
                               EmergingThresholds(min_authors=3, min_negative_share=0.9)) == []
    assert find_emerging_terms(store, MentionQuery(brands=[ACME]), *window, NOW - timedelta(days=7),
                               EmergingThresholds(min_authors=3, max_baseline=4))[0].label == "#acmefail"
    assert count_at_most(store, MentionQuery(text=tag), 2) == 3  # stops counting past the cap
    threads = top_threads(store, StatsFilter(since=NOW - timedelta(hours=24), until=NOW, brands=[ACME]), 10)
    by_id = {t.thread_id: t for t in threads}
    assert by_id["mastodon:viral"].shares_per_hour == pytest.approx(200.0)  # +100 shares in 30 minutes


def test_a_truncated_scan_judges_the_share_over_the_part_it_read(store: Any) -> None:
    from core.stats.emerging import EmergingThresholds, find_emerging_terms
    from core.store.port import MentionQuery

    tag = "#قطعی_سپهر"
    calm = [mention(f"calm-{i}", f"{PRAISE_FA} {tag}", NOW - timedelta(hours=20, minutes=i), sentiment="positive",
                    handle=f"calm_{i}") for i in range(10)]
    angry = [mention(f"angry-{i}", f"{COMPLAINT_FA} {tag}", NOW - timedelta(minutes=5 * i + 1), handle=f"angry_{i}")
             for i in range(12)]
    assert store.upsert_mentions([*calm, *angry]).ok
    refresh(store)
    window = (NOW - timedelta(hours=24), NOW, NOW - timedelta(days=7))
    # Over the whole day 12 of 22 uses are negative (below 60 %): not emerging when every negative post is read...
    assert find_emerging_terms(store, MentionQuery(), *window, EmergingThresholds(min_authors=3)) == []
    # ...but a scan of the newest 10 negatives covers the last 46 minutes, where all 10 uses are negative.
    found = find_emerging_terms(store, MentionQuery(), *window, EmergingThresholds(min_authors=3, scan_limit=10))
    assert [(t.label, t.negative, t.total) for t in found] == [(tag, 10, 10)]
