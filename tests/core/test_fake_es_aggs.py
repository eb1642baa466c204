"""The fake Elasticsearch's aggregations are at least as strict as the real ones the
overview statistics use: ``terms`` with ``include``, sub-aggregations and ``order`` by a
single-value metric; ``max`` (dates as epoch ms); unknown aggregations and order paths are
400 errors, as on a real cluster."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.core.fake_es_query import EsError, Index, aggregate

MAPPINGS = {"properties": {"brands": {"type": "keyword"}, "published_at": {"type": "date"},
                           "bg": {"properties": {"risk": {"type": "float"}, "sentiment": {"type": "keyword"}}}}}
DOCS = [
    {"brands": ["سپهر موبایل", "Arianet"], "published_at": "2026-11-20T10:00:00Z", "bg": {"risk": 80, "sentiment": "negative"}},
    {"brands": ["سپهر موبایل"], "published_at": "2026-11-20T11:00:00Z", "bg": {"risk": 20, "sentiment": "positive"}},
    {"brands": ["Acme"], "published_at": "2026-11-19T09:00:00Z", "bg": {"risk": -1, "sentiment": "negative"}},
]


def test_terms_with_include_sub_aggregations_and_metric_order() -> None:
    ix = Index("m", MAPPINGS, {})
    aggs = {"b": {"terms": {"field": "brands", "size": 5, "include": ["سپهر موبایل", "Acme"],
                            "order": [{"risk": "desc"}, {"_key": "asc"}]},
                  "aggs": {"risk": {"max": {"field": "bg.risk"}}, "last": {"max": {"field": "published_at"}},
                           "negative": {"filter": {"term": {"bg.sentiment": "negative"}}}}}}
    buckets = aggregate(ix, DOCS, aggs)["b"]["buckets"]
    assert [(b["key"], b["doc_count"], b["risk"]["value"], b["negative"]["doc_count"]) for b in buckets] == [
        ("سپهر موبایل", 2, 80.0, 1), ("Acme", 1, -1.0, 1)]
    assert buckets[0]["last"]["value"] == datetime(2026, 11, 20, 11, tzinfo=timezone.utc).timestamp() * 1000


def test_unknown_aggregations_and_order_paths_are_refused() -> None:
    ix = Index("m", MAPPINGS, {})
    with pytest.raises(EsError) as unknown:
        aggregate(ix, DOCS, {"x": {"percentiles": {"field": "bg.risk"}}})
    assert unknown.value.status == 400
    with pytest.raises(EsError):
        aggregate(ix, DOCS, {"b": {"terms": {"field": "brands", "order": {"nope": "desc"}}}})
    with pytest.raises(EsError):
        aggregate(ix, DOCS, {"b": {"terms": {"field": "brands", "include": "سپهر.*"}}})
