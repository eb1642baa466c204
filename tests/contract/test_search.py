"""Contract: full-text search (Persian normalisation, boolean queries), filters, sort,
cursor pages, facets, date histogram and counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import Analysis, RiskScore
from core.store.port import MentionPatch, MentionQuery
from tests.contract.conftest import NOW, make_mention, refresh

PERSIAN = [
    ("fa1", "خرید از دیجی‌کالا خیلی بد بود، کالا شکسته رسید"),
    ("fa2", "ديجي كالا جواب تیکت ۱۲۳ را نمی‌دهد"),  # Arabic yeh/kaf, Persian digits
    ("fa3", "دیجیکالا بهترین فروشگاه آنلاین است"),  # written together
    ("fa4", "اسنپ‌فود امروز دیر رسید"),
]
ENGLISH = [
    ("en1", "Acme bank froze my account, terrible support #acmefail"),
    ("en2", "Acme refunds are slow but the staff were kind"),
    ("en3", "Hiring: Acme bank jobs in Tehran, apply now"),
    ("en4", "@acme_support please answer my refund request"),
    ("en5", "Totally unrelated post about football"),
]


@pytest.fixture
def corpus(store):
    items = [make_mention(nid, text, hours_ago=i + 1) for i, (nid, text) in enumerate(PERSIAN + ENGLISH)]
    report = store.upsert_mentions(items)
    assert report.created == len(items)
    refresh(store)
    return {m.native_id: m.id for m in items}


def _ids(store, text: str, **kw) -> set[str]:
    page = store.search_mentions(MentionQuery(text=text, limit=100, **kw))
    return {m.native_id for m in page.items}


def test_persian_normalisation_finds_arabic_letters_zwnj_and_digits(store, corpus) -> None:
    assert _ids(store, "ديجي كالا") == {"fa1", "fa2"}  # Arabic letters find ZWNJ and Arabic spellings
    # A ZWNJ-joined word is a phrase of its parts, so it also finds the parts written together.
    assert _ids(store, "دیجی‌کالا") == {"fa1", "fa2", "fa3"}
    assert _ids(store, "دیجیکالا") == {"fa3"}
    assert _ids(store, '"دیجی کالا"') == {"fa1", "fa2", "fa3"}  # a phrase also finds the words written together
    assert _ids(store, "123") == {"fa2"}  # Persian digits are indexed as ASCII
    assert _ids(store, "۱۲۳") == {"fa2"}
    assert _ids(store, "اسنپ‌فود") == {"fa4"}


def test_boolean_operators(store, corpus) -> None:
    assert _ids(store, "acme") == {"en1", "en2", "en3", "en4"}
    assert _ids(store, "acme AND bank") == {"en1", "en3"}
    assert _ids(store, "acme bank") == {"en1", "en3"}  # adjacent terms mean AND
    assert _ids(store, "acme -jobs") == {"en1", "en2", "en4"}
    assert _ids(store, "acme AND NOT (jobs OR refund*)") == {"en1"}
    assert _ids(store, "football OR snappfood OR اسنپ‌فود") == {"en5", "fa4"}
    assert _ids(store, "refund*") == {"en2", "en4"}
    assert _ids(store, '"acme bank"') == {"en1", "en3"}


def test_hashtags_and_handles_match_exactly(store, corpus) -> None:
    assert _ids(store, "#acmefail") == {"en1"}
    assert _ids(store, "acmefail") == {"en1"}  # the bare word also matches the hashtag
    assert _ids(store, "@acme_support") == {"en4"}
    assert _ids(store, "#acme_support") == set()  # a handle is not a hashtag
    page = store.search_mentions(MentionQuery(text="#acmefail OR football", facets=["platform"], histogram="day"))
    assert page.total == 2 and {b.value: b.count for b in page.facets["platform"]} == {"forum": 2}
    assert sum(b.count for b in page.histogram) == 2
    assert store.count_mentions(MentionQuery(text="#acmefail OR football")) == 2


def test_only_not_query_works(store, corpus) -> None:
    assert _ids(store, "NOT acme") == {"fa1", "fa2", "fa3", "fa4", "en5"}
    assert _ids(store, "-#acmefail") == {"fa1", "fa2", "fa3", "fa4", "en2", "en3", "en4", "en5"}


def test_filters(store) -> None:
    a = make_mention("a", "Snapp driver cancelled twice", platform="mastodon", source="masto-fa",
                     handle="Mina_R", brands=("snapp",), hours_ago=2)
    b = make_mention("b", "اسنپ راننده را جریمه کرد", platform="telegram", source="tg-channel",
                     handle="ali", brands=("snapp", "tapsi"), hours_ago=30)
    c = make_mention("c", "Tapsi prices went up again", platform="forum", source="forum-x",
                     handle="reza", brands=("tapsi",), hours_ago=200)
    store.upsert_mentions([a, b, c])
    store.patch_mentions([
        MentionPatch(id=a.id, analysis=Analysis(lang="en", sentiment="negative", emotions={"anger": 0.9, "joy": 0.1}
                                                ).model_dump(mode="json"),
                     risk=RiskScore(score=81).model_dump(mode="json"), customer_id="C-7", thread_id="th-1"),
        MentionPatch(id=b.id, analysis=Analysis(lang="fa", sentiment="neutral", emotions={"anger": 0.1, "fear": 0.6}
                                                ).model_dump(mode="json"),
                     risk=RiskScore(score=20).model_dump(mode="json"), campaign_id="camp-9"),
    ])
    refresh(store)

    def ids(**kw) -> set[str]:
        return {m.native_id for m in store.search_mentions(MentionQuery(limit=100, **kw)).items}

    assert ids(brands=["snapp"]) == {"a", "b"}
    assert ids(brands=["tapsi"], platforms=["forum"]) == {"c"}
    assert ids(langs=["fa"]) == {"b"}
    assert ids(sentiments=["negative"]) == {"a"}
    assert ids(emotions=["fear"]) == {"b"}
    assert ids(sources=["masto-fa", "forum-x"]) == {"a", "c"}
    assert ids(authors=["mastodon:mina_r"]) == {"a"}
    assert ids(customer_id="C-7") == {"a"} and ids(thread_id="th-1") == {"a"} and ids(campaign_id="camp-9") == {"b"}
    assert ids(since=NOW - timedelta(days=7)) == {"a", "b"}
    assert ids(since=NOW - timedelta(days=7), until=NOW - timedelta(hours=10)) == {"b"}
    assert ids(min_risk=50) == {"a"}
    assert ids(text="tapsi OR اسنپ", since=NOW - timedelta(days=3)) == {"b"}


def test_sort_orders(store) -> None:
    ms = [make_mention(f"s{i}", f"Digikala order {i} is late", hours_ago=h) for i, h in enumerate([5, 1, 9, 3])]
    store.upsert_mentions(ms)
    store.patch_mentions([MentionPatch(id=ms[i].id, risk=RiskScore(score=s).model_dump(mode="json"))
                          for i, s in ((0, 10), (2, 90), (3, 50))])
    refresh(store)

    def order(sort: str) -> list[str]:
        return [m.native_id for m in store.search_mentions(MentionQuery(text="digikala", sort=sort)).items]

    assert order("newest") == ["s1", "s3", "s0", "s2"]
    assert order("oldest") == ["s2", "s0", "s3", "s1"]
    assert order("risk") == ["s2", "s3", "s0", "s1"]  # unscored last


@pytest.mark.parametrize("sort", ["newest", "oldest", "risk"])
def test_cursor_pages_have_no_misses_or_duplicates_while_items_arrive(store, sort) -> None:
    first = [make_mention(f"c{i}", f"پشتیبانی دیجی‌کالا پاسخ نداد شماره {i}", hours_ago=i * 0.5) for i in range(23)]
    store.upsert_mentions(first)
    store.patch_mentions([MentionPatch(id=m.id, risk=RiskScore(score=(i * 37) % 100).model_dump(mode="json"))
                          for i, m in enumerate(first)])
    refresh(store)
    seen: list[str] = []
    cursor = None
    for page_no in range(20):
        page = store.search_mentions(MentionQuery(text="دیجی‌کالا", sort=sort, limit=5, cursor=cursor))
        seen.extend(m.id for m in page.items)
        # New posts arrive between pages, older and newer than the ones already seen.
        store.upsert_mentions([make_mention(f"new{page_no}-{k}", "دیجی‌کالا باز هم دیر کرد", hours_ago=h)
                               for k, h in enumerate((0.1, 6.0))])
        refresh(store)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))  # no duplicates
    assert {m.id for m in first} <= set(seen)  # no misses of what existed at the start


def test_facets_histogram_and_count(store) -> None:
    rows = [("h1", 1, "negative", ("digikala",)), ("h2", 2, "negative", ("digikala", "snapp")),
            ("h3", 26, "positive", ("snapp",)), ("h4", 27, None, ("digikala",)), ("h5", 75, "negative", ("digikala",))]
    ms = [make_mention(n, f"Digikala and Snapp review {n}", hours_ago=h, brands=b,
                       platform="forum" if h < 20 else "mastodon") for n, h, _, b in rows]
    store.upsert_mentions(ms)
    store.patch_mentions([
        MentionPatch(id=m.id, analysis=Analysis(lang="en", sentiment=s, emotions={"anger": 0.5}).model_dump(mode="json"))
        for m, (_, _, s, _) in zip(ms, rows) if s])
    refresh(store)
    page = store.search_mentions(MentionQuery(text="review", facets=["brands", "platform", "sentiment"],
                                              histogram="day", limit=2))
    assert len(page.items) == 2 and page.total == 5
    assert {b.value: b.count for b in page.facets["brands"]} == {"digikala": 4, "snapp": 2}
    assert {b.value: b.count for b in page.facets["platform"]} == {"forum": 2, "mastodon": 3}
    assert {b.value: b.count for b in page.facets["sentiment"]} == {"negative": 3, "positive": 1}
    # NOW is 12:00; 1h and 2h ago fall on NOW's day, 26h/27h the day before, 75h three days before.
    day = NOW.replace(hour=0)
    buckets = {b.start: (b.count, b.negative) for b in page.histogram}
    assert buckets[day] == (2, 2)
    assert buckets[day - timedelta(days=1)] == (2, 0)
    assert buckets[day - timedelta(days=3)] == (1, 1)
    assert sum(c for c, _ in buckets.values()) == 5
    assert store.count_mentions(MentionQuery(text="review", brands=["snapp"])) == 2
    assert store.count_mentions(MentionQuery(text="review", since=NOW - timedelta(hours=30))) == 4


def test_hour_and_week_histograms(store) -> None:
    ms = [make_mention(f"w{i}", "Acme outage again", hours_ago=h) for i, h in enumerate([0.5, 0.7, 3.2, 24 * 8])]
    store.upsert_mentions(ms)
    refresh(store)
    hours = store.search_mentions(MentionQuery(text="outage", histogram="hour", since=NOW - timedelta(hours=5))).histogram
    by_hour = {b.start: b.count for b in hours}
    assert by_hour[NOW.replace(minute=0) - timedelta(hours=1)] == 2
    assert by_hour[NOW.replace(minute=0) - timedelta(hours=4)] == 1
    weeks = store.search_mentions(MentionQuery(text="outage", histogram="week")).histogram
    assert all(b.start.weekday() == 0 and b.start.hour == 0 for b in weeks)  # weeks start on Monday
    assert sum(b.count for b in weeks) == 4


TOKENISER_CASES = [
    ("ap1", "acme's support never answered my refund request"),
    ("ap2", "acme’s courier threw the parcel over the fence"),  # typographic apostrophe
    ("dom", "ordered a phone from digikala.com and it arrived broken"),
    ("neg", "I don't trust acme anymore"),
    ("zw1", "سفارشم از دیجی‌کالا هنوز نرسیده"),  # ZWNJ inside the brand name
    ("num", "paid 1,000 dollars for a 3.5 inch screen"),
]


def test_tokeniser_parity_on_apostrophes_domains_contractions_and_zwnj(store) -> None:
    """The standard tokenizer keeps ``acme's``/``digikala.com``/``don't`` whole; both backends
    must still find them by their parts, and the same ids."""
    items = [make_mention(nid, text, hours_ago=i + 1) for i, (nid, text) in enumerate(TOKENISER_CASES)]
    assert store.upsert_mentions(items).created == len(items)
    refresh(store)
    assert _ids(store, "acme") == {"ap1", "ap2", "neg"}
    assert _ids(store, "acme's") == {"ap1", "ap2"}
    assert _ids(store, "digikala") == {"dom"}
    assert _ids(store, "digikala.com") == {"dom"}
    assert _ids(store, "don't") == {"neg"}
    assert _ids(store, "دیجی‌کالا") == {"zw1"}
    assert _ids(store, "ديجي كالا") == {"zw1"}  # Arabic yeh/kaf, a space instead of ZWNJ
    assert _ids(store, "1,000") == {"num"} and _ids(store, "screen AND 3.5") == {"num"}


def test_a_prefix_over_more_than_fifty_distinct_words_finds_them_all(store) -> None:
    """``refund*`` must not stop at 50 expansions (``match_phrase_prefix``'s default)."""
    items = [make_mention(f"p{i:02d}", f"refund{i:02d} still not paid by acme", hours_ago=i + 1) for i in range(60)]
    items.append(make_mention("other", "refusal to answer", hours_ago=0.5))
    assert store.upsert_mentions(items).created == 61
    refresh(store)
    assert _ids(store, "refund*") == {f"p{i:02d}" for i in range(60)}
    assert _ids(store, "acme AND refund5*") == {f"p5{i}" for i in range(10)}
