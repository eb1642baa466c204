"""The crawler does not fetch private, loopback, link-local or metadata addresses that a feed,
page or redirect supplied, unless the source allows it (issue 12, item 9)."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from core.config import Settings
from crawlers.middlewares.ssrf import SsrfGuardMiddleware, is_public_address
from crawlers.sources import check_settings
from tests.crawlers.conftest import crawl, stored

FEED = "http://127.0.0.1:8765/news/feed.xml"
REFUSED = ["http://169.254.169.254/latest/meta-data/iam/", "http://127.0.0.1:9200/_cat/indices", "http://10.0.0.1/admin",
           "http://[::1]:8765/x", "http://[::ffff:169.254.169.254]/", "http://100.64.0.1/", "http://0.0.0.0:8765/",
           "http://localhost:8765/news/x", "http://[fd00:ec2::254]/latest/", "http://no-such-host.invalid/x",
           "http://224.0.0.1/"]


def _guard(options: dict | None = None) -> SsrfGuardMiddleware:
    settings = Settings.model_validate({"sources": [{"name": "news", "kind": "rss", "urls": [FEED],
                                                     "options": options or {}}]})
    crawler = get_crawler(settings_dict={"BRANDGUARD_SETTINGS": settings})
    crawler.stats.open_spider()
    return SsrfGuardMiddleware.from_crawler(crawler)


@pytest.mark.parametrize("url", REFUSED)
def test_feed_supplied_private_addresses_are_refused_and_counted(url: str) -> None:
    guard = _guard()
    with pytest.raises(IgnoreRequest, match="refused"):
        guard.process_request(Request(url, meta={"source": "news"}))
    assert guard.stats.get_value("brandguard/ssrf_refused") == 1


def test_the_configured_host_and_public_addresses_are_fetched() -> None:
    guard = _guard()
    for url in [FEED, "http://127.0.0.1:8765/news/article-1", "http://93.184.216.34/page", "https://[2606:4700::1111]/"]:
        assert guard.process_request(Request(url, meta={"source": "news"})) is None, url
    # robots.txt requests (made by the robots middleware after this check passed the page) go through,
    # otherwise a refused robots.txt would read as "everything allowed".
    assert guard.process_request(Request("http://127.0.0.1:8765/robots.txt")) is None
    assert guard.stats.get_value("brandguard/ssrf_refused") is None


def test_a_source_may_allow_private_networks() -> None:
    guard = _guard({"allow_private_networks": True})
    assert guard.process_request(Request(REFUSED[0], meta={"source": "news"})) is None
    bad = Settings.model_validate({"sources": [{"name": "n", "kind": "rss", "urls": [FEED],
                                                "options": {"allow_private_networks": "yes"}}]})
    assert check_settings(bad) == ["sources[0] (n).options.allow_private_networks: must be true or false"]


def test_addresses() -> None:
    assert is_public_address("8.8.8.8") and is_public_address("2001:4860:4860::8888")
    for address in ["127.0.0.1", "169.254.169.254", "10.1.2.3", "192.168.1.1", "172.16.0.1", "100.64.0.1", "::1",
                    "fe80::1%eth0", "::ffff:10.0.0.1", "0.0.0.0", "255.255.255.255", "fd00:ec2::254"]:
        assert not is_public_address(address), address


def test_a_feed_linking_to_another_local_address_is_not_followed(demo_web, settings) -> None:
    # The operator configured the feed by name ("localhost"); its entries link to 127.0.0.1,
    # an address the config never named: the article pages are refused, the entries kept.
    source = next(s for s in settings.sources if s.name == "demo-news")
    source.urls = [source.urls[0].replace("127.0.0.1", "localhost")]
    source.options.update(full_text=True, allow_private_networks=False)
    crawl(settings, demo_web, "demo-news")
    assert "/news/sepehr-new-store" not in demo_web.requests_seen
    news = {m.title: m for m in stored(settings, sources=["demo-news"])}
    assert "Sepehr Mobile opens a new store in Tehran" in news  # kept with the feed's text
    assert "The company said more stores would follow." not in news["Sepehr Mobile opens a new store in Tehran"].text
