"""Log lines: one record is one line (text), JSON with structured fields and readable Persian."""

from __future__ import annotations

import io
import json
import logging
from typing import Iterator

import pytest

from core.logs import configure_logging


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_lines_escape_line_breaks_a_crawled_post_could_forge(stream) -> None:
    configure_logging("INFO", "text", stream)
    logging.getLogger("crawlers.test").warning("skipping %s", "post\n2026-01-01 ERROR alerts: forged line")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("skipping post\\n2026-01-01 ERROR alerts: forged line")


def test_json_lines_carry_fields_and_persian_text(stream) -> None:
    configure_logging("INFO", "json", stream)
    logging.getLogger("crawlers.runner").info("crawl %s", "source=fa-forum", extra={"fields": {"event": "crawl", "new": 3}})
    logging.getLogger("crawlers.test").warning("پست نامعتبر: «سپهر موبایل»")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["event"], first["new"], first["level"], first["logger"]) == ("crawl", 3, "info", "crawlers.runner")
    assert second["message"] == "پست نامعتبر: «سپهر موبایل»" and "\\u" not in stream.getvalue()


def test_scrapy_startup_chatter_is_dropped_but_its_warnings_are_kept(stream) -> None:
    configure_logging("DEBUG", "text", stream)
    logging.getLogger("scrapy.crawler").info("Overridden settings:\n%(settings)s", {"settings": {"BOT_NAME": "brandguard"}})
    logging.getLogger("scrapy.middleware").info("Enabled %(componentname)ss:\n%(enabledlist)s", {"componentname": "extension", "enabledlist": "[]"})
    logging.getLogger("scrapy.extensions.logstats").info("Crawled 12 pages (at 12 pages/min)")
    logging.getLogger("scrapy.core.scraper").warning("Dropped: post 4 has no text")
    out = stream.getvalue()
    assert "Overridden settings" not in out and "BOT_NAME" not in out and "Enabled extensions" not in out
    assert "Crawled 12 pages" in out and "Dropped: post 4 has no text" in out


def test_a_second_configuration_replaces_the_first_handler(stream) -> None:
    configure_logging("INFO", "text", stream)
    configure_logging("INFO", "json", stream)
    logging.getLogger("x").info("once")
    assert len(stream.getvalue().splitlines()) == 1 and json.loads(stream.getvalue())["message"] == "once"
