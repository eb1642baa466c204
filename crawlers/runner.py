"""Run crawls from a long-running process: each crawl in a fresh child process.

Twisted's reactor cannot be restarted, so ``run_sources`` starts a child (``spawn``:
no inherited threads or reactor), which runs :func:`crawlers.crawl.crawl_here` and sends
back a :class:`CrawlSummary`. ``CrawlScheduler`` decides which sources are due by their
``schedule_seconds``/``revisit_seconds`` and remembers the last runs in
``<data_dir>/crawl/schedule.json``, so a restart does not re-crawl everything at once.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.clock import Clock, SystemClock
from core.config import Settings, SourceSettings
from crawlers.crawl import CrawlSummary, SourceSummary, crawl_here, log_crawl_summary

logger = logging.getLogger(__name__)


class CrawlError(RuntimeError):
    """The crawl child died without reporting (the message says how)."""


def select_sources(settings: Settings, source_names: list[str] | None) -> list[SourceSettings]:
    """Enabled sources, or exactly the named ones (unknown names are an error)."""
    if not source_names:
        return [s for s in settings.sources if s.enabled]
    by_name = {s.name: s for s in settings.sources}
    unknown = [n for n in source_names if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none configured"
        raise ValueError(f"unknown source(s): {', '.join(unknown)} (known: {known})")
    return [by_name[n] for n in source_names]


STOP_GRACE_SECONDS = 30.0  # how long a crawl asked to stop may take to close before it is killed


def run_sources(
    settings: Settings, source_names: list[str] | None = None, *, now: datetime | None = None,
    extra_scrapy_settings: dict[str, Any] | None = None, timeout: float | None = None,
    stop: threading.Event | None = None,
) -> CrawlSummary:
    """Crawl the sources (default: all enabled) in a child process and return its summary.

    ``now`` is the crawl's clock time (a simulated clock's). Past ``timeout`` seconds, or once
    ``stop`` is set (the process is shutting down), the child is asked to stop gracefully (a
    shared flag it polls: Scrapy closes the spiders, the JOBDIR keeps the rest for the next run,
    the summary still comes back) and killed ``STOP_GRACE_SECONDS`` later if it still runs.
    Without this a stopping ``brandguard run`` or ``crawl`` waited for the whole crawl:
    multiprocessing joins a running child at exit.
    """
    sources = select_sources(settings, source_names)
    if not sources:
        return CrawlSummary(started_at=now or datetime.now(timezone.utc), finished_at=now)
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    stopping = ctx.Event()
    child = ctx.Process(
        target=_child_main, args=(sender, settings, [s.name for s in sources], now, extra_scrapy_settings, stopping),
        name="brandguard-crawl", daemon=False,
    )
    child.start()
    sender.close()
    result: Any = None
    try:
        if _summary_came(receiver, timeout, stop):
            result = receiver.recv()
        elif child.is_alive():
            if stop is not None and stop.is_set():
                logger.warning("stopping: asking the crawl of %s to stop (resumable)", ", ".join(s.name for s in sources))
            else:
                logger.warning("crawl exceeded %ss; asking it to stop (resumable)", timeout)
            stopping.set()
            if receiver.poll(STOP_GRACE_SECONDS):
                result = receiver.recv()
    except EOFError:
        result = None
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        receiver.close()
    reported = isinstance(result, dict) and "error" not in result
    if not reported and stop is not None and stop.is_set():
        # Stopped without a report (the child did not close within the grace period and was
        # killed). Not a failure; nothing is recorded as crawled, so the next start crawls again.
        logger.warning("crawl of %s stopped before it reported", ", ".join(s.name for s in sources))
        return CrawlSummary.stopped(sources, now or datetime.now(timezone.utc), now)
    if isinstance(result, dict) and "error" in result:
        raise CrawlError(f"crawl failed: {result['error']}")
    if not isinstance(result, dict):
        raise CrawlError(f"crawl process exited with code {child.exitcode} without a summary")
    summary = CrawlSummary.from_dict(result)
    log_crawl_summary(summary, logger)
    return summary


def _summary_came(receiver: Any, timeout: float | None, stop: threading.Event | None) -> bool:
    """Wait for the child's summary: True when it came, False past ``timeout`` or once ``stop`` is set."""
    if stop is None:
        return bool(receiver.poll(timeout))
    deadline = None if timeout is None else time.monotonic() + timeout
    while not stop.is_set():
        step = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
        if step <= 0:
            return False
        if receiver.poll(step):
            return True
    return False


def _child_main(sender: Any, settings: Settings, names: list[str], now: datetime | None, extra: dict[str, Any] | None,
                stopping: Any) -> None:
    try:
        sources = select_sources(settings, names)
        summary = crawl_here(settings, sources, now=now, extra=extra, stop_requested=stopping.is_set)
        sender.send(summary.to_dict())
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent, then fail
        sender.send({"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        sender.close()


class CrawlScheduler:
    """Runs the sources that are due, by the given clock (real or simulated)."""

    def __init__(self, settings: Settings, clock: Clock | None = None, **run_options: Any) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.run_options = run_options
        self.path = Path(settings.data_dir) / "crawl" / "schedule.json"
        self.last_run: dict[str, datetime] = self._load()
        self.last_summary: CrawlSummary | None = None

    def due_sources(self, now: datetime | None = None) -> list[SourceSettings]:
        """Enabled sources never run, or last run at least min(schedule, revisit) ago."""
        now = now or self.clock.now()
        due = []
        for source in self.settings.sources:
            if not source.enabled:
                continue
            last = self.last_run.get(source.name)
            interval = min(source.schedule_seconds, source.revisit_seconds)
            if last is None or (now - last).total_seconds() >= interval:
                due.append(source)
        return due

    def run_due(self) -> int:
        """Crawl every due source in one child process; returns how many sources ran."""
        now = self.clock.now()
        due = self.due_sources(now)
        if not due:
            return 0
        try:
            summary = run_sources(self.settings, [s.name for s in due], now=now, **self.run_options)
        except CrawlError:
            # Wait a full interval before trying these sources again instead of re-spawning at once.
            self.last_run.update({s.name: now for s in due})
            self._save()
            raise
        self.last_summary = summary
        # Failed sources too wait a full interval (no tight retry loop); the summary says what failed.
        # A crawl cut short because we are stopping is not a run: the next start resumes its JOBDIR at once.
        stop = self.run_options.get("stop")
        if stop is not None and stop.is_set():
            finished = {entry.name for entry in summary.sources if entry.finished}
            self.last_run.update({s.name: now for s in due if s.name in finished})
        else:
            self.last_run.update({s.name: now for s in due})
        self._save()
        return len(due)

    def _load(self) -> dict[str, datetime]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {k: datetime.fromisoformat(v) for k, v in raw.items()}
        except FileNotFoundError:
            return {}
        except (ValueError, AttributeError) as exc:
            logger.warning("ignoring unreadable crawl schedule %s: %s", self.path, exc)
            return {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")  # two processes may save at once
        tmp.write_text(json.dumps({k: v.isoformat() for k, v in self.last_run.items()}), encoding="utf-8")
        tmp.replace(self.path)


__all__ = ["CrawlError", "CrawlScheduler", "CrawlSummary", "SourceSummary", "run_sources"]
