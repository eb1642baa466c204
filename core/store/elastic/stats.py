"""Overview statistics on Elasticsearch (``core.store.stats_port.StatsStore``), each one
search with ``size: 0`` and aggregations over the mentions alias:

- volume: a ``date_histogram`` (UTC calendar buckets) overall and under a ``terms`` on
  ``brands`` (restricted to the filter's brands with ``include``), each bucket with a
  ``filter`` sub-aggregation counting the negative mentions;
- mix: ``terms`` on ``platform``, ``bg.lang`` and ``source``;
- threads: ``terms`` on ``thread_id`` over negative mentions, ordered by count, then a
  ``max`` of ``bg.risk``, then a ``max`` of ``published_at``;
- authors: ``terms`` on ``bg.author`` over mentions with ``author.followers``, ordered by a
  ``max`` of it (reach), then count.

One primary shard per index (see ``indices``) keeps ``terms`` counts exact.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from core.store.elastic.search import INTERVALS, build_filters
from core.store.port import MentionQuery
from core.store.stats_port import (
    MIX_SIZE,
    AuthorReach,
    Interval,
    MixStats,
    StatsFilter,
    ThreadCount,
    VolumeStats,
    bucket_floor,
    bucket_starts,
    filled_series,
    ranked_brands,
    ranked_mix,
)

NEGATIVE = {"term": {"bg.sentiment": "negative"}}
MAX_BRANDS = 1000


def _query(flt: StatsFilter, *extra: dict[str, Any]) -> dict[str, Any]:
    q = MentionQuery(brands=flt.brands, langs=flt.langs, platforms=flt.platforms, sources=flt.sources,
                     since=flt.since, until=flt.until)
    return {"bool": {"filter": [*build_filters(q), *extra]}}


def _ms(value: float | None) -> datetime:
    return datetime.fromtimestamp((value or 0) / 1000, tz=timezone.utc)


def _histogram(interval: Interval) -> dict[str, Any]:
    return {"date_histogram": {"field": "published_at", "calendar_interval": INTERVALS[interval], "min_doc_count": 1},
            "aggs": {"negative": {"filter": NEGATIVE}}}


def _counts(buckets: list[dict[str, Any]], interval: Interval) -> dict[datetime, tuple[int, int]]:
    return {bucket_floor(_ms(b["key"]), interval): (int(b["doc_count"]), int(b["negative"]["doc_count"]))
            for b in buckets}


def _terms(field: str, size: int, order: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"field": field, "size": size, "order": order or [{"_count": "desc"}, {"_key": "asc"}], **extra}


class StatsMixin:
    """``mention_volume``, ``mention_mix``, ``negative_thread_counts``, ``author_reach``."""

    def _aggregate(self, query: dict[str, Any], aggs: dict[str, Any]) -> dict[str, Any]:
        resp = self._es.search(index=self._names.alias("mentions"), query=query, aggs=aggs, size=0,
                               track_total_hits=True).body
        return {"total": int(resp["hits"]["total"]["value"]), **resp.get("aggregations", {})}

    def mention_volume(self, flt: StatsFilter, interval: Interval) -> VolumeStats:
        """Counts per bucket, overall and per brand (see the port)."""
        starts = bucket_starts(flt, interval)
        brand_terms = _terms("brands", MAX_BRANDS, **({"include": list(flt.brands)} if flt.brands else {}))
        aggs = {"overall": _histogram(interval),
                "brands": {"terms": brand_terms, "aggs": {"histogram": _histogram(interval)}}}
        res = self._aggregate(_query(flt), aggs)
        overall = filled_series(None, starts, _counts(res["overall"]["buckets"], interval))
        brands = [filled_series(str(b["key"]), starts, _counts(b["histogram"]["buckets"], interval))
                  for b in res["brands"]["buckets"]]
        return VolumeStats(interval=interval, overall=overall, brands=ranked_brands(brands))

    def mention_mix(self, flt: StatsFilter) -> MixStats:
        """Counts per platform, language and source (see the port)."""
        sub = {"negative": {"filter": NEGATIVE}}
        aggs = {"negative": {"filter": NEGATIVE},
                **{name: {"terms": _terms(field, MIX_SIZE), "aggs": sub}
                   for name, field in (("platforms", "platform"), ("langs", "bg.lang"), ("sources", "source"))}}
        res = self._aggregate(_query(flt), aggs)

        def mix(name: str) -> Any:
            return ranked_mix({str(b["key"]): (int(b["doc_count"]), int(b["negative"]["doc_count"]))
                               for b in res[name]["buckets"]})

        return MixStats(count=res["total"], negative=int(res["negative"]["doc_count"]), platforms=mix("platforms"),
                        langs=mix("langs"), sources=mix("sources"))

    def negative_thread_counts(self, flt: StatsFilter, limit: int) -> list[ThreadCount]:
        """Threads with the most negative mentions in the range (see the port)."""
        order = [{"_count": "desc"}, {"risk": "desc"}, {"last": "desc"}, {"_key": "asc"}]
        aggs = {"threads": {"terms": _terms("thread_id", limit, order),
                            "aggs": {"risk": {"max": {"field": "bg.risk"}}, "last": {"max": {"field": "published_at"}}}}}
        res = self._aggregate(_query(flt, NEGATIVE, {"exists": {"field": "thread_id"}}), aggs)
        out = []
        for b in res["threads"]["buckets"]:
            risk = b["risk"]["value"]
            out.append(ThreadCount(thread_id=str(b["key"]), negative=int(b["doc_count"]),
                                   max_risk=risk if risk is not None and risk >= 0 else None,
                                   last_at=_ms(b["last"]["value"])))
        return out

    def author_reach(self, flt: StatsFilter, limit: int) -> list[AuthorReach]:
        """Authors by reach (see the port)."""
        order = [{"reach": "desc"}, {"_count": "desc"}, {"_key": "asc"}]
        aggs = {"authors": {"terms": _terms("bg.author", limit, order), "aggs": {
            "reach": {"max": {"field": "author.followers"}}, "negative": {"filter": NEGATIVE},
            "last": {"max": {"field": "published_at"}}}}}
        res = self._aggregate(_query(flt, {"exists": {"field": "author.followers"}}), aggs)
        return [AuthorReach(author_key=str(b["key"]), reach=int(b["reach"]["value"]), mentions=int(b["doc_count"]),
                            negative=int(b["negative"]["doc_count"]), last_at=_ms(b["last"]["value"]))
                for b in res["authors"]["buckets"]]
