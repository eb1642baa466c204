"""HTML → text, canonical URLs and shown counts."""

from __future__ import annotations

from crawlers.textclean import canonical_url, html_to_text, parse_count


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = "<p>گوشیم رو <b>دوبار</b> خراب کردن.</p><script>alert(1)</script><p>همه   بازنشر کنید</p>"
    assert html_to_text(html) == "گوشیم رو دوبار خراب کردن.\n\nهمه بازنشر کنید"


def test_mastodon_mentions_and_hashtags_survive_as_text() -> None:
    html = ('<p><span class="h-card"><a href="https://m.social/@shop" class="u-url mention">@<span>shop</span></a></span> '
            'hi <a href="https://m.social/tags/fail" class="mention hashtag" rel="tag">#<span>fail</span></a></p>')
    assert html_to_text(html) == "@shop hi #fail"


def test_canonical_url_drops_tracking_fragment_and_default_port() -> None:
    assert canonical_url("HTTPS://Forum.Example.com:443/t/1?utm_source=x&page=2#post-3") == "https://forum.example.com/t/1?page=2"


def test_parse_count_reads_suffixes_and_persian_digits() -> None:
    assert parse_count("1.2K") == 1200
    assert parse_count("۱۲ likes") == 12
    assert parse_count("2.5M") == 2_500_000
    assert parse_count("3 found this helpful") == 3
    assert parse_count(None) is None
    assert parse_count("none") is None


def test_half_an_emoji_in_a_crawled_post_becomes_a_replacement_character_and_the_post_is_stored(tmp_path) -> None:
    from datetime import datetime, timedelta, timezone

    from core.config import Settings
    from core.store import open_store
    from crawlers.items import PostItem
    from crawlers.normalize import PostNormalizer

    now = datetime.now(timezone.utc)
    settings = Settings.model_validate({"data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile",
                                                                               "query": '"sepehr mobile" OR "سپهر موبایل"'}]})
    cut = "\ud83d"  # a source's JSON cut the emoji 😡 in half ("\ud83d" without "\ude21")
    item = PostItem(source="m", platform="mastodon", native_id="1", page_url="https://m.social/api/v1/timelines/tag/x",
                    text=f"<p>سپهر موبایل باز هم قطع شد {cut}</p>", is_html=True, published=now - timedelta(minutes=5),
                    author_handle="mina_r", author_bio=f"Tehran {cut}")
    mention = PostNormalizer(settings, now).to_mention(item)
    assert mention.text == "سپهر موبایل باز هم قطع شد \ufffd" and mention.author.bio == "Tehran \ufffd"
    store = open_store(settings)
    try:
        store.upsert_mentions([mention])
        assert store.get_mention(mention.id).text == mention.text
    finally:
        store.close()
