"""`brandguard crawl` against the demo web, the scheduler, and `scrapy list`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from core.clock import SimulatedClock
from crawlers import cli as crawl_cli
from crawlers.runner import CrawlScheduler
from tests.crawlers.conftest import NOW, by_author, stored

REPO = Path(__file__).resolve().parents[2]


def _write_config(settings, path: Path) -> Path:
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude={"source_file"}), allow_unicode=True), encoding="utf-8")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    crawl_cli.register(app)

    @app.command()
    def noop() -> None:  # a second command keeps typer from collapsing `crawl` into the root
        pass

    return app


def test_brandguard_crawl_once_stores_the_demo_story(demo_web, settings, tmp_path) -> None:
    config = _write_config(settings, tmp_path / "demo.yaml")
    result = CliRunner().invoke(_app(), ["crawl", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "crawling 6 source(s): demo-forum, demo-reviews, demo-news, demo-mastodon" in result.output
    assert "demo-forum (forum): 11 pages, 9 new" in result.output
    mentions = stored(settings)
    authors = by_author(mentions)
    # The escalation: Mina's forum post (Persian) and her Mastodon post are stored.
    assert {m.platform for m in authors["mina_r"]} == {"forum", "mastodon"}
    # The brand word in its other sense is not a mention.
    texts = "\n".join(m.text for m in mentions)
    assert "My friend Sepehr" not in texts and "nephew Sepehr" not in texts and "سپهر آبی" not in texts
    assert {"gift_guru", "nature_lover", "proud_aunt"}.isdisjoint(authors)
    assert len(mentions) == 34


def test_crawl_rejects_an_unknown_source(demo_web, settings, tmp_path) -> None:
    config = _write_config(settings, tmp_path / "demo.yaml")
    result = CliRunner().invoke(_app(), ["crawl", "--once", "--source", "nope", "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown source(s): nope" in result.output


def test_scheduler_runs_due_sources_on_the_simulated_clock(demo_web, settings) -> None:
    clock = SimulatedClock(NOW, speed=0.0)
    scheduler = CrawlScheduler(settings, clock, timeout=120)
    assert scheduler.run_due() == 6
    assert scheduler.run_due() == 0  # nothing due a moment later
    clock.advance(timedelta(seconds=60))  # schedule_seconds of the demo sources
    demo_web.advance()
    assert scheduler.run_due() == 6
    assert CrawlScheduler(settings, clock).due_sources() == []  # last runs survive a restart
    minas = [m for m in stored(settings, sources=["demo-mastodon"]) if m.author.handle == "mina_r"]
    assert [p.at for p in minas[0].engagement_history] == [NOW, NOW + timedelta(seconds=60)]


def test_scrapy_list_and_crawl_read_the_config_from_the_environment(demo_web, settings, tmp_path) -> None:
    config = _write_config(settings, tmp_path / "demo.yaml")
    env = {**os.environ, "BRANDGUARD_CONFIG": str(config)}
    scrapy = [sys.executable, "-m", "scrapy"]
    listed = subprocess.run([*scrapy, "list"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert listed.stdout.split() == ["appstore", "bluesky", "forum", "hackernews", "mastodon", "reddit", "rss", "telegram", "youtube"]
    ran = subprocess.run([*scrapy, "crawl", "telegram", "-a", "source=demo-telegram-own", "-s", "LOG_LEVEL=WARNING"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert len(stored(settings, sources=["demo-telegram-own"])) == 7


def test_a_failed_crawl_is_not_retried_before_its_interval(demo_web, settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.store.sqlite_path = settings.data_dir  # a folder: the child cannot open the store
    clock = SimulatedClock(NOW, speed=0.0)
    scheduler = CrawlScheduler(settings.model_copy(update={"sources": settings.sources[:1]}), clock, timeout=120)
    assert scheduler.run_due() == 1
    assert scheduler.last_summary.sources[0].finish_reason == "not started"
    assert scheduler.due_sources() == []  # no tight retry loop
    assert [s.name for s in scheduler.due_sources(NOW + timedelta(seconds=60))] == ["demo-forum"]
