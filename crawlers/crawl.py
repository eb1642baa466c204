"""Run a crawl of some sources in this process (one Scrapy crawler per source).

Only a child process should call :func:`crawl_here`: Twisted's reactor cannot be
restarted, so ``crawlers.runner`` starts a fresh process for every crawl.

A source's crawl state (its JOBDIR) belongs to one process at a time: the crawl takes an
exclusive ``flock`` on ``<data_dir>/crawl/<source>/lock`` and a second process running the same
source at that moment skips it ("busy"). The kernel drops the lock when its process dies, so a
killed crawl's JOBDIR is resumed by whichever process runs that source next.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from core.config import Settings, SourceSettings
from core.logs import configure_logging
from crawlers.sources import source_dir

SPIDERS = {
    "rss": "crawlers.spiders.rss:RssSpider",
    "forum": "crawlers.spiders.forum:ForumSpider",
    "mastodon": "crawlers.spiders.mastodon:MastodonSpider",
    "telegram": "crawlers.spiders.telegram:TelegramSpider",
    "hackernews": "crawlers.spiders.hackernews:HackerNewsSpider",
    "reddit": "crawlers.spiders.reddit:RedditSpider",
    "bluesky": "crawlers.spiders.bluesky:BlueskySpider",
    "youtube": "crawlers.spiders.youtube:YouTubeSpider",
    "appstore": "crawlers.spiders.appstore:AppStoreSpider",
}


BUSY = "busy: another process is crawling this source"
SHUTDOWN = "shutdown"  # Scrapy's finish reason for a crawl stopped before its end
STOP_POLL_SECONDS = 0.5


@dataclass
class SourceSummary:
    """What one source's crawl did."""

    name: str
    kind: str
    finish_reason: str = "not started"
    pages: int = 0
    items: int = 0  # posts the spider read (stored, dropped as off-topic or malformed)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dropped_unmatched: int = 0
    malformed: int = 0
    skipped_unchanged: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.finish_reason == "finished"

    @property
    def busy(self) -> bool:
        """Another process was crawling this source; this run left it alone (not an error)."""
        return self.finish_reason == BUSY

    def line(self) -> str:
        return (
            f"{self.name} ({self.kind}): {self.pages} pages, {self.created} new, {self.updated} updated, {self.items} posts read, "
            f"{self.dropped_unmatched} not about a brand, {self.malformed} malformed skipped, "
            f"{self.skipped_unchanged} unchanged not re-fetched, {self.errors} errors — {self.finish_reason} in {self.seconds:.1f}s"
        )

    def log_fields(self) -> dict[str, Any]:
        """The crawl run as structured log fields (the JSON log line of ``log_crawl_summary``)."""
        return {"event": "crawl", "source": self.name, "kind": self.kind, "pages": self.pages, "items": self.items,
                "new": self.created, "updated": self.updated, "errors": self.errors, "malformed": self.malformed,
                "off_topic": self.dropped_unmatched, "seconds": self.seconds, "finish": self.finish_reason}


def log_crawl_summary(summary: "CrawlSummary", log: logging.Logger) -> None:
    """One log line per source of a crawl run (WARNING when it did not finish cleanly)."""
    for entry in summary.sources:
        fields = entry.log_fields()
        text = " ".join(f"{k}={v}" for k, v in fields.items() if k != "event")
        level = logging.INFO if (entry.finished or entry.busy) and not entry.errors else logging.WARNING
        log.log(level, "crawl %s", text, extra={"fields": fields})


@dataclass
class CrawlSummary:
    """All sources of one crawl run."""

    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceSummary] = field(default_factory=list)
    cpu_seconds: float = 0.0  # CPU time of the crawl itself (all sources; start-up excluded)

    @classmethod
    def stopped(cls, sources: list[SourceSettings], started_at: datetime, finished_at: datetime | None) -> CrawlSummary:
        """A run stopped before it crawled: every source ``shutdown``, none finished (so none counts as run)."""
        return cls(started_at=started_at, finished_at=finished_at,
                   sources=[SourceSummary(s.name, s.kind, finish_reason=SHUTDOWN) for s in sources])

    @property
    def created(self) -> int:
        return sum(s.created for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.sources)

    @property
    def ok(self) -> bool:
        return all((s.finished or s.busy) and s.errors == 0 for s in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CrawlSummary":
        return cls(
            data["started_at"], data.get("finished_at"), [SourceSummary(**s) for s in data.get("sources", [])],
            float(data.get("cpu_seconds", 0.0)),
        )


def jobdir(settings: Settings, source: SourceSettings) -> str:
    return str(source_dir(settings, source.name) / "job")


def lease_source(settings: Settings, source: SourceSettings) -> int | None:
    """An open descriptor holding the source's crawl lock, or None when another process holds it."""
    folder = source_dir(settings, source.name)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def crawler_settings(settings: Settings, source: SourceSettings, now: datetime | None, extra: dict[str, Any] | None) -> Any:
    """Scrapy settings for one source: project defaults, the source's overrides, JOBDIR."""
    from scrapy.settings import Settings as ScrapySettings

    result = ScrapySettings()
    result.setmodule("crawlers.settings", priority="project")
    result.update(source.options.get("scrapy") or {}, priority="spider")
    result.update(extra or {}, priority="cmdline")
    result.set("JOBDIR", jobdir(settings, source), priority="cmdline")
    result.set("BRANDGUARD_SETTINGS", settings, priority="cmdline")
    if now is not None:
        result.set("BRANDGUARD_NOW", now.isoformat(), priority="cmdline")
    return result


def crawl_here(
    settings: Settings, sources: list[SourceSettings], now: datetime | None = None, extra: dict[str, Any] | None = None,
    stop_requested: Callable[[], bool] | None = None,
) -> CrawlSummary:
    """Crawl ``sources`` concurrently in this process and summarise (starts the reactor).

    Once ``stop_requested()`` is true (polled every ``STOP_POLL_SECONDS``) the crawlers stop as on
    Ctrl-C: spiders closed with finish reason ``shutdown``, each JOBDIR kept for the next run; asked
    before the crawl starts, nothing is crawled.
    """
    from scrapy.crawler import Crawler, CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.misc import load_object

    summary = CrawlSummary(started_at=datetime.now(timezone.utc))
    if stop_requested is not None and stop_requested():
        return CrawlSummary.stopped(sources, summary.started_at, summary.started_at)
    # The runner's settings are merged into every crawler (same priority wins), so keep them
    # to the project defaults: per-source values (JOBDIR, overrides) live on each crawler.
    base = ScrapySettings()
    base.setmodule("crawlers.settings", priority="project")
    # Our own log handler (text or JSON, Scrapy's settings dump filtered out) instead of Scrapy's,
    # which every crawler would re-install at its own LOG_LEVEL. Warnings (skipped pages) stay visible.
    level = str((extra or {}).get("LOG_LEVEL", "WARNING")).upper()
    configure_logging(level, (extra or {}).get("BRANDGUARD_LOG_FORMAT", "text"))
    base.set("LOG_LEVEL", level, priority="project")
    base.set("STATS_DUMP", False, priority="project")  # our one line per source replaces the stats dump
    base.set("LOG_INSTALL_ROOT_HANDLER", False, priority="project")
    process = CrawlerProcess(base)
    crawlers: list[tuple[SourceSettings, Crawler, SourceSummary]] = []
    started = time.monotonic()
    leases: list[int] = []
    busy: list[SourceSummary] = []
    for source in sources:
        lease = lease_source(settings, source)
        if lease is None:
            busy.append(SourceSummary(source.name, source.kind, finish_reason=BUSY))
            continue
        leases.append(lease)
        spider_cls = load_object(SPIDERS[source.kind].replace(":", "."))
        # The first crawler installs the reactor (as CrawlerProcess._create_crawler does).
        crawler = Crawler(spider_cls, crawler_settings(settings, source, now, extra), init_reactor=not crawlers)
        entry = SourceSummary(source.name, source.kind)
        crawlers.append((source, crawler, entry))
        process.crawl(crawler, source=source.name)
    try:
        if crawlers:
            if stop_requested is not None:
                _stop_when_requested([c for _, c, _ in crawlers], stop_requested)
            _run_crawlers(process, crawlers, settings, summary, started)
    finally:
        for lease in leases:
            os.close(lease)  # closing the descriptor releases the flock
    summary.sources.extend(busy)
    summary.finished_at = datetime.now(timezone.utc)
    return summary


def _stop_when_requested(crawlers: list[Any], requested: Callable[[], bool]) -> None:
    """Poll ``requested`` on the reactor; once true, stop each crawler gracefully (Scrapy's Ctrl-C path).

    A flag the parent sets, not a signal: a SIGINT sent while the child is still between fork and
    exec, or before Scrapy installs its handler, is lost or lands in start-up code. A crawler is
    asked only once its engine runs: asked earlier, Scrapy marks it stopped and its engine then
    starts and crawls to the end."""
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor, task

    waiting = list(crawlers)

    def check() -> None:
        if not requested():
            return
        for crawler in list(waiting):
            engine = crawler._engine  # None until its crawl starts (Scrapy: read the underscored name that early)
            if engine is not None and engine.running:
                waiting.remove(crawler)
                deferred_from_coro(crawler.stop_async())
            elif engine is not None and not crawler.crawling:
                waiting.remove(crawler)  # closed already
        if not waiting:
            poll.stop()

    poll = task.LoopingCall(check)
    reactor.callWhenRunning(poll.start, STOP_POLL_SECONDS)


def _run_crawlers(process: Any, crawlers: list[tuple[SourceSettings, Any, SourceSummary]], settings: Settings,
                  summary: CrawlSummary, started: float) -> None:
    """Start the reactor over ``crawlers`` and record each source's outcome in ``summary``."""
    cpu0 = time.process_time()
    counter = _SpiderErrorCounter([c for _, c, _ in crawlers])
    logging.getLogger().addHandler(counter)
    process.start()
    logging.getLogger().removeHandler(counter)
    summary.cpu_seconds = round(time.process_time() - cpu0, 3)
    for source, crawler, entry in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        entry.finish_reason = str(stats.get("finish_reason", "not started"))
        entry.pages = int(stats.get("response_received_count", 0))
        entry.items = int(stats.get("item_scraped_count", 0)) + int(stats.get("item_dropped_count", 0))
        entry.created = int(stats.get("brandguard/stored_created", 0))
        entry.updated = int(stats.get("brandguard/stored_updated", 0))
        entry.unchanged = int(stats.get("brandguard/stored_unchanged", 0))
        entry.dropped_unmatched = int(stats.get("brandguard/unmatched", 0))
        entry.malformed = int(stats.get("brandguard/malformed", 0))  # pages/entries/posts skipped, each logged
        entry.skipped_unchanged = int(stats.get("brandguard/skipped_unchanged", 0))
        entry.errors = int(stats.get("brandguard/errors", 0))
        # The engine's own elapsed time (spider open → close); process start-up is not crawling.
        entry.seconds = round(float(stats.get("elapsed_time_seconds") or (time.monotonic() - started)), 2)
        if stats.get("brandguard/store_errors"):
            entry.finish_reason = "store_error"  # also when the failed write was the final flush
        if entry.finished:
            shutil.rmtree(jobdir(settings, source), ignore_errors=True)  # done: the next run starts fresh
        elif entry.finish_reason == "store_error":
            _forget_run(settings, source, crawler)
        summary.sources.append(entry)


class _SpiderErrorCounter(logging.Handler):
    """Counts ERROR records per crawler (Scrapy's own counter counts every crawler's errors in each)."""

    def __init__(self, crawlers: list[Any]) -> None:
        super().__init__(level=logging.ERROR)
        self.crawlers = crawlers

    def emit(self, record: logging.LogRecord) -> None:
        spider = getattr(record, "spider", None)
        for crawler in self.crawlers:
            if spider is not None and crawler.spider is spider and crawler.stats is not None:
                crawler.stats.inc_value("brandguard/errors")


def _forget_run(settings: Settings, source: SourceSettings, crawler: Any) -> None:
    """After a store failure: drop the JOBDIR and this run's visits, so the next run re-fetches them."""
    from crawlers.state import SeenState

    shutil.rmtree(jobdir(settings, source), ignore_errors=True)
    spider_now = getattr(crawler.spider, "now", None)
    if spider_now is not None:
        state = SeenState(source_dir(settings, source.name) / "seen.sqlite", source.revisit_seconds, source.revisit_window_hours)
        try:
            state.forget_visits_at(spider_now)
        finally:
            state.close()
