"""The overview statistics API (/v1/stats/...) and the CSV export: numbers from the demo
story and a Persian brand's mentions, scopes, bounds (bad input is a problem document,
never a 500), and spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.domain import Author, Mention, mention_id
from monitor_api.problems import MEDIA_TYPE
from tests.monitor_api.seed import NOW, PERSIAN_BRAND, PERSIAN_COMPLAINT, PERSIAN_TAG, seed_persian_brand

STATS_ROUTES = ("/v1/stats/overview", "/v1/stats/volume", "/v1/stats/mix", "/v1/stats/threads", "/v1/stats/authors",
                "/v1/stats/terms")


@pytest.fixture
def reader(key_for: Any) -> dict[str, str]:
    return key_for("mentions:read", name="analyst")


@pytest.fixture
def persian(store: Any) -> list[str]:
    return seed_persian_brand(store)


def test_overview_of_the_story(client: TestClient, story: Any, reader: Any) -> None:
    body = client.get("/v1/stats/overview", params={"range": "24h"}, headers=reader).json()
    assert body["interval"] == "hour"
    assert (body["volume"]["overall"]["count"], body["volume"]["overall"]["negative"]) == (9, 7)
    brands = {s["brand"]: (s["count"], s["negative"]) for s in body["volume"]["brands"]}
    assert brands == {"Sepehr Mobile": (9, 7), "Arianet": (1, 1)}  # the competitor Mina turns to
    assert {b["value"]: b["count"] for b in body["mix"]["platforms"]} == {"mastodon": 7, "forum": 2}
    assert {b["value"]: b["count"] for b in body["mix"]["langs"]} == {"en": 7, "fa": 2}
    term = next(t for t in body["terms"] if t["label"] == "#sepehrfail")
    assert (term["authors"], term["negative"], term["baseline"]) == (6, 6, 0)
    top = body["threads"][0]
    assert top["thread_id"] == "mastodon:1001" and top["negative"] == 1
    assert top["shares_per_hour"] == pytest.approx((500 - 5) / 0.75)  # 5 -> 500 shares over the last 45 minutes
    assert len(body["authors"]) == 9 and all(a["reach"] == 250 for a in body["authors"])


def test_persian_brand_volume_terms_threads_and_authors(client: TestClient, story: Any, persian: Any,
                                                        reader: Any) -> None:
    params = {"range": "24h", "brand": PERSIAN_BRAND}
    overview = client.get("/v1/stats/overview", params=params, headers=reader).json()
    assert overview["volume"]["overall"]["count"] == 4
    shares = {s["brand"]: (s["count"], s["share"]) for s in overview["share_of_voice"]}  # every brand, not only hers
    assert shares == {"Sepehr Mobile": (9, 64.29), PERSIAN_BRAND: (4, 28.57), "Arianet": (1, 7.14)}  # of 14
    volume = client.get("/v1/stats/volume", params=params, headers=reader).json()
    assert [(s["brand"], s["count"], s["negative"]) for s in volume["brands"]] == [(PERSIAN_BRAND, 4, 4)]
    terms = client.get("/v1/stats/terms", params=params, headers=reader).json()
    assert [(t["label"], t["authors"], t["brands"]) for t in terms] == [(PERSIAN_TAG, 4, [PERSIAN_BRAND])]
    threads = client.get("/v1/stats/threads", params={**params, "limit": 2}, headers=reader).json()
    assert len(threads) == 2 and threads[0]["title"] == PERSIAN_COMPLAINT
    authors = client.get("/v1/stats/authors", params=params, headers=reader).json()
    assert [(a["handle"], a["name"], a["reach"]) for a in authors][:2] == [("kharidar_3", "خریدار 3", 400),
                                                                          ("kharidar_2", "خریدار 2", 300)]
    mix = client.get("/v1/stats/mix", params={"range": "24h", "lang": "fa"}, headers=reader).json()
    assert (mix["count"], [b["value"] for b in mix["langs"]]) == (6, ["fa"])


def test_custom_range_and_interval(client: TestClient, story: Any, reader: Any) -> None:
    params = {"since": (NOW - timedelta(days=3)).isoformat(), "until": NOW.isoformat(), "interval": "day"}
    body = client.get("/v1/stats/volume", params=params, headers=reader).json()
    assert body["interval"] == "day" and len(body["overall"]["buckets"]) == 4  # 20th (from 10:00) to 23rd
    assert body["overall"]["buckets"][-1]["count"] == 9


def test_scopes(client: TestClient, key_for: Any) -> None:
    support = key_for("alerts:read", "alerts:write")
    for path in (*STATS_ROUTES, "/v1/exports/mentions.csv"):
        assert client.get(path).status_code == 401
        response = client.get(path, headers=support)
        assert response.status_code == 403 and "mentions:read" in response.json()["detail"]


@pytest.mark.parametrize("params, status, where", [
    ({"since": "2026-11-23T10:00:00Z", "until": "2026-11-22T10:00:00Z"}, 400, "before"),
    ({"since": "2020-01-01T00:00:00Z", "until": "2026-11-23T10:00:00Z"}, 400, "366 days"),
    ({"since": "2026-11-20T10:00:00"}, 422, "query.since"),  # no UTC offset
    ({"range": "1y"}, 422, "query.range"),
    ({"brand": [f"b{i}" for i in range(21)]}, 422, "query.brand"),
    ({"brand": "x" * 201}, 422, "query.brand"),
    ({"limit": 0}, 422, "query.limit"),
    ({"limit": 51}, 422, "query.limit"),
    ({"min_authors": 1}, 422, "query.min_authors"),
    ({"baseline_hours": 10_000}, 422, "query.baseline_hours"),
    ({"range": "30d", "interval": "hour", "since": "2026-01-01T00:00:00Z"}, 400, "buckets"),
    ({"until": "0001-01-02T00:00:00Z"}, 400, "between 1970 and 2999"),
    ({"since": "9999-12-31T00:00:00Z"}, 400, "between 1970 and 2999"),
])
def test_bad_input_is_a_problem_document(client: TestClient, reader: Any, params: Any, status: int,
                                         where: str) -> None:
    response = client.get("/v1/stats/overview", params=params, headers=reader)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert where in response.text


def test_stats_are_documented_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (*STATS_ROUTES, "/v1/exports/mentions.csv"):
        assert path in paths, path
    assert "range" in {p["name"] for p in paths["/v1/stats/overview"]["get"]["parameters"]}


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_export_is_safe_in_spreadsheets(client: TestClient, store: Any, persian: Any, reader: Any) -> None:
    hostile = Mention(
        id=mention_id("forum", "evil"), platform="forum", source="digikala-forum", native_id="evil",
        text='=HYPERLINK("http://evil.example","click") دیجی‌کالا', title="+1 great", lang="fa",
        author=Author(platform="forum", handle="evil", name="@admin"), published_at=NOW - timedelta(minutes=5),
        crawled_at=NOW, brands=[PERSIAN_BRAND], url="https://forum.example/evil",
    )
    assert store.upsert_mentions([hostile]).ok
    rows = _csv(client.get("/v1/exports/mentions.csv", params={"brand": PERSIAN_BRAND}, headers=reader))
    assert len(rows) == 5
    evil = next(r for r in rows if r["id"] == hostile.id)
    assert evil["text"].startswith("'=HYPERLINK(") and evil["title"] == "'+1 great" and evil["author_name"] == "'@admin"
    assert rows[1]["text"] == PERSIAN_COMPLAINT and rows[1]["author_name"].startswith("خریدار")
    assert all(not r[c].startswith(("=", "+", "-", "@")) for r in rows for c in r)


def test_csv_export_bounds_and_errors(client: TestClient, story: Any, reader: Any) -> None:
    rows = _csv(client.get("/v1/exports/mentions.csv", params={"max_rows": 3, "sort": "oldest"}, headers=reader))
    assert len(rows) == 3
    assert rows[0]["published_at"] <= rows[1]["published_at"] <= rows[2]["published_at"]
    everything = _csv(client.get("/v1/exports/mentions.csv", params={"q": '"سپهر موبایل"'}, headers=reader))
    assert {r["lang"] for r in everything} == {"fa"} and len(everything) == 2
    bad = client.get("/v1/exports/mentions.csv", params={"q": "(unclosed"}, headers=reader)
    assert bad.status_code == 400 and "position" in bad.json()["detail"]
    assert client.get("/v1/exports/mentions.csv", params={"max_rows": 100_001}, headers=reader).status_code == 422
