"""Mention search: filters, full-text query, sort, cursor pages, facets, histogram.

Plans (chosen per query):

- a full-text query with an FTS5 expression drives the scan from the FTS index in
  key order (newest first: ``rowid DESC``) with the date range pushed down as rowid
  bounds, joined to ``mentions`` for the other filters, and stops after the page;
- ``NOT x`` alone becomes an anti-join against the FTS matches of ``x``;
- otherwise the ``mentions`` table is scanned in key order with the filters.

When the FTS expression is only a superset (hashtags, handles), rows are re-checked
with ``core.query.matches`` in batches until the page is full. Facets and the
histogram are computed over every match only when asked for.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from core.domain import Mention
from core.query import MatchText, Node, matches, parse_query
from core.store.port import FacetBucket, HistogramBucket, MentionQuery, SearchPage
from core.store.sqlite.connection import decode_cursor, encode_cursor, from_ms, to_ms
from core.store.sqlite.ftsquery import anti_join_expr, compile_fts
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
RECHECK_BATCH = 500


@dataclass
class _Plan:
    sql_from: str
    key: str  # the key expression ordering rows (f.rowid under FTS, else m.rk)
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    recheck: Node | None = None


def _in(column: str, values: list[str]) -> tuple[str, list[str]]:
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def _plan(q: MentionQuery) -> _Plan:
    node = parse_query(q.text) if q.text and q.text.strip() else None
    fts = compile_fts(node) if node is not None else None
    if fts is not None and fts.expr is not None:
        plan = _Plan("mention_fts f CROSS JOIN mentions m ON m.rk = f.rowid", "f.rowid",
                     ["mention_fts MATCH ?"], [fts.expr], None if fts.exact else node)
    else:
        plan = _Plan("mentions m", "m.rk")
        if node is not None:
            anti = anti_join_expr(node)
            if anti is not None:
                plan.where.append("m.rk NOT IN (SELECT rowid FROM mention_fts WHERE mention_fts MATCH ?)")
                plan.params.append(anti)
            else:
                plan.recheck = node
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


def _recheck_ok(node: Node | None, doc_text: tuple[str | None, str]) -> bool:
    if node is None:
        return True
    title, text = doc_text
    return matches(node, MatchText.of(f"{title}\n{text}" if title else text))


class SearchMixin:
    """``search_mentions`` and ``count_mentions``."""

    def search_mentions(self, query: MentionQuery) -> SearchPage:
        """One page of matches, with the cursor of the next page and, when asked,
        facets, a date histogram and the exact total."""
        plan = _plan(query)
        with self._snapshot() as conn:
            pos = decode_cursor(query.cursor, f"m:{query.sort}", 3)[1:] if query.cursor else None
            rows = self._page(conn, plan, query, pos)
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            next_cursor = None
            if more:
                last_rk, last_risk = rows[-1][0], rows[-1][1]
                next_cursor = encode_cursor(f"m:{query.sort}", last_risk, last_rk)
            page = SearchPage(items=[Mention.model_validate_json(r[2]) for r in rows], next_cursor=next_cursor)
            if query.facets or query.histogram:
                self._aggregate(conn, plan, query, page)
        return page

    def count_mentions(self, query: MentionQuery) -> int:
        """How many mentions match (cursor, sort and limit are ignored)."""
        plan = _plan(query)
        with self._snapshot() as conn:
            if plan.recheck is None:
                sql = f"SELECT count(*) FROM {plan.sql_from}{_where(plan.where)}"
                return int(conn.execute(sql, plan.params).fetchone()[0])
            return sum(1 for _ in self._all_matches(conn, plan))

    # ------------------------------------------------------------ pages

    def _page(self, conn: sqlite3.Connection, plan: _Plan, q: MentionQuery, pos: list[Any] | None) -> list[tuple]:
        want = q.limit + 1
        out: list[tuple] = []
        batch = want if plan.recheck is None else max(want * 4, RECHECK_BATCH)
        select = (f"SELECT {plan.key}, m.risk, m.doc, json_extract(m.doc, '$.title'),"
                  f" json_extract(m.doc, '$.text') FROM {plan.sql_from}")
        while len(out) < want:
            where, params = list(plan.where), list(plan.params)
            if pos is not None:
                clause, extra = _after(q, plan.key, pos)
                where.append(clause)
                params.extend(extra)
            sql = select + _where(where) + _order(q, plan.key) + " LIMIT ?"
            rows = conn.execute(sql, (*params, batch)).fetchall()
            for rk, risk, doc, title, text in rows:
                if _recheck_ok(plan.recheck, (title, text)):
                    out.append((rk, risk, doc))
                    if len(out) >= want:  # the page is full: re-checking the rest of the batch is wasted
                        break
            if len(rows) < batch:
                break
            pos = [rows[-1][1], rows[-1][0]]
        return out[:want]

    def _all_matches(self, conn: sqlite3.Connection, plan: _Plan) -> Iterator[int]:
        sql = (f"SELECT {plan.key}, json_extract(m.doc, '$.title'), json_extract(m.doc, '$.text')"
               f" FROM {plan.sql_from}{_where(plan.where)}")
        for rk, title, text in conn.execute(sql, plan.params):
            if _recheck_ok(plan.recheck, (title, text)):
                yield rk

    # ------------------------------------------------------------ facets & histogram

    def _aggregate(self, conn: sqlite3.Connection, plan: _Plan, q: MentionQuery, page: SearchPage) -> None:
        # One pass over the matches copies the facet columns into a temporary table; every
        # count, facet and histogram bucket is then grouped from it without re-running the search.
        conn.execute(_HITS_TABLE)
        conn.execute("DELETE FROM temp.search_hits")
        columns = f"{plan.key}, " + ", ".join(f"m.{c}" for c in _HIT_COLUMNS)
        if plan.recheck is None:
            conn.execute(f"INSERT INTO temp.search_hits SELECT {columns} FROM {plan.sql_from}{_where(plan.where)}",
                         plan.params)
        else:
            sql = (f"SELECT {columns}, json_extract(m.doc, '$.title'), json_extract(m.doc, '$.text')"
                   f" FROM {plan.sql_from}{_where(plan.where)}")
            width = 1 + len(_HIT_COLUMNS)
            conn.executemany(
                f"INSERT INTO temp.search_hits VALUES ({','.join('?' * width)})",
                (row[:width] for row in conn.execute(sql, plan.params) if _recheck_ok(plan.recheck, row[width:])),
            )
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

