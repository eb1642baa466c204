"""``_search`` of the fake Elasticsearch: sort, ``search_after``, totals, aggregations, limits.

As on a real cluster: ``from + size`` above ``index.max_result_window`` (10,000) is a 400;
``hits.total`` honours ``track_total_hits`` (default: exact up to 10,000, then ``gte``);
aggregations and totals cover **every** match, while ``search_after``/``from``/``size`` only
cut the page of hits; sorting needs a mapped, non-text field.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.core.fake_es_errors import EsError
from tests.core.fake_es_query import Index, aggregate, check_sort, sort_key

MAX_RESULT_WINDOW = 10_000
DEFAULT_TRACK_TOTAL_HITS = 10_000


def _cmp_key(values: list[Any], sort: list[dict[str, Any]]) -> tuple[Any, ...]:
    parts = []
    for value, spec in zip(values, sort):
        order = next(iter(spec.values()))
        desc = (order.get("order") if isinstance(order, dict) else order) == "desc"
        if value is None:
            parts.append((1, 0))
        elif isinstance(value, bool):
            parts.append((0, -int(value) if desc else int(value)))
        elif isinstance(value, str):
            parts.append((0, tuple(-ord(c) for c in value) + (1,) if desc else value))
        else:
            parts.append((0, -value if desc else value))
    return tuple(parts)


def run_search(fake: Any, indices: list[Index], body: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    size = int(body.get("size", params.get("size", 10)))
    start = int(body.get("from", params.get("from", 0)))
    if start + size > MAX_RESULT_WINDOW:
        raise EsError(400, "search_phase_execution_exception", "all shards failed", caused_by={
            "type": "illegal_argument_exception",
            "reason": f"Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}]"
                      f" but was [{start + size}]. See the scroll api for a more efficient way to request large data"
                      " sets. This limit can be set by changing the [index.max_result_window] index level setting."})
    sort = body.get("sort", [])
    for ix in indices:
        check_sort(ix, sort)
    if body.get("search_after") is not None and not sort:
        raise EsError(400, "illegal_argument_exception", "Sort must contain at least one field.")
    found = fake.matching(indices, body.get("query"))
    rows = [(sort_key(ix, doc["src"], sort), ix, doc_id, doc) for ix, doc_id, doc in found]
    rows.sort(key=lambda r: _cmp_key(r[0], sort))
    matched = len(rows)
    page = rows
    if body.get("search_after") is not None:
        marker = _cmp_key(body["search_after"], sort)
        page = [r for r in rows if _cmp_key(r[0], sort) > marker]
    hits = []
    for key, ix, doc_id, doc in page[start:start + size]:
        hit = {"_index": ix.name, "_id": doc_id, "_score": None, "_source": _source(doc["src"], body.get("_source"))}
        if sort:
            hit["sort"] = key
        if body.get("seq_no_primary_term"):
            hit.update(_seq_no=doc["seq"], _primary_term=1)
        hits.append(hit)
    resp: dict[str, Any] = {"took": 1, "timed_out": False,
                            "_shards": {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0},
                            "hits": {"max_score": None, "hits": hits}}
    track = body.get("track_total_hits", DEFAULT_TRACK_TOTAL_HITS)
    if track is True:
        resp["hits"]["total"] = {"value": matched, "relation": "eq"}
    elif track is not False:
        limit = int(track)
        resp["hits"]["total"] = {"value": min(matched, limit), "relation": "eq" if matched <= limit else "gte"}
    if body.get("aggs") or body.get("aggregations"):
        resp["aggregations"] = aggregate(indices[0], [d["src"] for _, _, _, d in rows],
                                         body.get("aggs") or body["aggregations"])
    return resp


def _source(src: dict[str, Any], spec: Any) -> dict[str, Any]:
    if spec is None or spec is True:
        return copy.deepcopy(src)
    if spec is False:
        return {}
    fields = spec if isinstance(spec, list) else [spec]
    return {k: copy.deepcopy(v) for k, v in src.items() if k in fields}
