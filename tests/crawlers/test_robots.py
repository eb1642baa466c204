"""robots.txt is obeyed, also for requests that start while it is being downloaded."""

from __future__ import annotations

from tests.crawlers.conftest import crawl, stored


def test_disallowed_urls_are_never_fetched_even_as_concurrent_start_urls(demo_web, settings) -> None:
    source = next(s for s in settings.sources if s.name == "demo-forum")
    # Several start requests to one host wait for robots.txt together; each must be checked.
    source.urls = [f"{demo_web.base_url}/forum/", f"{demo_web.base_url}/forum/private/thread/900",
                   f"{demo_web.base_url}/admin/", f"{demo_web.base_url}/forum/private/thread/900?page=1"]
    summary = crawl(settings, demo_web, "demo-forum")
    assert demo_web.requests_seen[0] == "/robots.txt"
    assert not [p for p in demo_web.requests_seen if p.startswith(("/forum/private/", "/admin/"))]
    assert "moderator" not in {m.author.handle for m in stored(settings)}
    assert summary.sources[0].finished
