"""What every brandguard spider shares: its sources, seen-state, "now" and skip logging."""

from __future__ import annotations

import json
import os
from datetime import timezone
from typing import Any, AsyncIterator, ClassVar, Iterable

from zoneinfo import ZoneInfo

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from core.config import Settings, SourceSettings
from crawlers.brandmatch import BrandMatcher
from crawlers.sources import brandguard_settings, crawl_now, source_dir, sources_for
from crawlers.state import SeenState
from crawlers.timeparse import TimeParseError, parse_time


class SourceSpider(scrapy.Spider):
    """Base spider: ``-a source=NAME[,NAME]`` picks sources, else all enabled of ``kind``."""

    kind: ClassVar[str] = ""

    def __init__(self, *args: Any, source: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source_names = source
        self.sources: dict[str, SourceSettings] = {}
        self.states: dict[str, SeenState] = {}
        # Per-source secrets, added at send time by crawlers.middlewares.credentials (never queued on disk).
        self.credentials: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> "SourceSpider":
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup(brandguard_settings(crawler.settings), crawl_now(crawler.settings))
        crawler.signals.connect(spider._close_states, signal=signals.spider_closed)
        return spider

    def setup(self, settings: Settings, now: Any) -> None:
        self.bg_settings = settings
        self.now = now
        self.matcher = BrandMatcher(settings)
        self.sources = {s.name: s for s in sources_for(settings, self.kind, self.source_names)}
        for name, src in self.sources.items():
            self.states[name] = SeenState(
                source_dir(settings, name) / "seen.sqlite", src.revisit_seconds, src.revisit_window_hours
            )

    async def start(self) -> AsyncIterator[Any]:
        for source in self.sources.values():
            for request in self.start_requests_for(source):
                yield request

    def start_requests_for(self, source: SourceSettings) -> Iterable[scrapy.Request]:
        raise NotImplementedError

    def source_of(self, response: Response) -> SourceSettings:
        return self.sources[response.meta["source"]]

    def state_of(self, response: Response) -> SeenState:
        return self.states[response.meta["source"]]

    def skip_malformed(self, url: str, what: str, problem: object) -> None:
        """Log a malformed page/entry with its URL and count it; the crawl goes on."""
        self.logger.warning("skipping malformed %s at %s: %s", what, url, problem)
        self.crawler.stats.inc_value("brandguard/malformed")

    def json_of(self, response: Response, what: str = "API response") -> Any:
        """The response's JSON, or None (logged and counted as malformed) when it is not JSON."""
        try:
            return json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            self.skip_malformed(response.url, f"{what} (invalid JSON)", exc)
            return None

    def refused(self, response: Response, platform: str, hint: str) -> bool:
        """True (with a clear warning naming what to check) when the API refused our credentials."""
        if response.status not in (401, 403):
            return False
        self.logger.warning("%s refused the request at %s (HTTP %d): %s", platform, response.url, response.status, hint)
        self.crawler.stats.inc_value("brandguard/auth_refused")
        return True

    def secret_from_env(self, source: SourceSettings, option: str) -> str | None:
        """The secret in the environment variable named by ``options[option]`` (never the file itself)."""
        name = source.options.get(option)
        return (os.environ.get(str(name)) or None) if name else None

    def skip_unchanged(self, url: str) -> None:
        self.logger.debug("not re-visiting %s (seen recently or no longer active)", url)
        self.crawler.stats.inc_value("brandguard/skipped_unchanged")

    def try_time(self, raw: object, source: SourceSettings | None = None) -> Any:
        """Parsed time or None; an unparseable time is left for the time pipeline to report."""
        zone = source.options.get("timezone") if source else None
        try:
            return parse_time(raw, self.now, ZoneInfo(zone) if zone else timezone.utc) if raw else None
        except TimeParseError:
            return None

    def _close_states(self, spider: scrapy.Spider) -> None:
        for state in self.states.values():
            state.close()
