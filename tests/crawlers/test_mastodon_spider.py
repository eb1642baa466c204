"""Mastodon's REST API: tag timelines with paging, search with a token, reply threads."""

from __future__ import annotations

from datetime import timedelta

from tests.crawlers.conftest import NOW, by_author, crawl, stored


def test_mastodon_statuses_with_reach_counts_and_replies(demo_web, settings, capfd) -> None:
    summary = crawl(settings, demo_web, "demo-mastodon")
    assert summary.sources[0].finished
    authors = by_author(stored(settings, sources=["demo-mastodon"]))
    mina = authors["mina_r"][0]
    assert mina.text.startswith("@sepehrmobile broke my phone twice and support ignores me (ticket T-881).")
    assert "#sepehrfail" in mina.text
    assert mina.author.followers == 1200 and mina.author.bio == "Photographer in Tehran 📷"
    assert (mina.engagement.shares, mina.engagement.likes, mina.engagement.replies) == (5, 8, 1)
    assert mina.published_at == NOW - timedelta(minutes=45)
    assert mina.lang == "en" and mina.url == f"{demo_web.base_url}/mastodon/@mina_r/109000000000000100"
    # Her reply thread, fetched through /api/v1/statuses/:id/context, inherits the brand.
    reply = authors["replier_0"][0]
    assert reply.parent_id == mina.id and reply.thread_id == mina.thread_id and reply.brands == ["Sepehr Mobile"]
    # Search (with the token) found the statuses; the nephew named Sepehr is not the brand.
    assert any(p.startswith("/mastodon/api/v2/search?q=sepehr+mobile") for p in demo_web.requests_seen)
    assert "proud_aunt" not in authors
    assert {"reza_k", "sepehrmobile", "shahrzad", "curious_cat"} <= set(authors)
    # Page 2 of #sepehrmobile is invalid JSON: logged with its URL, the rest kept.
    assert "skipping malformed API response (invalid JSON) at " in capfd.readouterr().err
    assert summary.sources[0].malformed == 1


def test_copies_appear_from_step_two(demo_web, settings) -> None:
    demo_web.advance(3)
    crawl(settings, demo_web, "demo-mastodon")
    copies = [m for m in stored(settings, sources=["demo-mastodon"]) if m.text.startswith("Boost this! Sepehr Mobile broke @mina_r's")]
    assert len(copies) == 20 and len({m.author.handle for m in copies}) == 20
    assert any("max_id=" in p and "sepehrfail" in p for p in demo_web.requests_seen)  # followed Link: rel="next"


def test_search_without_a_token_is_skipped_with_a_warning(demo_web, settings, capfd) -> None:
    source = next(s for s in settings.sources if s.name == "demo-mastodon")
    source.options.pop("token")
    crawl(settings, demo_web, "demo-mastodon")
    assert not any("/api/v2/search" in p for p in demo_web.requests_seen)
    assert "search 'sepehr mobile' skipped: no token" in capfd.readouterr().err
    assert "mina_r" in by_author(stored(settings, sources=["demo-mastodon"]))


def test_a_refused_token_is_a_clear_warning(demo_web, settings, capfd) -> None:
    source = next(s for s in settings.sources if s.name == "demo-mastodon")
    source.options["token"] = "expired-token"
    summary = crawl(settings, demo_web, "demo-mastodon")
    err = capfd.readouterr().err
    assert "Mastodon search at " in err and "refused the token (HTTP 401)" in err
    assert summary.sources[0].finished
    assert "mina_r" in by_author(stored(settings, sources=["demo-mastodon"]))  # the tag timelines still work
