"""Overview statistics on SQLite (``core.store.stats_port.StatsStore``).

Volume and mix come from ``mention_counts`` (see ``stats_schema``): whole UTC days of the
range from the daily rows, whole hours from the hourly rows, and the minutes before the
first and after the last whole hour from the mentions themselves, so any range is exact
while a 30-day overview reads a few thousand summary rows instead of every mention.
Threads are grouped from the mentions of the (short) range; loudest authors either
group the range's mentions (small ranges) or walk the ``followers`` index from the top.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from core.store.sqlite.connection import from_ms, to_ms
from core.store.sqlite.mentions import key_floor
from core.store.stats_port import (
    AuthorReach,
    Interval,
    MixStats,
    StatsFilter,
    ThreadCount,
    VolumeStats,
    bucket_starts,
    filled_series,
    ranked_brands,
    ranked_mix,
)

HOUR_MS, DAY_MS = 3_600_000, 86_400_000
_SIZE_MS = {"hour": HOUR_MS, "day": DAY_MS, "week": 7 * DAY_MS}
_OFFSET_MS = {"hour": 0, "day": 0, "week": 4 * DAY_MS}  # 1970-01-01 was a Thursday
AUTHOR_SCAN_MAX = 3_000  # matching mentions up to which authors are grouped by a range scan (json per row)


def _ceil(ms: int, size: int) -> int:
    return -((-ms) // size) * size


def _floor(ms: int, size: int) -> int:
    return (ms // size) * size


def _in(column: str, values: list[Any]) -> tuple[str, list[Any]]:
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


class _Pieces:
    """The range split into raw-mention, hourly and daily parts (each ``[start, end)`` in ms)."""

    def __init__(self, since_ms: int, until_ms: int, use_days: bool) -> None:
        self.raw: list[tuple[int, int]] = []
        self.hours: list[tuple[int, int]] = []
        self.days: list[tuple[int, int]] = []
        h1, h2 = _ceil(since_ms, HOUR_MS), _floor(until_ms, HOUR_MS)
        if h1 >= h2:
            self.raw.append((since_ms, until_ms))
            return
        self.raw += [(since_ms, h1), (h2, until_ms)]
        d1, d2 = _ceil(h1, DAY_MS), _floor(h2, DAY_MS)
        if use_days and d1 < d2:
            self.days.append((d1, d2))
            self.hours += [(h1, d1), (d2, h2)]
        else:
            self.hours.append((h1, h2))


class StatsMixin:
    """``mention_volume``, ``mention_mix``, ``negative_thread_counts``, ``author_reach``."""

    # ------------------------------------------------------------ counts from the summary

    def _set_members(self, conn: sqlite3.Connection) -> dict[int, list[str]]:
        members: dict[int, list[str]] = {}
        for brand, set_id in conn.execute("SELECT brand, set_id FROM brand_set_members"):
            members.setdefault(set_id, []).append(brand)
        return members

    def _count_rows(self, conn: sqlite3.Connection, flt: StatsFilter, select: str, group: str,
                    use_days: bool, allowed_sets: list[int] | None) -> list[tuple[Any, ...]]:
        """``select`` + sum(n), sum(neg) grouped by ``group`` over every part of the range.
        Columns available: t (start or publication ms), set_id, platform, source, lang."""
        pieces = _Pieces(to_ms(flt.since), to_ms(flt.until), use_days)
        filters: list[str] = []
        params: list[Any] = []
        for column, values in (("platform", flt.platforms), ("source", flt.sources), ("lang", flt.langs)):
            if values:
                clause, extra = _in(column, values)
                filters.append(clause)
                params.extend(extra)
        if allowed_sets is not None:
            clause, extra = _in("set_id", allowed_sets)
            filters.append(clause)
            params.extend(extra)
        parts: list[str] = []
        part_params: list[Any] = []
        for grain, ranges in ((1, pieces.days), (0, pieces.hours)):
            for start, end in ranges:
                if start < end:
                    parts.append("SELECT start_ms AS t, set_id, platform, source, lang, n, neg FROM mention_counts"
                                 " WHERE grain = ? AND start_ms >= ? AND start_ms < ?")
                    part_params += [grain, start, end]
        for start, end in pieces.raw:
            if start < end:
                parts.append(
                    "SELECT (m.rk >> 10) AS t, ms.set_id, m.platform, m.source, coalesce(m.lang, '') AS lang, 1 AS n,"
                    " (m.sentiment IS 'negative') AS neg FROM mentions m CROSS JOIN mention_sets ms ON ms.rk = m.rk"
                    " WHERE m.rk >= ? AND m.rk < ?")
                part_params += [key_floor(start), key_floor(end)]
        if not parts:
            return []
        where = (" WHERE " + " AND ".join(filters)) if filters else ""
        sql = (f"SELECT {select}, sum(n), sum(neg) FROM ({' UNION ALL '.join(parts)}){where}"
               f" GROUP BY {group}")
        return conn.execute(sql, [*part_params, *params]).fetchall()

    def _allowed_sets(self, conn: sqlite3.Connection, flt: StatsFilter) -> list[int] | None:
        if not flt.brands:
            return None
        clause, params = _in("brand", flt.brands)
        return [r[0] for r in conn.execute(f"SELECT DISTINCT set_id FROM brand_set_members WHERE {clause}", params)]

    def mention_volume(self, flt: StatsFilter, interval: Interval) -> VolumeStats:
        """Counts per bucket, overall and per brand (see the port)."""
        starts = bucket_starts(flt, interval)
        size, offset = _SIZE_MS[interval], _OFFSET_MS[interval]
        bucket = f"t - (((t - {offset}) % {size}) + {size}) % {size}"
        with self._snapshot() as conn:
            allowed = self._allowed_sets(conn, flt)
            rows = [] if allowed == [] else self._count_rows(
                conn, flt, f"{bucket} AS b, set_id", "b, set_id", interval != "hour", allowed)
            members = self._set_members(conn)
        overall: dict[datetime, tuple[int, int]] = {}
        per_brand: dict[str, dict[datetime, tuple[int, int]]] = {}
        wanted = set(flt.brands)
        starts_of: dict[int, datetime] = {}
        for b, set_id, n, neg in rows:
            start = starts_of.get(b) or starts_of.setdefault(b, from_ms(b))
            prev = overall.get(start, (0, 0))
            overall[start] = (prev[0] + n, prev[1] + neg)
            for brand in members.get(set_id, []):
                if wanted and brand not in wanted:
                    continue
                series = per_brand.setdefault(brand, {})
                prev = series.get(start, (0, 0))
                series[start] = (prev[0] + n, prev[1] + neg)
        brands = [filled_series(brand, starts, counts) for brand, counts in per_brand.items()]
        return VolumeStats(interval=interval, overall=filled_series(None, starts, overall),
                           brands=ranked_brands(brands))

    def mention_mix(self, flt: StatsFilter) -> MixStats:
        """Counts per platform, language and source (see the port)."""
        with self._snapshot() as conn:
            allowed = self._allowed_sets(conn, flt)
            rows = [] if allowed == [] else self._count_rows(
                conn, flt, "platform, source, lang", "platform, source, lang", True, allowed)
        dims: dict[str, dict[str, tuple[int, int]]] = {"platform": {}, "source": {}, "lang": {}}
        total = negative = 0
        for platform, source, lang, n, neg in rows:
            total, negative = total + n, negative + neg
            for name, value in (("platform", platform), ("source", source), ("lang", lang)):
                if value:
                    prev = dims[name].get(value, (0, 0))
                    dims[name][value] = (prev[0] + n, prev[1] + neg)
        return MixStats(count=total, negative=negative, platforms=ranked_mix(dims["platform"]),
                        langs=ranked_mix(dims["lang"]), sources=ranked_mix(dims["source"]))

    # ------------------------------------------------------------ from the mentions

    def _mention_filters(self, flt: StatsFilter) -> tuple[list[str], list[Any]]:
        where = ["m.rk >= ?", "m.rk < ?"]
        params: list[Any] = [key_floor(to_ms(flt.since)), key_floor(to_ms(flt.until))]
        for column, values in (("m.platform", flt.platforms), ("m.source", flt.sources), ("m.lang", flt.langs)):
            if values:
                clause, extra = _in(column, values)
                where.append(clause)
                params.extend(extra)
        if flt.brands:
            clause, extra = _in("b.brand", flt.brands)
            where.append(f"EXISTS (SELECT 1 FROM mention_brands b WHERE b.rk = m.rk AND {clause})")
            params.extend(extra)
        return where, params

    def negative_thread_counts(self, flt: StatsFilter, limit: int) -> list[ThreadCount]:
        """Threads with the most negative mentions in the range (see the port)."""
        where, params = self._mention_filters(flt)
        sql = ("SELECT m.thread_id, count(*) AS n, max(m.risk) AS r, max(m.rk) AS last FROM mentions m"
               f" WHERE {' AND '.join(where)} AND m.sentiment = 'negative' AND m.thread_id IS NOT NULL"
               " GROUP BY m.thread_id ORDER BY n DESC, r DESC, last DESC, m.thread_id LIMIT ?")
        with self._snapshot() as conn:
            rows = conn.execute(sql, [*params, limit]).fetchall()
        return [ThreadCount(thread_id=tid, negative=n, max_risk=r if r is not None and r >= 0 else None,
                            last_at=from_ms(last >> 10)) for tid, n, r, last in rows]

    def author_reach(self, flt: StatsFilter, limit: int) -> list[AuthorReach]:
        """Authors by reach (see the port); the plan depends on how many mentions match."""
        where, params = self._mention_filters(flt)
        where += ["m.followers IS NOT NULL", "m.author_key IS NOT NULL"]
        with self._snapshot() as conn:
            few = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM mentions m WHERE {' AND '.join(where[:-2])}"
                               " LIMIT ?)", [*params, AUTHOR_SCAN_MAX + 1]).fetchone()[0] <= AUTHOR_SCAN_MAX
            keys = None if few else self._walk_followers(conn, where, params, limit)
            if keys is not None:
                if not keys:
                    return []
                clause, extra = _in("m.author_key", keys)
                where, params = [*where, clause], [*params, *extra]
            sql = ("SELECT m.author_key, max(m.followers) AS reach, count(*) AS n,"
                   " sum(m.sentiment IS 'negative'), max(m.rk) FROM mentions m"
                   f" WHERE {' AND '.join(where)} GROUP BY m.author_key"
                   " ORDER BY reach DESC, n DESC, m.author_key LIMIT ?")
            rows = conn.execute(sql, [*params, limit]).fetchall()
        return [AuthorReach(author_key=key, reach=int(reach), mentions=n, negative=neg, last_at=from_ms(last >> 10))
                for key, reach, n, neg, last in rows]

    def _walk_followers(self, conn: sqlite3.Connection, where: list[str], params: list[Any], limit: int) -> list[str]:
        """Author keys met walking mentions by followers, largest first, until ``limit``
        authors are found and the next row has a smaller count (ties stay in)."""
        sql = (f"SELECT m.author_key, m.followers FROM mentions m INDEXED BY mentions_followers"
               f" WHERE {' AND '.join(where)} ORDER BY m.followers DESC")
        found: dict[str, int] = {}
        floor: int | None = None
        cursor = conn.execute(sql, params)
        try:
            for key, followers in cursor:
                if floor is not None and followers < floor:
                    break
                if key not in found:
                    found[key] = followers
                    if len(found) == limit:
                        floor = followers
        finally:
            cursor.close()
        return list(found)
