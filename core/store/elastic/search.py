"""Mention search: the brand query language compiled to an Elasticsearch bool query,
filters, sorts with ``search_after`` cursors, facets and a date histogram.

Compilation (``compile_query``) of a ``core.query`` AST, against ``bg.body`` (the
mention's title + text in ``normalize_for_match`` form, analysed with ``bg_persian``):

- ``Term``     -> ``match`` (operator ``and``); a prefix term -> ``match_bool_prefix`` (its last
                  word is a ``prefix`` query: every matching term, not ``match_phrase_prefix``'s
                  first 50 expansions, which miss on a big index)
- ``Phrase``   -> ``match_phrase`` OR ``match`` of the words written together
                  (``"دیجی کالا"`` also finds ``دیجیکالا``, as ``core.query.matches`` does)
- ``Hashtag``/``Handle`` -> ``term`` on the ``bg.hashtags``/``bg.handles`` keyword fields
- ``And``/``Or``/``Not`` -> ``bool`` ``must`` (+ ``must_not``) / ``should`` / ``must_not``

The parser's depth limit (``core.query.MAX_DEPTH``) keeps the compiled bool query well
under Elasticsearch's 30-level limit. A search with ``budget_s`` is sent with ``timeout``;
a response that says ``timed_out`` (partial results) becomes :class:`SearchTooCostly`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from core.query import And, Handle, Hashtag, Node, Not, Or, Phrase, Term, parse_query
from core.store.elastic.client import decode_cursor, encode_cursor, iso
from core.store.elastic.mentions import mention_from_source
from core.store.port import FacetBucket, HistogramBucket, MentionQuery, SearchPage, SearchTooCostly

BODY = "bg.body"
FACET_FIELDS = {
    "brands": "brands", "lang": "bg.lang", "sentiment": "bg.sentiment", "emotion": "bg.emotion",
    "platform": "platform", "source": "source", "author": "bg.author", "customer_id": "customer_id",
}
FACET_SIZE = 20
SORTS: dict[str, list[dict[str, Any]]] = {
    "newest": [{"published_at": "desc"}, {"id": "desc"}],
    "oldest": [{"published_at": "asc"}, {"id": "asc"}],
    "risk": [{"bg.risk": "desc"}, {"published_at": "desc"}, {"id": "desc"}],
}
CURSOR_SHAPES = {"newest": ("int", "str"), "oldest": ("int", "str"), "risk": ("num?", "int", "str")}
INTERVALS = {"hour": "1h", "day": "1d", "week": "1w"}
TOTAL_LIMIT = 10_000  # exact totals up to here; beyond, ``total`` is None


def compile_node(node: Node) -> dict[str, Any]:
    """One query-language node as an Elasticsearch query clause."""
    if isinstance(node, Term):
        if node.prefix:
            return {"match_bool_prefix": {BODY: {"query": node.text, "operator": "and"}}}
        return {"match": {BODY: {"query": node.text, "operator": "and"}}}
    if isinstance(node, Phrase):
        return {"bool": {"should": [
            {"match_phrase": {BODY: {"query": " ".join(node.words)}}},
            {"match": {BODY: {"query": "".join(node.words), "operator": "and"}}},
        ], "minimum_should_match": 1}}
    if isinstance(node, Hashtag):
        return {"term": {"bg.hashtags": node.tag}}
    if isinstance(node, Handle):
        return {"term": {"bg.handles": node.handle}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [compile_node(node.child)]}}
    if isinstance(node, And):
        must = [compile_node(c) for c in node.children if not isinstance(c, Not)]
        must_not = [compile_node(c.child) for c in node.children if isinstance(c, Not)]
        clause: dict[str, Any] = {"must": must} if must else {"must": [{"match_all": {}}]}
        if must_not:
            clause["must_not"] = must_not
        return {"bool": clause}
    if isinstance(node, Or):
        return {"bool": {"should": [compile_node(c) for c in node.children], "minimum_should_match": 1}}
    raise TypeError(f"unknown query node {node!r}")


def compile_query(text: str) -> dict[str, Any]:
    """The brand query ``text`` (raises ``core.query.QueryError``) as a query clause."""
    return compile_node(parse_query(text))


def build_filters(q: MentionQuery) -> list[dict[str, Any]]:
    """The non-scoring filter clauses of a search."""
    filters: list[dict[str, Any]] = []
    for field, values in (("brands", q.brands), ("bg.lang", q.langs), ("bg.sentiment", q.sentiments),
                          ("bg.emotion", q.emotions), ("platform", q.platforms), ("source", q.sources),
                          ("bg.author", q.authors)):
        if values:
            filters.append({"terms": {field: list(values)}})
    for field, value in (("customer_id", q.customer_id), ("thread_id", q.thread_id), ("campaign_id", q.campaign_id)):
        if value is not None:
            filters.append({"term": {field: value}})
    published: dict[str, str] = {}
    if q.since is not None:
        published["gte"] = iso(q.since)
    if q.until is not None:
        published["lt"] = iso(q.until)
    if published:
        filters.append({"range": {"published_at": published}})
    if q.min_risk is not None:
        filters.append({"range": {"bg.risk": {"gte": q.min_risk}}})
    return filters


def build_query(q: MentionQuery) -> dict[str, Any]:
    """The whole ``query`` clause: the text as ``must``, the rest as ``filter``."""
    clause: dict[str, Any] = {"filter": build_filters(q)}
    if q.text and q.text.strip():
        clause["must"] = [compile_query(q.text)]
    return {"bool": clause}


def build_aggs(q: MentionQuery) -> dict[str, Any]:
    """Terms aggregations per facet and the date histogram with its negative count."""
    aggs: dict[str, Any] = {}
    for name in dict.fromkeys(q.facets):
        aggs[f"facet_{name}"] = {"terms": {"field": FACET_FIELDS[name], "size": FACET_SIZE,
                                           "order": [{"_count": "desc"}, {"_key": "asc"}]}}
    if q.histogram:
        aggs["histogram"] = {
            "date_histogram": {"field": "published_at", "calendar_interval": INTERVALS[q.histogram],
                               "min_doc_count": 1},
            "aggs": {"negative": {"filter": {"term": {"bg.sentiment": "negative"}}}},
        }
    return aggs


def build_search_body(q: MentionQuery) -> dict[str, Any]:
    """Keyword arguments of the ``search`` call for ``q`` (one extra hit tells if more)."""
    body: dict[str, Any] = {
        "query": build_query(q), "sort": SORTS[q.sort], "size": q.limit + 1,
        "track_total_hits": TOTAL_LIMIT,
    }
    if q.cursor:
        body["search_after"] = decode_cursor(f"mentions:{q.sort}", q.cursor, CURSOR_SHAPES[q.sort])
    if q.budget_s:
        body["timeout"] = f"{max(1, int(q.budget_s * 1000))}ms"
    aggs = build_aggs(q)
    if aggs:
        body["aggs"] = aggs
    return body


def _facets(aggs: dict[str, Any], q: MentionQuery) -> dict[str, list[FacetBucket]]:
    out: dict[str, list[FacetBucket]] = {}
    for name in dict.fromkeys(q.facets):
        buckets = aggs.get(f"facet_{name}", {}).get("buckets", [])
        out[name] = [FacetBucket(value=str(b.get("key_as_string", b["key"])), count=int(b["doc_count"]))
                     for b in buckets]
    return out


def _histogram(aggs: dict[str, Any]) -> list[HistogramBucket]:
    return [
        HistogramBucket(start=datetime.fromtimestamp(b["key"] / 1000, tz=timezone.utc), count=int(b["doc_count"]),
                        negative=int(b.get("negative", {}).get("doc_count", 0)))
        for b in aggs.get("histogram", {}).get("buckets", [])
        if b["doc_count"]
    ]


class SearchMixin:
    """``search_mentions`` and ``count_mentions``."""

    def search_mentions(self, query: MentionQuery) -> SearchPage:
        """One page of matches, newest/oldest/riskiest first, with facets and histogram."""
        body = build_search_body(query)
        resp = self._es.search(index=self._names.alias("mentions"), **body).body
        stopped = False
        if resp.get("timed_out") and "aggs" in body:  # past the budget with aggregations: the page alone
            stopped = True
            body.pop("aggs")
            resp = self._es.search(index=self._names.alias("mentions"), **body).body
        if resp.get("timed_out"):  # Elasticsearch returns what it found so far; partial pages would mislead
            raise SearchTooCostly(f"the search ran longer than its budget of {query.budget_s:g} s and was stopped;"
                                  " narrow it with a date range, a brand or a word every match must contain")
        hits = resp["hits"]["hits"]
        more = len(hits) > query.limit
        hits = hits[: query.limit]
        next_cursor = encode_cursor(f"mentions:{query.sort}", hits[-1]["sort"]) if more and hits else None
        total_info = resp["hits"].get("total") or {}
        total = int(total_info["value"]) if total_info.get("relation") == "eq" else None
        aggs = resp.get("aggregations", {})
        return SearchPage(
            items=[mention_from_source(h["_source"]) for h in hits], next_cursor=next_cursor,
            total=None if stopped else total, facets={} if stopped else _facets(aggs, query),
            histogram=_histogram(aggs), aggregations_stopped=stopped,
        )

    def count_mentions(self, query: MentionQuery) -> int:
        """How many mentions match (exact)."""
        return int(self._es.count(index=self._names.alias("mentions"), query=build_query(query)).body["count"])
