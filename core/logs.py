"""Log set-up for long-running commands: one-line text for people, JSON lines for log shippers.

``configure_logging(level, "text"|"json")`` installs one stderr handler on the root logger. Text
lines escape line breaks inside messages (a crawled post cannot forge a log line); JSON lines carry
``ts``, ``level``, ``logger``, ``message`` and the record's structured ``fields`` (passed as
``extra={"fields": {...}}``), with Persian text kept readable. Scrapy's start-up chatter (its
settings dictionary, lists of enabled components, version banners) is dropped at any level.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Scrapy's INFO start-up messages: they repeat on every crawl and say nothing about the crawl itself.
_STARTUP_NOISE = ("Overridden settings", "Enabled extensions", "Enabled downloader middlewares", "Enabled spider middlewares",
                  "Enabled item pipelines", "Enabled addons", "Scrapy ", "Versions:", "Telnet console", "Using reactor",
                  "Using asyncio event loop", "Using CrawlerProcess", "Dumping Scrapy stats", "Spider opened",
                  "Closing spider", "Spider closed")


class QuietScrapyStartup(logging.Filter):
    """Drops Scrapy's per-crawl start-up and shutdown chatter; keeps everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("scrapy", "py.warnings")) or record.levelno >= logging.WARNING:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the handler's problem, not the filter's
            return True
        return not message.startswith(_STARTUP_NOISE)


class SingleLineFormatter(logging.Formatter):
    """The text format, with CR/LF inside a message escaped so one record is one line."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return super().formatMessage(record).replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, structured fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def make_handler(fmt: LogFormat = "text", stream: TextIO | None = None) -> logging.Handler:
    """A stderr handler in ``fmt`` with Scrapy's start-up chatter filtered out."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (known: {', '.join(LOG_FORMATS)})")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else SingleLineFormatter(TEXT_FORMAT))
    handler.addFilter(QuietScrapyStartup())
    handler._brandguard = True  # type: ignore[attr-defined] - so a second call replaces it
    return handler


def configure_logging(level: str | int = "INFO", fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Send every log record at ``level`` and above to stderr as ``fmt`` (replacing an earlier call's handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_brandguard", False):
            root.removeHandler(handler)
    handler = make_handler(fmt, stream)
    level = level.upper() if isinstance(level, str) else level
    handler.setLevel(level)  # also when a library resets the root logger's level (Scrapy does)
    root.addHandler(handler)
    root.setLevel(level)
