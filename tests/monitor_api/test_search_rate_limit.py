"""Per-key search rate limit: a key that searches too often gets 429 with Retry-After;
another key is not affected (issue 12, item 2)."""

from __future__ import annotations

from typing import Any, Callable

from fastapi.testclient import TestClient

from core.config import Settings
from monitor_api.app import create_app
from monitor_api.ratelimit import SearchRateLimit


def test_a_key_that_searches_too_often_gets_429(settings: Settings, store: Any, story: Any,
                                                key_for: Callable[..., dict[str, str]]) -> None:
    limited = settings.model_copy(update={"api": settings.api.model_copy(update={"search_rate_per_minute": 5})})
    app = create_app(limited, store)
    noisy, quiet = key_for("mentions:read", name="noisy"), key_for("mentions:read", name="quiet")
    with TestClient(app) as client:
        codes = [client.get("/v1/mentions", params={"q": "sepehr"}, headers=noisy).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        refused = client.get("/v1/mentions", headers=noisy)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "5 searches a minute" in refused.json()["detail"]
        assert client.get("/v1/mentions", headers=quiet).status_code == 200  # buckets are per key
        assert client.get("/v1/alerts", headers=key_for("alerts:read")).status_code == 200  # only search is limited


def test_tokens_refill_over_the_minute() -> None:
    now = [0.0]
    limit = SearchRateLimit(60, now=lambda: now[0])
    assert all(limit.take("k") == 0 for _ in range(60))
    assert limit.take("k") > 0
    now[0] += 1.0  # one token a second at 60/minute
    assert limit.take("k") == 0 and limit.take("k") > 0
