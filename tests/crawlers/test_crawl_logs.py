"""Quiet, useful crawl logs: no Scrapy settings dump, one line per crawled source, JSON for log shippers."""

from __future__ import annotations

import json
import logging
from typing import Iterator

import pytest
from typer.testing import CliRunner

from tests.crawlers.test_runner_cli import _app, _write_config


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_one_line_per_source_and_no_settings_dump(demo_web, settings, tmp_path, capfd) -> None:
    config = _write_config(settings, tmp_path / "demo.yaml")
    args = ["crawl", "--once", "--source", "demo-news", "--source", "demo-mastodon", "--log-format", "json",
            "--log-level", "INFO", "--config", str(config)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    child = capfd.readouterr().err  # the crawl child process writes to the real stderr
    lines = [json.loads(line) for line in (result.stderr + child).splitlines() if line.strip()]  # every line is JSON
    text = "\n".join(str(line["message"]) for line in lines)
    assert "Overridden settings" not in text and "Enabled extensions" not in text and "Dumping Scrapy stats" not in text
    runs = {line["source"]: line for line in lines if line.get("event") == "crawl"}
    assert set(runs) == {"demo-news", "demo-mastodon"}
    mastodon = runs["demo-mastodon"]
    assert mastodon["kind"] == "mastodon" and mastodon["pages"] > 0 and mastodon["new"] > 0 and mastodon["items"] >= mastodon["new"]
    assert mastodon["malformed"] == 1 and mastodon["finish"] == "finished" and isinstance(mastodon["seconds"], float)
    assert mastodon["level"] == "info" and mastodon["message"].startswith("crawl source=demo-mastodon kind=mastodon pages=")
    # The skipped page is still reported (a warning from the crawl child), as JSON too.
    assert any(line["level"] == "warning" and "skipping malformed API response" in line["message"] for line in lines)
    assert result.stdout == ""  # log shippers read stderr; nothing else is printed


def test_text_logs_have_no_settings_dump_even_at_info(demo_web, settings, tmp_path, capfd) -> None:
    config = _write_config(settings, tmp_path / "demo.yaml")
    result = CliRunner().invoke(_app(), ["crawl", "--once", "--source", "demo-news", "--log-level", "INFO", "--config", str(config)])
    assert result.exit_code == 0, result.output
    err = capfd.readouterr().err
    assert "Overridden settings" not in err and "'BOT_NAME'" not in err and "Enabled item pipelines" not in err
    assert "demo-news (rss): " in result.stdout and " new, " in result.stdout
