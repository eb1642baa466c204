"""App Store customer reviews: Apple's per-app JSON feed, star rating → sentiment hint, the feed's quirks."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from crawlers.demo.config import SEPEHR_QUERY
from crawlers.runner import run_sources
from crawlers.sources import check_settings
from crawlers.spiders.appstore import stars_to_sentiment
from tests.crawlers.conftest import NOW, stored
from tests.crawlers.fixture_api import FixtureApi, Seen, serving, source_settings

APP = "1459021875"
CUPERTINO = timezone(timedelta(hours=-7))  # the feed writes times with Apple's offset, e.g. 2026-11-23T03:00:00-07:00


def _review(review_id: str, stars: int, title: str, content: str, author: str, *, hours: float, votes: int = 0) -> dict[str, Any]:
    """One entry as the customer reviews feed writes it (every value wrapped in ``label``)."""
    return {
        "author": {"uri": {"label": f"https://itunes.apple.com/us/reviews/id{abs(hash(author)) % 10**9}"},
                   "name": {"label": author}, "label": ""},
        "updated": {"label": (NOW - timedelta(hours=hours)).astimezone(CUPERTINO).isoformat(timespec="seconds")},
        "im:rating": {"label": str(stars)}, "im:version": {"label": "4.2.1"}, "id": {"label": review_id},
        "title": {"label": title}, "content": {"label": content, "attributes": {"type": "text"}},
        "link": {"attributes": {"rel": "related", "href": f"https://itunes.apple.com/us/review?id={APP}&type=Purple%20Software"}},
        "im:voteSum": {"label": str(votes)}, "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
        "im:voteCount": {"label": str(votes)},
    }


APP_ENTRY = {"im:name": {"label": "Sepehr Mobile Care"}, "id": {"label": f"https://apps.apple.com/us/app/id{APP}"},
             "im:artist": {"label": "Sepehr Mobile Co."}}


def _feed(entries: Any, country: str, page: int, last: int) -> dict[str, Any]:
    base = f"https://itunes.apple.com/{country}/rss/customerreviews"
    links = [{"attributes": {"rel": "alternate", "type": "text/html", "href": f"https://apps.apple.com/WebObjects/x?id={APP}"}},
             {"attributes": {"rel": "self", "href": f"{base}/page={page}/id={APP}/sortby=mostrecent/json"}},
             {"attributes": {"rel": "first", "href": f"{base}/page=1/id={APP}/sortby=mostrecent/xml"}},
             {"attributes": {"rel": "last", "href": f"{base}/page={last}/id={APP}/sortby=mostrecent/xml"}}]
    if page < last:
        links.append({"attributes": {"rel": "next", "href": f"{base}/page={page + 1}/id={APP}/sortby=mostrecent/xml"}})
    feed: dict[str, Any] = {"author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/us/itunes/"}},
                            "updated": {"label": "2026-11-23T04:00:00-07:00"}, "rights": {"label": "Copyright 2008 Apple Inc."},
                            "title": {"label": "iTunes Store: Customer Reviews"}, "icon": {"label": "http://itunes.apple.com/favicon.ico"},
                            "link": links, "id": {"label": f"{base}/page={page}/id={APP}/sortby=mostrecent/json"}}
    if entries is not None:
        feed["entry"] = entries
    return {"feed": feed}


def _store(request: Seen) -> tuple[int, Any, dict[str, str]]:
    """The feed for ``/<country>/rss/customerreviews/page=<n>/id=<app>/sortby=mostrecent/json``."""
    parts = request.path.strip("/").split("/")
    country, page, app = parts[0], int(parts[3].removeprefix("page=")), parts[4].removeprefix("id=")
    if app != APP or parts[5].lower() != "sortby=mostrecent" or parts[6] != "json":
        return 400, "Bad Request", {"Content-Type": "text/html"}
    if country == "de":  # one review only: Apple sends the entry object itself
        return 200, _feed(_review("11002", 1, "خیلی بد", "بعد از آخرین به‌روزرسانی برنامه باز نمی‌شود و پشتیبانی جواب نمی‌دهد.",
                                  "کاربر_ناراضی", hours=6), "de", 1, 1), {}
    if page == 1:
        return 200, _feed([
            APP_ENTRY,
            _review("11001", 1, "Crashes since the update", "The app crashes every time I open my warranty claim. Useless.",
                    "frustrated_dad", hours=2, votes=14),
            _review("11003", 5, "Great support", "Fixed my screen in two days, thank you!", "happy_customer", hours=4),
            _review("11004", 3, "Okay", "Works, but the Arianet app is faster.", "neutral_nick", hours=5),
            {"author": {"name": {"label": "x"}}, "im:rating": {"label": "9"}, "id": {"label": "bad"}},
        ], "us", 1, 2), {}
    if page == 2:
        return 200, _feed([_review("10990", 2, "Slow refunds", "Waited a month for my refund.", "patient_pat", hours=30)], "us", 2, 2), {}
    return 200, _feed(None, "us", page, 2), {}


@pytest.fixture
def itunes() -> Any:
    with serving({("GET", "/us/rss/customerreviews/"): _store, ("GET", "/de/rss/customerreviews/"): _store}) as api:
        yield api


def _settings(tmp_path: Path, api: FixtureApi, **options: Any) -> Settings:
    return source_settings(tmp_path, {
        "name": "ios", "kind": "appstore", "urls": [api.base_url],
        "options": {"apps": [APP], "countries": ["us", "de"], "brand": "Sepehr Mobile", **options},
    }, competitor=True)


def test_reviews_keep_stars_and_a_sentiment_hint_for_the_apps_brand(itunes, tmp_path) -> None:
    settings = _settings(tmp_path, itunes)
    summary = run_sources(settings, now=NOW, timeout=120)
    assert summary.sources[0].finished and summary.sources[0].malformed == 1  # the 9-star entry
    reviews = {m.native_id: m for m in stored(settings)}
    assert set(reviews) == {"11001", "11002", "11003", "11004", "10990"}  # page 2 followed; not the app's own entry
    crash = reviews["11001"]
    assert (crash.rating, crash.sentiment_hint, crash.engagement.likes) == (1.0, "negative", 14)
    assert crash.title == "Crashes since the update" and crash.brands == ["Sepehr Mobile"]  # no brand name in the text
    assert crash.published_at == NOW - timedelta(hours=2)
    assert crash.url == f"https://apps.apple.com/us/app/id{APP}?see-all=reviews" and crash.thread_id == f"appstore:{APP}"
    assert (reviews["11003"].sentiment_hint, reviews["11004"].sentiment_hint) == ("positive", "neutral")
    assert reviews["11004"].brands == ["Arianet", "Sepehr Mobile"]  # the text names the competitor too
    persian = reviews["11002"]
    assert persian.text == "بعد از آخرین به‌روزرسانی برنامه باز نمی‌شود و پشتیبانی جواب نمی‌دهد."
    assert persian.author.handle == "کاربر_ناراضی" and persian.sentiment_hint == "negative"


def test_a_rerun_stops_at_the_first_page_without_new_reviews(itunes, tmp_path) -> None:
    settings = _settings(tmp_path, itunes, countries=["us"])
    run_sources(settings, now=NOW, timeout=120)
    before = len(itunes.seen)
    run_sources(settings, now=NOW + timedelta(hours=1), timeout=120)
    assert [s.path.split("/")[4] for s in itunes.seen[before:]] == ["page=1"]


def test_config_check_names_bad_app_ids_countries_and_brands(tmp_path) -> None:
    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "brands": [{"name": "Sepehr Mobile", "query": SEPEHR_QUERY}],
        "sources": [{"name": "ios", "kind": "appstore", "options": {"apps": ["sepehr-app"], "countries": ["USA"], "brand": "Sepehr"}}],
    })
    problems = check_settings(settings)
    assert "sources[0] (ios).options.apps[0]: 'sepehr-app' is not an App Store app id (digits)" in problems
    assert any(p.startswith("sources[0] (ios).options.countries: must be a list of two-letter") for p in problems)
    assert "sources[0] (ios).options.brand: no brand named 'Sepehr' (known: Sepehr Mobile)" in problems


@pytest.mark.parametrize(("stars", "hint"), [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive")])
def test_stars_to_sentiment(stars: int, hint: str) -> None:
    assert stars_to_sentiment(stars) == hint
