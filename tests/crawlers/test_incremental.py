"""Incremental crawling: no needless re-fetches, re-visits add engagement points, resumable runs."""

from __future__ import annotations

from datetime import timedelta

from crawlers.sources import source_dir
from tests.crawlers.conftest import NOW, by_author, crawl, stored


def _thread_fetches(paths: list[str]) -> list[str]:
    return [p for p in paths if p.startswith("/forum/thread/")]


def test_a_revisit_appends_an_engagement_point_instead_of_a_new_mention(demo_web, settings) -> None:
    crawl(settings, demo_web, "demo-mastodon")
    demo_web.advance()  # 15 simulated minutes: her post is being boosted
    summary = crawl(settings, demo_web, "demo-mastodon")
    minas = by_author(stored(settings, sources=["demo-mastodon"]))["mina_r"]
    assert len(minas) == 1
    history = minas[0].engagement_history
    assert [(p.shares, p.likes) for p in history] == [(5, 8), (40, 60)]
    assert [p.at for p in history] == [NOW, NOW + timedelta(minutes=15)]
    assert summary.sources[0].updated >= 1


def test_a_rerun_skips_unchanged_threads_and_revisits_active_ones(demo_web, settings) -> None:
    source = next(s for s in settings.sources if s.name == "demo-forum")
    source.revisit_window_hours = 2  # threads quiet for longer are not re-visited
    crawl(settings, demo_web, "demo-forum")
    first = len(demo_web.requests_seen)
    again = crawl(settings, demo_web, "demo-forum")  # same time: nothing is due
    assert _thread_fetches(demo_web.requests_seen[first:]) == []
    assert again.sources[0].skipped_unchanged == 8 and again.sources[0].created == 0

    demo_web.advance()
    second = len(demo_web.requests_seen)
    crawl(settings, demo_web, "demo-forum")
    refetched = set(_thread_fetches(demo_web.requests_seen[second:]))
    assert "/forum/thread/101" in refetched  # active, and its reply count changed on the listing
    assert "/forum/thread/104" not in refetched  # 25 hours quiet: outside the revisit window
    mina = by_author(stored(settings, sources=["demo-forum"]))["mina_r"]
    assert len(mina) == 1 and [p.likes for p in mina[0].engagement_history] == [4, 15]


def test_an_interrupted_crawl_resumes_from_its_jobdir_without_duplicates(demo_web, settings) -> None:
    first = crawl(settings, demo_web, "demo-forum", CLOSESPIDER_PAGECOUNT=4, CONCURRENT_REQUESTS_PER_DOMAIN=1)
    assert first.sources[0].finish_reason == "closespider_pagecount"
    jobdir = source_dir(settings, "demo-forum") / "job"
    assert (jobdir / "requests.seen").exists()  # kept for the next run
    fetched_before = set(_thread_fetches(demo_web.requests_seen))
    mark = len(demo_web.requests_seen)

    second = crawl(settings, demo_web, "demo-forum")
    assert second.sources[0].finished and not jobdir.exists()  # a finished crawl clears its JOBDIR
    fetched_after = _thread_fetches(demo_web.requests_seen[mark:])
    assert not fetched_before & set(fetched_after)  # nothing fetched twice
    mentions = stored(settings, sources=["demo-forum"])
    assert len(mentions) == len({m.id for m in mentions}) == 9


def test_a_crawl_stopped_by_its_timeout_resumes_without_refetching(demo_web, settings) -> None:
    from crawlers.runner import run_sources

    # One request at a time, so the engine holds no backlog that a graceful stop would drain.
    slow = {"DOWNLOAD_DELAY": 1.5, "CONCURRENT_REQUESTS": 1, "CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY_JITTER": 0}
    first = run_sources(settings, ["demo-forum"], now=demo_web.now, extra_scrapy_settings=slow, timeout=9)
    assert first.sources[0].finish_reason == "shutdown"  # SIGINT: Scrapy stopped gracefully, JOBDIR kept
    fetched_before = _thread_fetches(demo_web.requests_seen)
    assert 0 < len(fetched_before) < 8
    mark = len(demo_web.requests_seen)
    second = crawl(settings, demo_web, "demo-forum")
    assert second.sources[0].finished
    fetched_after = _thread_fetches(demo_web.requests_seen[mark:])
    assert not set(fetched_before) & set(fetched_after)
    assert set(fetched_before) | set(fetched_after) >= {f"/forum/thread/{i}" for i in (101, 102, 104, 105, 106, 108)}
    mentions = stored(settings, sources=["demo-forum"])
    assert len(mentions) == len({m.id for m in mentions}) == 9, demo_web.requests_seen


def test_a_store_failure_stops_the_crawl_loudly_and_the_next_run_loses_nothing(demo_web, settings, capfd) -> None:
    pipelines = {
        "crawlers.pipelines.clean.CleanTextPipeline": 100, "crawlers.pipelines.timeparse.ParseTimePipeline": 200,
        "crawlers.pipelines.brands.BrandMatchPipeline": 300, "crawlers.pipelines.mention.BuildMentionPipeline": 400,
        "tests.crawlers.failing_store.FailingStorePipeline": 500,
    }
    names = ["demo-forum", "demo-news", "demo-telegram-chat"]
    first = {s.name: s for s in run_sources_with(settings, demo_web, names, ITEM_PIPELINES=pipelines, STORE_BATCH_SIZE=2).sources}
    assert first["demo-forum"].finish_reason == "store_error" and first["demo-forum"].errors >= 1
    assert first["demo-news"].finish_reason == "store_error"  # its last write (at close) failed
    assert first["demo-telegram-chat"].finished and first["demo-telegram-chat"].errors == 0  # counted per source
    assert "writing 2 mention(s) to the store failed: database is locked (simulated)" in capfd.readouterr().err
    second = {s.name: s for s in crawl(settings, demo_web, *names).sources}
    assert all(s.finished for s in second.values())
    # Nothing was skipped as "already seen": the failed run's visits were forgotten.
    assert len(stored(settings, sources=["demo-forum"])) == 9
    assert len(stored(settings, sources=["demo-news"])) == 3


def run_sources_with(settings, web, names, **extra):  # noqa: ANN001, ANN201 - test helper
    from crawlers.runner import run_sources

    return run_sources(settings, names, now=web.now, extra_scrapy_settings=extra, timeout=120)


def test_two_processes_crawling_one_source_at_once_share_nothing_and_lose_nothing(demo_web, settings, capfd) -> None:
    import threading

    from crawlers.runner import run_sources

    slow = {"DOWNLOAD_DELAY": 0.5, "CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY_JITTER": 0}
    summaries: list = []

    def crawl_in_a_process() -> None:  # each run_sources call is its own crawl process, as two `brandguard run`s are
        summaries.append(run_sources(settings, ["demo-forum"], now=demo_web.now, extra_scrapy_settings=slow, timeout=120))

    threads = [threading.Thread(target=crawl_in_a_process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    outcomes = sorted(s.sources[0].finish_reason for s in summaries)
    assert outcomes in (["busy: another process is crawling this source", "finished"], ["finished", "finished"])
    assert all(s.ok for s in summaries)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "FileNotFoundError" not in err and "Exception in callback" not in err
    mentions = stored(settings, sources=["demo-forum"])
    assert len(mentions) == len({m.id for m in mentions}) == 9
    assert not (source_dir(settings, "demo-forum") / "job").exists()  # the finished crawl cleared its own state
    again = crawl(settings, demo_web, "demo-forum")  # the lock went with its process
    assert again.sources[0].finished


def test_a_source_locked_by_a_live_process_is_skipped_as_busy_not_failed(demo_web, settings) -> None:
    from crawlers.crawl import lease_source

    [forum] = [s for s in settings.sources if s.name == "demo-forum"]
    held = lease_source(settings, forum)  # another process is crawling it right now
    try:
        summary = crawl(settings, demo_web, "demo-forum", "demo-news")
    finally:
        import os

        os.close(held)
    by_name = {s.name: s for s in summary.sources}
    assert by_name["demo-forum"].busy and not by_name["demo-forum"].finished
    assert by_name["demo-news"].finished and summary.ok
    assert stored(settings, sources=["demo-forum"]) == []
