"""Push ingest: a collector's mentions take the crawl's own path (clean, match, stable id, queue);
bad items are reported by index and the good ones kept; size and per-key rate limits."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from core.clock import SimulatedClock
from core.config import Settings
from core.domain import mention_id
from core.store import open_store
from crawlers.demo.config import ARIANET_QUERY, SEPEHR_QUERY
from crawlers.items import PostItem
from crawlers.normalize import PostNormalizer
from monitor_api.app import create_app
from monitor_api.security import create_api_key
from tests.monitor_api.seed import NOW

URL = "/v1/ingest/mentions"


def _iso(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({
        "data_dir": str(tmp_path), "store": {"backend": "sqlite", "sqlite_path": str(tmp_path / "bg.db")},
        "brands": [{"name": "Sepehr Mobile", "query": SEPEHR_QUERY}, {"name": "Arianet", "query": ARIANET_QUERY, "competitor": True}],
        "api": {"ingest": {"max_items": 5, "max_body_bytes": 8000, "max_text_chars": 500, "requests_per_minute": 3}},
    })


@pytest.fixture
def env(settings: Settings) -> Iterator[tuple[TestClient, Any, SimulatedClock, dict[str, str]]]:
    store = open_store(settings)
    clock = SimulatedClock(NOW, speed=0.0)
    _, key = create_api_key(store, "x-feed", ["ingest:write"])
    with TestClient(create_app(settings, store, clock=clock, dashboard=False)) as client:
        yield client, store, clock, {"Authorization": f"Bearer {key}"}
    store.close()


def _mention(native_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"platform": "x", "native_id": native_id, "text": text, "published_at": _iso(minutes=30),
            "url": f"https://x.com/mina_r/status/{native_id}", "author": {"handle": "@mina_r", "followers": 1200}, **extra}


def test_good_mentions_are_kept_and_bad_ones_reported_by_index(env) -> None:
    client, store, _, key = env
    body = {"source": "x-licensed", "mentions": [
        _mention("1861000000000000001", "@sepehrmobile broke my phone twice and support ignores me. RT so they answer!",
                 engagement={"likes": 8, "shares": 5, "replies": 1}),
        _mention("1861000000000000002", "سپهر موبایل گوشی مرا سه هفته نگه داشته و هیچ جوابی نمی‌دهد.", lang="fa"),
        _mention("1861000000000000003", "Lovely weather in Tehran today."),  # about no brand
        _mention("1861000000000000004", "Sepehr Mobile again", url="javascript:alert(1)", published_at="yesterday"),
        "not an object",
    ]}
    response = client.post(URL, json=body, headers=key)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["received"] == 5 and report["created"] == 2
    assert [(a["index"], a["brands"]) for a in report["accepted"]] == [(0, ["Sepehr Mobile"]), (1, ["Sepehr Mobile"])]
    rejected = {r["index"]: r for r in report["rejected"]}
    assert set(rejected) == {2, 3, 4}
    assert rejected[2]["errors"][0]["msg"].startswith("matches no configured brand")
    assert {e["loc"] for e in rejected[3]["errors"]} == {"url", "published_at"} and rejected[3]["native_id"] == "1861000000000000004"
    assert "only absolute http(s) URLs" in next(e["msg"] for e in rejected[3]["errors"] if e["loc"] == "url")
    assert rejected[4]["errors"] == [{"loc": "<item>", "msg": "a mention must be a JSON object"}]
    # Stored like a crawled post: stable id, handle without '@', source = the collector, queued for analysis.
    first = store.get_mention(mention_id("x", "1861000000000000001"))
    assert first.source == "x-licensed" and first.author.handle == "mina_r" and first.published_at == NOW - timedelta(minutes=30)
    assert (first.engagement.likes, first.engagement.shares) == (8, 5)
    persian = store.get_mention(report["accepted"][1]["id"])
    assert persian.text == "سپهر موبایل گوشی مرا سه هفته نگه داشته و هیچ جوابی نمی‌دهد." and persian.lang == "fa"
    assert store.queue_depth("analyze")["ready"] == 2


def test_a_pushed_post_has_the_crawled_posts_id_and_a_second_push_adds_an_engagement_point(env, settings) -> None:
    client, store, clock, key = env
    crawled = PostNormalizer(settings, NOW).to_mention(PostItem(
        source="reddit", platform="reddit", native_id="t3_1h2abc", text="Sepehr Mobile refused my warranty repair",
        published=NOW - timedelta(hours=2), page_url="https://oauth.reddit.com/r/iran/new.json", likes=152))
    store.upsert_mentions([crawled])
    pushed = {"platform": "reddit", "native_id": "t3_1h2abc", "text": "Sepehr Mobile refused my warranty repair",
              "published_at": _iso(hours=2), "engagement": {"likes": 480}}
    clock.advance(timedelta(minutes=20))
    report = client.post(URL, json={"mentions": [pushed]}, headers=key).json()
    assert report["accepted"][0]["id"] == crawled.id and (report["created"], report["updated"]) == (0, 1)
    assert [p.likes for p in store.get_mention(crawled.id).engagement_history] == [152, 480]
    twice = client.post(URL, json={"mentions": [pushed, {**pushed, "engagement": {"likes": 500}}]}, headers=key).json()
    assert [a["index"] for a in twice["accepted"]] == [1]  # the same post twice: the later copy is kept
    assert twice["rejected"][0]["index"] == 0 and "sent again at index 1" in twice["rejected"][0]["errors"][0]["msg"]


def test_named_brands_html_and_limits_per_item(env) -> None:
    client, store, _, key = env
    body = {"mentions": [
        _mention("a1", "<p>The app crashes <b>every</b> time.</p><script>alert(1)</script>", is_html=True, brands=["Arianet"],
                 rating=1, sentiment_hint="negative"),
        _mention("a2", "x" * 501, brands=["Sepehr Mobile"]),
        _mention("a3", "Sepehr Mobile", brands=["Sepehr"]),
        _mention("a4", "Sepehr Mobile", published_at=(NOW + timedelta(days=3)).isoformat()),
        _mention("a5", "Sepehr Mobile", unknown_field=1),
    ]}
    report = client.post(URL, json=body, headers=key).json()
    assert [a["index"] for a in report["accepted"]] == [0]
    stored = store.get_mention(report["accepted"][0]["id"])
    assert stored.text == "The app crashes every time." and stored.brands == ["Arianet"]
    assert (stored.rating, stored.sentiment_hint) == (1.0, "negative")
    errors = {r["index"]: r["errors"] for r in report["rejected"]}
    assert errors[1] == [{"loc": "text", "msg": "longer than 500 characters"}]
    assert errors[2] == [{"loc": "brands[0]", "msg": "no configured brand named 'Sepehr'"}]
    assert "is in the future" in errors[3][0]["msg"]
    assert errors[4][0]["loc"] == "unknown_field"


def test_half_an_emoji_from_a_sources_json_is_replaced_not_a_server_error(env) -> None:
    client, store, _, key = env
    # "\ud83d" without its pair (a source cut an emoji in half): json.loads keeps it, UTF-8 cannot hold it.
    body = json.dumps({"mentions": [
        _mention("h1", "Sepehr Mobile broke my phone CUT and support ignores me", author={"handle": "mina_r", "name": "Mina CUT"}),
        _mention("h2", "<p>اپلیکیشن سپهر موبایل باز هم CUT از کار افتاد</p>", is_html=True, lang="fa"),
    ]}).replace("CUT", "\\ud83d")
    response = client.post(URL, content=body, headers={**key, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 2 and report["rejected"] == [], report["rejected"]
    first, persian = (store.get_mention(a["id"]) for a in report["accepted"])
    assert first.text == "Sepehr Mobile broke my phone \ufffd and support ignores me" and first.author.name == "Mina \ufffd"
    assert persian.text == "اپلیکیشن سپهر موبایل باز هم \ufffd از کار افتاد"


def test_size_limits_refuse_the_request_and_nothing_is_stored(env) -> None:
    client, store, _, key = env
    too_many = client.post(URL, json={"mentions": [_mention(str(i), "Sepehr Mobile") for i in range(6)]}, headers=key)
    assert too_many.status_code == 422 and "body.mentions: 6 mentions in one request; at most 5" in too_many.json()["detail"]
    long_fa = "سپهر موبایل " + "ی" * 480  # each text within max_text_chars, the whole body not
    big = _mention("b", long_fa, title=long_fa, thread_context=long_fa)
    too_big = client.post(URL, json={"mentions": [big] * 4}, headers=key)
    assert too_big.status_code == 413 and "at most 8000" in too_big.json()["detail"]
    assert store.queue_depth("analyze")["ready"] == 0
    assert client.post(URL, json={"mentions": "not a list"}, headers=key).status_code == 422


def test_each_key_is_rate_limited_with_retry_after(env, settings) -> None:
    client, store, clock, key = env
    _, other = create_api_key(store, "instagram-feed", ["ingest:write"])
    body = {"mentions": [_mention("r1", "Sepehr Mobile support never answers")]}
    assert [client.post(URL, json=body, headers=key).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.post(URL, json=body, headers=key)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "20"
    assert "3 ingest requests per minute" in limited.json()["detail"]
    assert client.post(URL, json=body, headers={"Authorization": f"Bearer {other}"}).status_code == 200  # per key
    clock.advance(timedelta(seconds=20))
    assert client.post(URL, json=body, headers=key).status_code == 200


def test_the_scope_and_the_documented_shape(env, settings) -> None:
    client, store, _, _ = env
    _, reader = create_api_key(store, "analyst", ["mentions:read"])
    refused = client.post(URL, json={"mentions": []}, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403 and "ingest:write" in refused.json()["detail"]
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IngestRequest"}
    schemas = spec["components"]["schemas"]
    items = schemas["IngestRequest"]["properties"]["mentions"]["items"]
    assert items["anyOf"][0] == {"$ref": "#/components/schemas/IngestMention"} and "reported in `rejected`" in items["description"]
    assert {"platform", "native_id", "text", "published_at"} <= set(schemas["IngestMention"]["required"])
    assert "IngestAuthor" in schemas and "429" in operation["responses"] and "IngestEnvelope" not in schemas
