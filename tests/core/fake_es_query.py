"""Query evaluation for the fake Elasticsearch server: the subset of the query DSL and
aggregations ``core.store.elastic`` sends, with the index's real analysis chain.

Text fields are analysed by the analyzer their mapping names (``fake_es_analysis``: the
standard tokenizer and Lucene's token filters), on both the document and the query side;
keyword/boolean/number fields compare exactly; date fields compare as epoch milliseconds.
Strict where a cluster is: ``bool`` nesting deeper than ``MAX_BOOL_DEPTH``, more than
``MAX_CLAUSES`` clauses, sorting on an unmapped or ``text`` field, and unknown query kinds
are 400s; ``match_phrase_prefix`` expands its last word to at most ``max_expansions`` (50)
index terms, in term order, as Lucene does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from tests.core.fake_es_analysis import Analyzer, build_analyzers
from tests.core.fake_es_errors import EsError

MAX_BOOL_DEPTH = 20  # indices.query.bool.max_nested_depth (20 on 7.x/8.0 docs; stricter than 30)
MAX_CLAUSES = 4096  # indices.query.bool.max_clause_count
DEFAULT_MAX_EXPANSIONS = 50

__all__ = ["EsError", "Index", "Recorded", "aggregate", "check_query", "evaluate", "sort_key"]


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
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"src", "seq", "version"}
    visible: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = -1
    analyzers: dict[str, Analyzer] = field(default_factory=dict)
    last_refresh: float = 0.0
    dirty: bool = False

    def __post_init__(self) -> None:
        if not self.analyzers:
            self.analyzers = build_analyzers(self.settings.get("index", self.settings).get("analysis"))

    def field_spec(self, path: str) -> dict[str, Any] | None:
        node: Any = self.mappings.get("properties", {})
        parts = path.split(".")
        for i, part in enumerate(parts):
            spec = node.get(part)
            if spec is None:
                return None
            if i == len(parts) - 1:
                return spec
            node = spec.get("properties") or spec.get("fields") or {}
        return None

    def field_type(self, path: str) -> str | None:
        spec = self.field_spec(path)
        return None if spec is None else spec.get("type", "object")

    def analyzer(self, path: str) -> Analyzer:
        spec = self.field_spec(path) or {}
        return self.analyzers[spec.get("search_analyzer", spec.get("analyzer", "standard"))]

    def refresh_interval_s(self) -> float:
        raw = str(self.settings.get("index", self.settings).get("refresh_interval", "1s"))
        if raw == "-1":
            return float("inf")
        return float(raw[:-2]) / 1000 if raw.endswith("ms") else float(raw.rstrip("s"))


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


def check_query(q: Any, depth: int = 0) -> int:
    """Validate nesting and clause counts before evaluating; returns the clause count."""
    if not isinstance(q, dict) or len(q) != 1:
        raise EsError(400, "parsing_exception", "[_na] query malformed, must start with start_object")
    (kind, spec), = q.items()
    if kind != "bool":
        return 1
    if depth + 1 > MAX_BOOL_DEPTH:
        raise EsError(400, "x_content_parse_exception",
                      "The nested depth of the query exceeds the maximum nested depth for bool queries set in"
                      f" [indices.query.bool.max_nested_depth] ({MAX_BOOL_DEPTH})")
    count = 0
    for key in ("must", "filter", "should", "must_not"):
        clauses = spec.get(key, [])
        for c in clauses if isinstance(clauses, list) else [clauses]:
            count += check_query(c, depth + 1)
    if depth == 0 and count > MAX_CLAUSES:
        raise EsError(400, "too_many_nested_clauses",
                      f"Query contains too many nested clauses; maxClauseCount is set to {MAX_CLAUSES}")
    return count


Terms = Callable[[str], list[str]]  # sorted distinct index terms of a text field


def evaluate(ix: Index, q: dict[str, Any], src: dict[str, Any], terms: Terms | None = None) -> bool:
    (kind, spec), = q.items()
    if kind == "match_all":
        return True
    if kind == "bool":
        def as_list(key: str) -> list[Any]:
            value = spec.get(key, [])
            return value if isinstance(value, list) else [value]
        must = as_list("must") + as_list("filter")
        should = as_list("should")
        ok = all(evaluate(ix, c, src, terms) for c in must)
        ok = ok and not any(evaluate(ix, c, src, terms) for c in as_list("must_not"))
        need = int(spec.get("minimum_should_match", 0 if must or spec.get("must_not") else 1))
        return ok and (not should or sum(evaluate(ix, c, src, terms) for c in should) >= need)
    (fld, arg), = spec.items()
    values = values_at(src, fld)
    ftype = ix.field_type(fld)
    if kind == "term":
        return (arg["value"] if isinstance(arg, dict) else arg) in values
    if kind == "terms":
        return any(v in values for v in arg)
    if kind == "exists":
        return bool(values_at(src, arg))
    if kind == "range":
        conv = to_millis if ftype == "date" else (lambda v: v)
        ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
               "lte": lambda a, b: a <= b}
        return any(all(ops[o](conv(v), conv(b)) for o, b in arg.items() if b is not None) for v in values)
    analyze = ix.analyzer(fld)
    text = arg.get("query", arg.get("value")) if isinstance(arg, dict) else arg
    docs = [analyze(v) for v in values]
    wanted = analyze(text)
    if not wanted:
        return False
    if kind == "match":
        test = all if (isinstance(arg, dict) and arg.get("operator") == "and") else any
        return any(test(w in doc_words for w in wanted) for doc_words in docs)
    if kind == "match_bool_prefix":
        test = all if (isinstance(arg, dict) and arg.get("operator") == "and") else any
        checks = [lambda d, w=w: w in d for w in wanted[:-1]] + [lambda d: any(t.startswith(wanted[-1]) for t in d)]
        return any(test(c(d) for c in checks) for d in docs)
    if kind in ("match_phrase", "match_phrase_prefix"):
        last: set[str] = {wanted[-1]}
        if kind == "match_phrase_prefix":
            limit = int(arg.get("max_expansions", DEFAULT_MAX_EXPANSIONS)) if isinstance(arg, dict) else DEFAULT_MAX_EXPANSIONS
            pool = terms(fld) if terms else sorted({t for d in docs for t in d})
            last = set([t for t in pool if t.startswith(wanted[-1])][:limit])
        n = len(wanted)
        for doc_words in docs:
            for start in range(len(doc_words) - n + 1):
                window = doc_words[start:start + n]
                if window[:-1] == wanted[:-1] and window[-1] in last:
                    return True
        return False
    raise EsError(400, "parsing_exception", f"unknown query [{kind}]")


def sort_key(ix: Index, src: dict[str, Any], sort: list[dict[str, Any]]) -> list[Any]:
    key = []
    for spec in sort:
        (fld, order), = spec.items()
        values = values_at(src, fld)
        value = values[0] if values else None
        key.append(to_millis(value) if ix.field_type(fld) == "date" else value)
    return key


def check_sort(ix: Index, sort: list[dict[str, Any]]) -> None:
    for spec in sort:
        (fld, _), = spec.items()
        ftype = ix.field_type(fld)
        if ftype is None:
            raise EsError(400, "search_phase_execution_exception", f"No mapping found for [{fld}] in order to sort on")
        if ftype == "text":
            raise EsError(400, "illegal_argument_exception",
                          f"Text fields are not optimised for operations that require per-document field data like"
                          f" aggregations and sorting, so these operations are disabled by default. [{fld}]")


def aggregate(ix: Index, docs: list[dict[str, Any]], aggs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        sub = spec.get("aggs", {})
        if "terms" in spec:
            if ix.field_type(spec["terms"]["field"]) == "text":
                check_sort(ix, [{spec["terms"]["field"]: "asc"}])  # a text field cannot be aggregated
            buckets = _terms_buckets(ix, docs, spec["terms"], sub)
            size = spec["terms"].get("size", 10)
            out[name] = {"doc_count_error_upper_bound": 0,
                         "sum_other_doc_count": sum(b["doc_count"] for b in buckets[size:]),
                         "buckets": buckets[:size]}
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
            out[name] = {"buckets": [{"key": k, "key_as_string": _iso(k), "doc_count": len(g), **aggregate(ix, g, sub)}
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
    return buckets  # the caller cuts at size and counts the rest


def _single_value(spec: dict[str, Any]) -> bool:
    """Whether a sub-aggregation is a single-value metric (only those can order a terms aggregation)."""
    return "max" in spec




def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _floor(ms: int, interval: str) -> int:
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    if interval == "1h":
        t = t.replace(minute=0, second=0, microsecond=0)
    else:
        t = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if interval == "1w":
            t -= timedelta(days=t.weekday())
    return int(t.timestamp() * 1000)
