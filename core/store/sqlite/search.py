"""Mention search: filters, full-text query, sort, cursor pages, facets, histogram.

Plans (chosen per query):

- a full-text query with an FTS5 expression drives the scan from the FTS index in
  key order (newest first: ``rowid DESC``) with the date range pushed down as rowid
  bounds, joined to ``mentions`` for the other filters, and stops after the page;
- otherwise the ``mentions`` table is scanned in key order with the filters.

When the FTS expression is only a superset (hashtags, handles, a NOT inside an OR),
the whole query is added as an exact SQL condition (``ftsquery.compile_sql``), so
pages, counts, facets and the histogram are all plain SQL statements, never a Python
loop over rows. A query with ``budget_s`` runs under SQLite's progress handler: a page
that cannot be found within that many seconds raises :class:`SearchTooCostly`; facets,
histogram and total that cannot be counted in what is left are skipped
(``aggregations_stopped``), so a broad query still answers with its newest matches.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime
from typing import Any, Iterator

from core.domain import Mention
from core.query import MatchText, matches, parse_query
from core.store.port import FacetBucket, HistogramBucket, MentionQuery, SearchPage, SearchTooCostly
from core.store.sqlite.connection import decode_cursor, encode_cursor, from_ms, to_ms
from core.store.sqlite.ftsquery import LEAF_MATCH_FUNCTION, compile_fts, compile_sql
from core.store.sqlite.mentions import SLOT_BITS, key_floor

# Facet name -> column of the temporary hits table (copied from ``mentions``).
_FACET_COLUMNS = {
    "lang": "lang", "sentiment": "sentiment", "emotion": "emotion", "platform": "platform",
    "source": "source", "author": "author_key", "customer_id": "customer_id",
}
_HIT_COLUMNS = ("lang", "sentiment", "emotion", "platform", "source", "author_key", "customer_id")
_HITS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS search_hits (rk INTEGER PRIMARY KEY, "
    + ", ".join(f"{c} TEXT" for c in _HIT_COLUMNS) + ")"
)
_BUCKET_MS = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}
_WEEK_OFFSET_MS = 4 * 86_400_000  # 1970-01-01 was a Thursday; weeks start on Monday
FACET_SIZE = 50
MAX_HISTOGRAM_GAPS = 5000
PROGRESS_EVERY = 2000  # SQLite VM steps between budget checks (~a few microseconds each)


@dataclass
class _Plan:
    sql_from: str
    key: str  # the key expression ordering rows (f.rowid under FTS, else m.rk)
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)


def _in(column: str, values: list[str]) -> tuple[str, list[str]]:
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def _plan(q: MentionQuery) -> _Plan:
    node = parse_query(q.text) if q.text and q.text.strip() else None
    fts = compile_fts(node) if node is not None else None
    if fts is not None and fts.expr is not None:
        plan = _Plan("mention_fts f CROSS JOIN mentions m ON m.rk = f.rowid", "f.rowid",
                     ["mention_fts MATCH ?"], [fts.expr])
    else:
        plan = _Plan("mentions m", "m.rk")
    if node is not None and fts is not None and not (fts.expr is not None and fts.exact):
        condition, params = compile_sql(node)
        plan.where.append(condition)
        plan.params.extend(params)
    for column, values in (("m.lang", q.langs), ("m.sentiment", q.sentiments), ("m.emotion", q.emotions),
                           ("m.platform", q.platforms), ("m.source", q.sources),
                           ("m.author_key", [a.lower() for a in q.authors])):
        if values:
            clause, params = _in(column, values)
            plan.where.append(clause)
            plan.params.extend(params)
    if q.brands:
        clause, params = _in("b.brand", q.brands)
        plan.where.append(f"EXISTS (SELECT 1 FROM mention_brands b WHERE b.rk = m.rk AND {clause})")
        plan.params.extend(params)
    for column, value in (("m.customer_id", q.customer_id), ("m.thread_id", q.thread_id),
                          ("m.campaign_id", q.campaign_id)):
        if value is not None:
            plan.where.append(f"{column} = ?")
            plan.params.append(value)
    if q.since is not None:
        plan.where.append(f"{plan.key} >= ?")
        plan.params.append(key_floor(to_ms(q.since)))
    if q.until is not None:
        plan.where.append(f"{plan.key} < ?")
        plan.params.append(key_floor(to_ms(q.until)))
    if q.min_risk is not None:
        plan.where.append("m.risk >= ?")
        plan.params.append(q.min_risk)
    return plan


def _where(parts: list[str]) -> str:
    return (" WHERE " + " AND ".join(parts)) if parts else ""


def _order(q: MentionQuery, key: str) -> str:
    if q.sort == "oldest":
        return f" ORDER BY {key} ASC"
    if q.sort == "risk":
        return f" ORDER BY m.risk DESC, {key} DESC"
    return f" ORDER BY {key} DESC"


def _after(q: MentionQuery, key: str, pos: list[Any]) -> tuple[str, list[Any]]:
    """The keyset condition for rows after position ``pos`` ([risk, rk] or [rk])."""
    if q.sort == "oldest":
        return f"{key} > ?", [pos[-1]]
    if q.sort == "risk":
        return f"(m.risk < ? OR (m.risk = ? AND {key} < ?))", [pos[0], pos[0], pos[1]]
    return f"{key} < ?", [pos[-1]]


def _leaf_match(leaf: str, doc: str) -> int:
    """``bg_leaf_match``: does a stored mention (its JSON) match one hashtag/handle leaf?
    (SQL calls it only for rows holding the leaf's sigil: see ``ftsquery.compile_sql``.)"""
    return int(matches(parse_query(leaf), _prepared(doc)))


@lru_cache(maxsize=8)
def _prepared(doc: str) -> MatchText:
    # A query with several hashtag leaves checks one row once per leaf: parse and prepare it once.
    data = json.loads(doc)
    title, text = data.get("title"), data.get("text") or ""
    return MatchText.of(f"{title}\n{text}" if title else text)


@contextmanager
def _budget(conn: sqlite3.Connection, seconds: float | None, deadline: float | None = None) -> Iterator[None]:
    """Stop every statement run inside at ``deadline`` (default: ``seconds`` from now) with
    SearchTooCostly; no limit when ``seconds`` is None."""
    conn.create_function(LEAF_MATCH_FUNCTION, 2, _leaf_match, deterministic=True)
    if not seconds:
        yield
        return
    end = deadline if deadline is not None else time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > end), PROGRESS_EVERY)
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        raise SearchTooCostly(
            f"the search ran longer than its budget of {seconds:g} s and was stopped; "
            "narrow it with a date range, a brand or a word every match must contain") from None
    finally:
        conn.set_progress_handler(None, 0)


class SearchMixin:
    """``search_mentions`` and ``count_mentions``."""

    def search_mentions(self, query: MentionQuery) -> SearchPage:
        """One page of matches, with the cursor of the next page and, when asked,
        facets, a date histogram and the exact total."""
        plan = _plan(query)
        pos = decode_cursor(query.cursor, f"m:{query.sort}", ("num?", "int"))[1:] if query.cursor else None
        deadline = time.monotonic() + query.budget_s if query.budget_s else None
        with self._snapshot() as conn:
            with _budget(conn, query.budget_s, deadline):  # the page itself must fit the budget
                rows = self._page(conn, plan, query, pos)
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            next_cursor = None
            if more:
                last_rk, last_risk = rows[-1][0], rows[-1][1]
                next_cursor = encode_cursor(f"m:{query.sort}", last_risk, last_rk)
            page = SearchPage(items=[Mention.model_validate_json(r[2]) for r in rows], next_cursor=next_cursor)
            if query.facets or query.histogram:
                try:  # counting every match gets what is left of the budget; past it, the page still answers
                    with _budget(conn, query.budget_s, deadline):
                        self._aggregate(conn, plan, query, page)
                except SearchTooCostly:
                    page.facets, page.histogram, page.total, page.aggregations_stopped = {}, [], None, True
        return page

    def count_mentions(self, query: MentionQuery) -> int:
        """How many mentions match (cursor, sort and limit are ignored)."""
        plan = _plan(query)
        with self._snapshot() as conn, _budget(conn, query.budget_s):
            sql = f"SELECT count(*) FROM {plan.sql_from}{_where(plan.where)}"
            return int(conn.execute(sql, plan.params).fetchone()[0])

    # ------------------------------------------------------------ pages

    def _page(self, conn: sqlite3.Connection, plan: _Plan, q: MentionQuery, pos: list[Any] | None) -> list[tuple]:
        where, params = list(plan.where), list(plan.params)
        if pos is not None:
            clause, extra = _after(q, plan.key, pos)
            where.append(clause)
            params.extend(extra)
        sql = f"SELECT {plan.key}, m.risk, m.doc FROM {plan.sql_from}" + _where(where) + _order(q, plan.key) + " LIMIT ?"
        return conn.execute(sql, (*params, q.limit + 1)).fetchall()

    # ------------------------------------------------------------ facets & histogram

    def _aggregate(self, conn: sqlite3.Connection, plan: _Plan, q: MentionQuery, page: SearchPage) -> None:
        # One pass over the matches copies the facet columns into a temporary table; every
        # count, facet and histogram bucket is then grouped from it without re-running the search.
        conn.execute(_HITS_TABLE)
        conn.execute("DELETE FROM temp.search_hits")
        columns = f"{plan.key}, " + ", ".join(f"m.{c}" for c in _HIT_COLUMNS)
        conn.execute(f"INSERT INTO temp.search_hits SELECT {columns} FROM {plan.sql_from}{_where(plan.where)}",
                     plan.params)
        page.total = int(conn.execute("SELECT count(*) FROM temp.search_hits").fetchone()[0])
        for name in q.facets:
            if name == "brands":
                # CROSS JOIN: walk the hits and look their brands up, never the other way round.
                sql = ("SELECT b.brand, count(*) AS n FROM temp.search_hits h CROSS JOIN mention_brands b ON b.rk = h.rk"
                       " GROUP BY b.brand ORDER BY n DESC, b.brand LIMIT ?")
            else:
                column = _FACET_COLUMNS[name]
                sql = (f"SELECT {column}, count(*) AS n FROM temp.search_hits WHERE {column} IS NOT NULL"
                       f" GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?")
            rows = conn.execute(sql, (FACET_SIZE,)).fetchall()
            page.facets[name] = [FacetBucket(value=str(v), count=n) for v, n in rows]
        if q.histogram:
            page.histogram = self._histogram(conn, q.histogram)

    def _histogram(self, conn: sqlite3.Connection, unit: str) -> list[HistogramBucket]:
        size = _BUCKET_MS[unit]
        offset = _WEEK_OFFSET_MS if unit == "week" else 0
        # Floor division that also holds for times before 1970.
        ms = f"((rk >> {SLOT_BITS}) - {offset})"
        sql = (f"SELECT {ms} - (({ms} % {size}) + {size}) % {size} AS b, count(*), sum(sentiment = 'negative')"
               " FROM temp.search_hits GROUP BY b ORDER BY b")
        counts = {b: (n, int(neg or 0)) for b, n, neg in conn.execute(sql)}
        if not counts:
            return []
        first, last = min(counts), max(counts)
        starts = range(first, last + size, size) if (last - first) // size <= MAX_HISTOGRAM_GAPS else sorted(counts)
        return [
            HistogramBucket(start=from_ms(b + offset), count=counts.get(b, (0, 0))[0],
                            negative=counts.get(b, (0, 0))[1])
            for b in starts
        ]


def bucket_start(value: datetime, unit: str) -> datetime:
    """The start of the histogram bucket holding ``value`` (for callers and tests)."""
    size = _BUCKET_MS[unit]
    offset = _WEEK_OFFSET_MS if unit == "week" else 0
    ms = to_ms(value) - offset
    return from_ms(ms - ms % size + offset)

