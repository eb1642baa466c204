"""``brandguard crawl``: crawl the configured sources once, or on their schedules."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Optional

import typer

from core.cli import ConfigOption, fail, settings_to_start
from crawlers.sources import check_settings  # noqa: F401 - used by `brandguard config check`


def register(app: typer.Typer) -> None:
    """Add the ``crawl`` command to the brandguard CLI."""

    @app.command()
    def crawl(
        config: ConfigOption = None,
        source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
        once: Annotated[bool, typer.Option("--once", help="Crawl once now and exit (default: follow the schedules).")] = False,
        poll_seconds: Annotated[float, typer.Option(help="How often to check schedules when not --once.")] = 5.0,
        log_level: Annotated[str, typer.Option(help="Scrapy log level (INFO shows pages/min progress while crawling).")] = "WARNING",
        log_format: Annotated[str, typer.Option("--log-format", help="text (for people) or json (one object per line, for log shippers).")] = "text",
    ) -> None:
        """Crawl sources (forums, reviews, RSS, Mastodon, Telegram, Hacker News, Reddit, Bluesky, YouTube, App Store) into the store."""
        from core.logs import LOG_FORMATS, configure_logging
        from core.worker import stop_on_signals
        from crawlers.runner import CrawlError, CrawlScheduler, run_sources, select_sources

        if log_format not in LOG_FORMATS:
            raise fail(f"--log-format: unknown format {log_format!r} (known: {', '.join(LOG_FORMATS)})")
        as_json = log_format == "json"
        # JSON: the one INFO line per crawled source is the output; text: the summary lines below are.
        configure_logging("INFO" if as_json else "WARNING", log_format)  # type: ignore[arg-type]
        echo = (lambda *_a, **_k: None) if as_json else typer.echo
        scrapy_logs = {"LOG_LEVEL": log_level.upper(), "BRANDGUARD_LOG_FORMAT": log_format}
        settings = settings_to_start(config, ("crawlers.cli",))
        try:
            chosen = select_sources(settings, source)
        except ValueError as exc:
            raise fail(str(exc)) from None
        if not chosen:
            raise fail("no enabled sources to crawl (add some under 'sources:' in the config)")
        if once:
            echo(f"crawling {len(chosen)} source(s): {', '.join(s.name for s in chosen)}")
            try:
                summary = run_sources(settings, [s.name for s in chosen], extra_scrapy_settings=scrapy_logs)
            except CrawlError as exc:
                raise fail(str(exc), code=1) from None
            if not as_json:
                _print_summary(summary)
            if not all(s.finished or s.busy for s in summary.sources):
                raise typer.Exit(1)
            return
        scheduled = settings.model_copy(update={"sources": chosen})
        stop = threading.Event()
        stop_on_signals(stop)  # SIGTERM (docker stop) and Ctrl-C: a crawl in flight stops resumably
        scheduler = CrawlScheduler(scheduled, extra_scrapy_settings=scrapy_logs, stop=stop)
        echo(f"following the schedules of {len(chosen)} source(s); Ctrl-C to stop")
        while not stop.is_set():
            try:
                ran = scheduler.run_due()
            except CrawlError as exc:  # those sources wait their interval; the service goes on
                logging.getLogger(__name__).error("%s", exc)
                ran = 0
            if ran and scheduler.last_summary is not None and not as_json:
                _print_summary(scheduler.last_summary)
            stop.wait(poll_seconds)
        echo("stopped")


def _print_summary(summary) -> None:  # noqa: ANN001 - CrawlSummary, imported lazily
    for entry in summary.sources:
        colour = typer.colors.GREEN if entry.finished and not entry.errors else typer.colors.YELLOW
        typer.secho(f"  {entry.line()}", fg=colour)
    typer.echo(f"done: {summary.pages} pages, {summary.created} new mentions, {summary.updated} updated")
