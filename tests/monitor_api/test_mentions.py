"""Mention search through the API: query language, filters, facets, histogram, cursor pages;
one mention with engagement history and analysis; threads and campaigns with timelines."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def reader(key_for: Any) -> dict[str, str]:
    return key_for("mentions:read", name="analyst")


def test_query_language_finds_persian_and_english_mentions(client: TestClient, story: Any, reader: Any) -> None:
    page = client.get("/v1/mentions", params={"q": '"سپهر موبایل"'}, headers=reader).json()
    assert {m["id"] for m in page["items"]} == {story["mina_fa"], story["praise_fa"]}
    page = client.get("/v1/mentions", params={"q": '#sepehrfail AND NOT "ignores her"'}, headers=reader).json()
    assert [m["id"] for m in page["items"]] == [story["mina_en"]]


def test_filters_combine(client: TestClient, story: Any, reader: Any, key_for: Any) -> None:
    params = {"lang": "fa", "sentiment": "negative"}
    page = client.get("/v1/mentions", params=params, headers=reader).json()
    assert [m["id"] for m in page["items"]] == [story["mina_fa"]]
    # Filtering by customer needs risk:read as well (SECURITY.md: who may see customer links).
    crm = key_for("mentions:read", "risk:read", name="crm")
    page = client.get("/v1/mentions", params={"customer_id": "C-1042", "sort": "oldest"}, headers=crm).json()
    assert [m["id"] for m in page["items"]] == [story["mina_fa"], story["mina_en"]]
    page = client.get("/v1/mentions", params={"min_risk": 80}, headers=reader).json()
    assert {m["author"]["handle"] for m in page["items"]} == {"mina_r"}
    page = client.get("/v1/mentions", params={"author": "Mastodon:Reza_K"}, headers=reader).json()
    assert [m["id"] for m in page["items"]] == [story["praise_en"]]
    page = client.get("/v1/mentions", params={"since": "2026-11-23T09:00:00Z", "until": "2026-11-23T09:30:00Z",
                                               "platform": "mastodon"}, headers=reader).json()
    assert {m["author"]["handle"] for m in page["items"]} == {"mina_r", "angry_0", "angry_1", "angry_2", "angry_3", "angry_4"}


def test_cursor_pages_cover_every_match_once(client: TestClient, story: Any, reader: Any) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/mentions", params=params, headers=reader).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 9


def test_facets_and_histogram(client: TestClient, story: Any, reader: Any) -> None:
    page = client.get("/v1/mentions", params={"facets": ["lang", "sentiment"], "histogram": "hour"}, headers=reader).json()
    assert {b["value"]: b["count"] for b in page["facets"]["lang"]} == {"en": 7, "fa": 2}
    assert {b["value"]: b["count"] for b in page["facets"]["sentiment"]} == {"negative": 7, "positive": 2}
    assert sum(b["count"] for b in page["histogram"]) == 9
    assert sum(b["negative"] for b in page["histogram"]) == 7


def test_a_bad_cursor_is_a_400_problem(client: TestClient, reader: Any) -> None:
    response = client.get("/v1/mentions", params={"cursor": "not-a-cursor"}, headers=reader)
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_one_mention_has_engagement_history_analysis_and_risk(client: TestClient, story: Any, reader: Any) -> None:
    mention = client.get(f"/v1/mentions/{story['mina_en']}", headers=reader).json()
    assert [p["shares"] for p in mention["engagement_history"]] == [5, 40, 180, 500]
    assert mention["analysis"]["sentiment"] == "negative"
    assert mention["analysis"]["cues"][0]["evidence"] == "Boost this"
    assert mention["risk"]["score"] == 86
    assert client.get("/v1/mentions/nope", headers=reader).status_code == 404


def test_thread_and_campaign_timelines(client: TestClient, story: Any, reader: Any) -> None:
    thread = client.get("/v1/threads/mastodon:1001", headers=reader).json()
    assert [e["mention_id"] for e in thread["timeline"]] == [story["mina_en"]]
    campaign = client.get("/v1/campaigns/camp-sepehrfail", headers=reader).json()
    times = [e["at"] for e in campaign["timeline"]]
    assert times == sorted(times) and len(times) == 5
    assert campaign["campaign"]["hashtags"] == ["sepehrfail"]
    listed = client.get("/v1/campaigns", headers=reader).json()
    assert [c["id"] for c in listed] == ["camp-sepehrfail"]
    assert client.get("/v1/threads/none", headers=reader).status_code == 404
