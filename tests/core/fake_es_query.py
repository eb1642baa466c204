"""Query evaluation for the fake Elasticsearch server: the subset of the query DSL and
aggregations ``core.store.elastic`` sends, with an approximation of its analyzer.

Text fields are tokenised with ``normalize_for_match`` and split on non-word characters and
``_`` (what the ``bg_persian`` analyzer does in spirit); keyword/boolean/number fields compare
exactly; date fields compare as epoch milliseconds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from core.textnorm import normalize_for_match


class EsError(Exception):
    def __init__(self, status: int, etype: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.body = status, {"error": {"type": etype, "reason": reason}, "status": status}


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    body: Any


@dataclass
class Index:
    name: str
    mappings: dict[str, Any]
    settings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"src", "seq"}
    visible: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = -1

    def field_type(self, path: str) -> str | None:
        node: Any = self.mappings.get("properties", {})
        parts = path.split(".")
        for i, part in enumerate(parts):
            spec = node.get(part)
            if spec is None:
                return None
            if i == len(parts) - 1:
                return spec.get("type", "object")
            node = spec.get("properties", {})
        return None


def tokens(text: Any) -> list[str]:
    """The fake's stand-in for the ``bg_persian`` analyzer."""
    return re.findall(r"[^\W_]+", normalize_for_match(str(text))) if text is not None else []


def to_millis(value: Any) -> Any:
    if isinstance(value, (int, float)) or value is None:
        return value
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)


def values_at(src: dict[str, Any], path: str) -> list[Any]:
    current: list[Any] = [src]
    for part in path.split("."):
        nxt: list[Any] = []
        for node in current:
            if isinstance(node, dict) and part in node:
                value = node[part]
                nxt.extend(value if isinstance(value, list) else [value])
            elif isinstance(node, list):
                nxt.extend(n.get(part) for n in node if isinstance(n, dict))
        current = nxt
    return [v for v in current if v is not None]



def evaluate(ix: Index, q: dict[str, Any], src: dict[str, Any]) -> bool:
    (kind, spec), = q.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        must = spec.get("must", []) + spec.get("filter", [])
        should = spec.get("should", [])
        ok = all(evaluate(ix, c, src) for c in must)
        ok = ok and not any(evaluate(ix, c, src) for c in spec.get("must_not", []))
        need = spec.get("minimum_should_match", 0 if must or spec.get("must_not") else 1)
        return ok and (not should or sum(evaluate(ix, c, src) for c in should) >= need)
    (fld, arg), = spec.items()
    values = values_at(src, fld)
    ftype = ix.field_type(fld)
    if kind == "term":
        return arg in values
    if kind == "terms":
        return any(v in values for v in arg)
    if kind == "exists":
        return bool(values_at(src, arg))
    if kind == "range":
        conv = to_millis if ftype == "date" else (lambda v: v)
        ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
               "lte": lambda a, b: a <= b}
        return any(all(ops[o](conv(v), conv(b)) for o, b in arg.items()) for v in values)
    text = arg["query"] if isinstance(arg, dict) else arg
    words = [t for v in values for t in [tokens(v)]]
    wanted = tokens(text)
    if kind == "match":
        test = all if (isinstance(arg, dict) and arg.get("operator") == "and") else any
        return any(test(w in doc_words for w in wanted) for doc_words in words)
    if kind in ("match_phrase", "match_phrase_prefix"):
        n = len(wanted)
        for doc_words in words:
            for start in range(len(doc_words) - n + 1):
                window = doc_words[start:start + n]
                if window[:-1] == wanted[:-1] and (window[-1] == wanted[-1] or (
                        kind == "match_phrase_prefix" and window[-1].startswith(wanted[-1]))):
                    return True
        return False
    raise EsError(400, "parsing_exception", f"fake: unknown query [{kind}]")



def sort_key(ix: Index, src: dict[str, Any], sort: list[dict[str, Any]]) -> list[Any]:
    key = []
    for spec in sort:
        (fld, order), = spec.items()
        values = values_at(src, fld)
        value = values[0] if values else None
        key.append(to_millis(value) if ix.field_type(fld) == "date" else value)
    return key



def aggregate(ix: Index, docs: list[dict[str, Any]], aggs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        sub = spec.get("aggs", {})
        if "terms" in spec:
            out[name] = {"buckets": _terms_buckets(ix, docs, spec["terms"], sub)}
        elif "max" in spec:
            found = [to_millis(v) if ix.field_type(spec["max"]["field"]) == "date" else v
                     for src in docs for v in values_at(src, spec["max"]["field"])]
            out[name] = {"value": float(max(found)) if found else None}
        elif "filters" in spec:
            out[name] = {"buckets": {k: {"doc_count": sum(evaluate(ix, f, s) for s in docs)}
                                     for k, f in spec["filters"]["filters"].items()}}
        elif "filter" in spec:
            out[name] = {"doc_count": sum(evaluate(ix, spec["filter"], s) for s in docs)}
        elif "date_histogram" in spec:
            groups: dict[int, list[dict[str, Any]]] = {}
            for src in docs:
                for v in values_at(src, spec["date_histogram"]["field"]):
                    groups.setdefault(_floor(to_millis(v), spec["date_histogram"]["calendar_interval"]), []).append(src)
            out[name] = {"buckets": [{"key": k, "doc_count": len(g), **aggregate(ix, g, sub)}
                                     for k, g in sorted(groups.items())]}
        else:
            raise EsError(400, "parsing_exception", f"fake: unknown aggregation in [{name}]: {sorted(spec)}")
    return out


def _terms_buckets(ix: Index, docs: list[dict[str, Any]], terms: dict[str, Any],
                   sub: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``terms`` aggregation: ``include`` (a list of exact values), sub-aggregations, and
    ``order`` by ``_count``, ``_key`` or a single-value sub-aggregation (as Elasticsearch)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    include = terms.get("include")
    if include is not None and not isinstance(include, list):
        raise EsError(400, "parsing_exception", "fake: only a list of exact values is supported as include")
    for src in docs:
        for v in set(map(json.dumps, values_at(src, terms["field"]))):
            if include is None or json.loads(v) in include:
                groups.setdefault(v, []).append(src)
    buckets = [{"key": json.loads(k), "doc_count": len(g), **aggregate(ix, g, sub)} for k, g in groups.items()]
    order = terms.get("order", [{"_count": "desc"}, {"_key": "asc"}])
    order = order if isinstance(order, list) else [order]
    for spec in reversed(order):  # stable sorts, last criterion first
        (key, direction), = spec.items()
        if key not in ("_count", "_key") and not (key in sub and _single_value(sub[key])):
            raise EsError(400, "aggregation_execution_exception", f"fake: invalid terms order path [{key}]")

        def value(b: dict[str, Any], key: str = key) -> Any:
            if key == "_count":
                return b["doc_count"]
            if key == "_key":
                return b["key"]
            v = b[key]["value"]
            return float("-inf") if v is None else v

        buckets.sort(key=value, reverse=direction == "desc")
    return buckets[: terms.get("size", 10)]


def _single_value(spec: dict[str, Any]) -> bool:
    """Whether a sub-aggregation is a single-value metric (only those can order a terms aggregation)."""
    return "max" in spec




def _floor(ms: int, interval: str) -> int:
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    if interval == "1h":
        t = t.replace(minute=0, second=0, microsecond=0)
    else:
        t = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if interval == "1w":
            t -= timedelta(days=t.weekday())
    return int(t.timestamp() * 1000)
