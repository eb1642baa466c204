"""A crawl in flight when the process stops (SIGTERM from ``docker stop``, Ctrl-C, the pipeline
stopping) is asked to stop gracefully: Scrapy closes, the JOBDIR keeps the rest, and the next
start resumes it at once instead of the stop waiting for the whole crawl."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from pathlib import Path

import yaml

from core.clock import SimulatedClock
from crawlers.crawl import CrawlSummary, crawl_here
from crawlers.runner import CrawlScheduler, run_sources
from crawlers.sources import source_dir
from tests.crawlers.conftest import stored
from tests.processes import brandguard_process, sigterm_and_wait

# One request at a time, 1.5 s apart: the forum's 10 pages take ~15 s, so a stop lands mid-crawl.
SLOW = {"DOWNLOAD_DELAY": 1.5, "CONCURRENT_REQUESTS": 1, "CONCURRENT_REQUESTS_PER_DOMAIN": 1, "DOWNLOAD_DELAY_JITTER": 0}


def _stop_mid_crawl(demo_web, stop: threading.Event) -> threading.Thread:
    """Set ``stop`` 2 s after the crawl's first request (start-up time differs from machine to machine)."""
    def watch() -> None:
        deadline = time.monotonic() + 60
        while not demo_web.requests_seen and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        stop.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def _forum_only(settings):
    return settings.model_copy(update={"sources": [s for s in settings.sources if s.name == "demo-forum"]})


def test_a_stop_mid_crawl_ends_it_resumably_and_the_schedule_resumes_it_at_once(demo_web, settings) -> None:
    stop = threading.Event()
    scheduler = CrawlScheduler(_forum_only(settings), SimulatedClock(demo_web.now), extra_scrapy_settings=SLOW, stop=stop)
    _stop_mid_crawl(demo_web, stop)
    assert scheduler.run_due() == 1
    entry = scheduler.last_summary.sources[0]
    assert entry.finish_reason == "shutdown", entry  # the stop flag: Scrapy closed the spider
    assert 0 < entry.pages < 10  # stopped mid-crawl, not waited out
    assert (source_dir(settings, "demo-forum") / "job").exists()  # the rest is kept
    # not recorded as a run: the next start (same schedule file, same time) crawls it again at once
    again = CrawlScheduler(scheduler.settings, SimulatedClock(demo_web.now), extra_scrapy_settings=SLOW)
    assert [s.name for s in again.due_sources()] == ["demo-forum"]
    partial = len(stored(settings, sources=["demo-forum"]))
    assert again.run_due() == 1 and again.last_summary.sources[0].finished
    assert len(stored(settings, sources=["demo-forum"])) >= partial
    assert again.due_sources() == []  # a finished crawl is a run


def test_a_stop_while_the_crawl_starts_is_a_shutdown_not_a_failure(demo_web, settings, caplog) -> None:
    stop = threading.Event()
    stop.set()  # already stopping while the child starts (a SIGINT sent then could be lost: it crawled to the end)
    scheduler = CrawlScheduler(_forum_only(settings), SimulatedClock(demo_web.now), extra_scrapy_settings=SLOW, stop=stop)
    with caplog.at_level(logging.WARNING, logger="crawlers.runner"):
        assert scheduler.run_due() == 1  # no CrawlError
    assert [(e.finish_reason, e.pages) for e in scheduler.last_summary.sources] == [("shutdown", 0)]
    assert "stopped before it reported" not in caplog.text  # the child said so itself: it saw the stop, was not killed
    assert [s.name for s in scheduler.due_sources()] == ["demo-forum"]  # still due at the next start


class StopAfterTheFirstLook:
    """A stop flag that is clear when the crawl starts and set from then on: the stop lands while
    Scrapy is still starting its engines (where a crawler asked to stop is marked stopped and then
    crawls to the end anyway)."""

    def __init__(self) -> None:
        self.looks = 0

    def __call__(self) -> bool:
        self.looks += 1
        return self.looks > 1


def _crawl_forum_stopped_at_start(results, settings, now) -> None:
    forum = [s for s in settings.sources if s.name == "demo-forum"]
    results.put(crawl_here(settings, forum, now=now, extra=SLOW, stop_requested=StopAfterTheFirstLook()).to_dict())


def test_a_stop_while_scrapy_starts_its_engines_still_stops_the_crawl(demo_web, settings) -> None:
    ctx = multiprocessing.get_context("spawn")  # a fresh reactor, as run_sources gives every crawl
    results = ctx.Queue()
    child = ctx.Process(target=_crawl_forum_stopped_at_start, args=(results, settings, demo_web.now))
    child.start()
    try:
        summary = CrawlSummary.from_dict(results.get(timeout=120))
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    [entry] = summary.sources
    assert entry.finish_reason == "shutdown", entry
    assert entry.pages < 3, entry  # the forum has 10 pages, 1.5 s apart: stopped at once, not crawled through
    assert (source_dir(settings, "demo-forum") / "job").exists()  # resumable


def test_without_a_stop_the_crawl_is_left_to_finish(demo_web, settings) -> None:
    stop = threading.Event()  # never set: the 0.5 s polling must not change what a crawl does
    summary = run_sources(settings, ["demo-reviews"], now=demo_web.now, stop=stop, timeout=120)
    assert summary.sources[0].finished and summary.sources[0].created > 0


def test_crawl_command_following_schedules_stops_on_sigterm(demo_web, settings, tmp_path: Path) -> None:
    config = settings.model_dump(mode="json", exclude_none=True)
    forum = next(s for s in config["sources"] if s["name"] == "demo-forum")
    forum["options"]["scrapy"] = {**forum["options"]["scrapy"], **SLOW}
    path = tmp_path / "brandguard.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with brandguard_process("crawl", "-c", str(path), "--source", "demo-forum", cwd=tmp_path) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not demo_web.requests_seen:
            time.sleep(0.2)
        assert demo_web.requests_seen, "the crawl never started"
        time.sleep(2)  # mid-crawl
        output = sigterm_and_wait(proc, timeout=45)
    assert "stopped" in output and "Traceback" not in output
    assert (source_dir(settings, "demo-forum") / "job").exists()
