"""The overview page (/ui/, the analysts' landing page) without a browser: sign-in lands
there, numbers match the API, Persian labels are laid out right-to-left and hostile text is
escaped, no inline script or handler, chart downloads, CSV of a dashboard search, bad input
answered on the page (never a 500)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.domain import Analysis, Author, Mention, mention_id
from monitor_api.security import SESSION_COOKIE, create_api_key
from tests.monitor_api.seed import NOW, PERSIAN_BRAND, PERSIAN_TAG, seed_persian_brand

HOSTILE_BRAND = '<script>alert("x")</script>'


@pytest.fixture(autouse=True)
def same_origin(client: TestClient) -> None:
    client.headers["Origin"] = "http://testserver"  # what a browser sends with our own forms


def sign_in(client: TestClient, store: Any, name: str, scopes: list[str]) -> Any:
    """Sign in through the login form (a server-side session); returns the login response."""
    _, key = create_api_key(store, name, scopes)
    response = client.post("/ui/login", data={"key": key}, follow_redirects=False)
    assert SESSION_COOKIE in client.cookies
    return response


@pytest.fixture
def analyst(client: TestClient, store: Any) -> TestClient:
    sign_in(client, store, "nasrin", ["mentions:read", "alerts:read"])
    return client


@pytest.fixture
def persian(store: Any) -> list[str]:
    return seed_persian_brand(store)


def test_sign_in_lands_on_the_overview(client: TestClient, store: Any) -> None:
    response = sign_in(client, store, "nasrin", ["mentions:read"])
    assert (response.status_code, response.headers["location"]) == (303, "/ui/")
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    client.cookies.clear()
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"


def test_a_support_key_goes_on_to_its_inbox(client: TestClient, store: Any) -> None:
    sign_in(client, store, "sara", ["alerts:read"])
    response = client.get("/ui/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/ui/alerts")


def test_numbers_match_the_api(analyst: TestClient, story: Any, persian: Any, key_for: Any) -> None:
    html = analyst.get("/ui/", params={"range": "24h"}).text
    api = analyst.get("/v1/stats/overview", params={"range": "24h"}, headers=key_for("mentions:read")).json()
    assert f'id="kpi-mentions" data-value="{api["volume"]["overall"]["count"]}"' in html
    bars = re.findall(r'class="sov-bar" data-brand="([^"]*)" data-count="(\d+)" data-negative="(\d+)"', html)
    assert [(b, int(n), int(neg)) for b, n, neg in bars] == \
        [(s["brand"], s["count"], s["negative"]) for s in api["share_of_voice"]]
    assert [b for b, _, _ in bars] == ["Sepehr Mobile", PERSIAN_BRAND, "Arianet"]
    threads = re.findall(r'<tr data-thread-id="([^"]+)"', html)
    assert threads == [t["thread_id"] for t in api["threads"]]


def test_persian_brand_is_right_to_left_and_links_into_search(analyst: TestClient, persian: Any) -> None:
    html = analyst.get("/ui/", params={"range": "24h", "brand": PERSIAN_BRAND}).text
    label = re.search(rf'<text [^>]*direction="rtl"[^>]*text-anchor="start"[^>]*>{PERSIAN_BRAND}</text>', html)
    assert label, "the Persian brand label should be laid out right-to-left"
    assert f'data-term="{PERSIAN_TAG}"' in html
    link = re.search(r'<a href="(/ui/mentions\?[^"]+)" dir="auto" class="term">', html).group(1)
    page = analyst.get(link.replace("&amp;", "&")).text
    assert page.count('class="mention"') == 4
    author = analyst.get("/ui/mentions", params={"author": "forum:kharidar_2"}).text
    assert author.count('class="mention"') == 1 and "خریدار 2" in author


def test_hostile_text_is_escaped_and_there_is_no_inline_script(analyst: TestClient, store: Any) -> None:
    evil = Mention(id=mention_id("forum", "evil"), platform="forum", source="x", native_id="evil",
                   text="#<img src=x onerror=alert(1)> bad", author=Author(platform="forum", handle="e", followers=5),
                   published_at=NOW - timedelta(hours=1), crawled_at=NOW, brands=[HOSTILE_BRAND],
                   url="javascript:alert(1)", thread_id="forum:evil",
                   analysis=Analysis(lang="en", sentiment="negative"))
    assert store.upsert_mentions([evil]).ok
    html = analyst.get("/ui/", params={"range": "24h"}).text
    assert HOSTILE_BRAND not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html  # only http(s) links to sources
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="/ui/static/' in s for s in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html.replace("onerror=alert(1)", ""))
    assert " style=" not in html


def test_partial_refresh_and_bad_input(analyst: TestClient, story: Any) -> None:
    fragment = analyst.get("/ui/", params={"range": "7d", "partial": "1"}).text
    assert "<html" not in fragment and 'id="kpi-mentions"' in fragment
    for params, message in (({"range": "custom", "since": "2026-11-23T10:00", "until": "2026-11-22T10:00"}, "before"),
                            ({"range": "custom", "since": "yesterday"}, "not a date"),
                            ({"range": "custom"}, "needs a start"), ({"range": "1y"}, "choose one of"),
                            ({"range": "custom", "since": "2020-01-01T00:00"}, "366 days")):
        response = analyst.get("/ui/", params=params)
        assert response.status_code == 400 and message in response.text, params
    custom = analyst.get("/ui/", params={"range": "custom", "since": "2026-11-23T08:00", "until": "2026-11-23T10:00"})
    assert custom.status_code == 200 and 'data-value="7"' in custom.text  # Mina's two posts + 5 copies
    assert analyst.get("/ui/", params={"brand": "x" * 201}).status_code == 422


def test_chart_downloads(analyst: TestClient, persian: Any) -> None:
    response = analyst.get("/ui/overview/chart/sov.svg", params={"range": "24h", "brand": PERSIAN_BRAND})
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.text.startswith("<?xml") and PERSIAN_BRAND in response.text and 'fill="#' in response.text
    inline = analyst.get("/ui/overview/chart/volume.svg", params={"range": "24h", "inline": "1"})
    assert inline.headers["content-disposition"] == "inline"
    assert analyst.get("/ui/overview/chart/nope.svg").status_code == 404
    assert analyst.get("/ui/overview/chart/sov.svg", params={"range": "custom"}).status_code == 400


def test_dashboard_search_exports_csv(analyst: TestClient, story: Any, store: Any) -> None:
    formula = Mention(id=mention_id("forum", "f1"), platform="forum", source="x", native_id="f1",
                      text="-2+3 سپهر موبایل", author=Author(platform="forum", handle="f", name="=cmd|' /C calc'!A0"),
                      published_at=NOW - timedelta(minutes=3), crawled_at=NOW, brands=["Sepehr Mobile"])
    assert store.upsert_mentions([formula]).ok
    page = analyst.get("/ui/mentions", params={"q": '"سپهر موبایل"'}).text
    export = re.search(r'<a href="(/ui/mentions/export\.csv\?[^"]+)" class="export-csv"', page).group(1)
    response = analyst.get(export.replace("&amp;", "&"))
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert rows[0]["text"] == "'-2+3 سپهر موبایل" and rows[0]["author_name"] == "'=cmd|' /C calc'!A0"
    bad = analyst.get("/ui/mentions/export.csv", params={"q": "(oops"})
    assert bad.status_code == 400 and "position" in bad.text
