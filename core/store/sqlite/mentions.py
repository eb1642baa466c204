"""Mentions: idempotent bulk upsert with engagement history, reads and patches.

A new mention gets a time-ordered key (see ``schema``), its normalised text in the
FTS5 index, its brands in ``mention_brands`` and a place in the ``analyze`` queue.
A re-crawl keeps what later stages wrote (analysis, risk, customer and campaign links),
replaces the engagement, appends a history point when the counts changed, and queues
the mention for ``risk`` when it was already analysed.
"""

from __future__ import annotations

import sqlite3
import zlib
from typing import Any, Iterable, Sequence

from pydantic import ValidationError

from core.domain import EngagementPoint, Mention
from core.store.common import (
    bulk_item_id,
    coerce_mention,
    dominant_emotion,
    engagement_counts,
    fts_body,
    has_engagement_counts,
    merge_recrawl,
    patched_mention,
    same_mention,
)
from core.store.port import BulkReport, ItemError, MentionPatch
from core.store.sqlite.connection import now_ms, to_ms

SLOT_BITS = 10
SLOTS = 1 << SLOT_BITS
CHUNK = 2000  # mentions per write transaction
_IN_CHUNK = 500  # ids per IN (...) lookup

_INSERT_MENTION = (
    "INSERT INTO mentions(rk, id, platform, source, author_key, lang, sentiment, emotion, risk,"
    " customer_id, thread_id, campaign_id, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_UPDATE_MENTION = (
    "UPDATE mentions SET rk=?, platform=?, source=?, author_key=?, lang=?, sentiment=?, emotion=?,"
    " risk=?, customer_id=?, thread_id=?, campaign_id=?, doc=? WHERE rk=?"
)


def key_floor(ms: int) -> int:
    """The smallest mention key of a publication time (for ``since``/``until`` bounds)."""
    return ms << SLOT_BITS


def row_values(m: Mention) -> tuple[Any, ...]:
    """Indexed column values of a mention (everything after ``rk, id``, before ``doc``)."""
    analysis = m.analysis
    lang = m.lang or (analysis.lang if analysis else None)
    return (
        m.platform, m.source, m.author.key, lang,
        analysis.sentiment if analysis else None, dominant_emotion(analysis),
        m.risk.score if m.risk else -1.0, m.customer_id, m.thread_id, m.campaign_id,
    )


def _with_first_point(m: Mention) -> Mention:
    if m.engagement_history or not has_engagement_counts(m):
        return m
    point = EngagementPoint(at=m.crawled_at, **engagement_counts(m))
    return m.model_copy(update={"engagement_history": [point]})


_EMPTY_HISTORY = '"engagement_history":[]'


def mention_doc(m: Mention) -> str:
    """The stored JSON of a mention. Every optional field of a mention defaults to None,
    so leaving the Nones out round-trips exactly and keeps rows smaller."""
    return m.model_dump_json(exclude_none=True)


def new_mention_doc(m: Mention) -> str:
    """The stored JSON of a new mention: a mention showing engagement counts but no
    history gets its first history point (at its crawl time).

    Splices the point into the serialised JSON instead of copying the model (the hot
    path of bulk ingest). Inside JSON strings every '"' is escaped, so the unescaped
    key can only be the top-level field."""
    doc = mention_doc(m)
    if m.engagement_history or not has_engagement_counts(m):
        return doc
    point = EngagementPoint(at=m.crawled_at, **engagement_counts(m)).model_dump_json(exclude_none=True)
    spliced = doc.replace(_EMPTY_HISTORY, f'"engagement_history":[{point}]', 1)
    return spliced if spliced != doc else mention_doc(_with_first_point(m))


def _first_key(m: Mention) -> int:
    return (to_ms(m.published_at) << SLOT_BITS) + (zlib.crc32(m.id.encode()) & (SLOTS - 1))


def _needs_key(old_rk: int | None, old: Mention | None, new: Mention) -> bool:
    # New mentions need a key; stored ones only when their publication time changed.
    return old_rk is None or old is None or to_ms(old.published_at) != to_ms(new.published_at)


class MentionsMixin:
    """Mention writes and reads (the search lives in ``search``)."""

    # ------------------------------------------------------------ upsert

    def upsert_mentions(self, mentions: Iterable[Mention]) -> BulkReport:
        """Idempotent by id; see the module docstring for what a re-crawl changes."""
        report = BulkReport()
        batch: list[tuple[int, Any]] = []
        for index, item in enumerate(mentions):
            batch.append((index, item))
            if len(batch) >= CHUNK:
                self._upsert_chunk(batch, report)
                batch = []
        if batch:
            self._upsert_chunk(batch, report)
        return report

    def _upsert_chunk(self, batch: list[tuple[int, Any]], report: BulkReport) -> None:
        good: list[Mention] = []
        for index, item in batch:
            try:
                good.append(coerce_mention(item))
            except (TypeError, ValidationError) as exc:
                report.failed.append(ItemError(id=bulk_item_id(item, index), error=str(exc)))
        if not good:
            return
        try:
            with self._write() as conn:
                counts = self._write_mentions(conn, good, per_item=False, report=report)
        except sqlite3.Error:
            # Something in the batch broke a constraint: redo it item by item so only
            # the bad items are lost, each reported with its error.
            with self._write() as conn:
                counts = self._write_mentions(conn, good, per_item=True, report=report)
        report.created += counts[0]
        report.updated += counts[1]
        report.unchanged += counts[2]

    def _write_mentions(
        self, conn: sqlite3.Connection, items: list[Mention], per_item: bool, report: BulkReport
    ) -> tuple[int, int, int]:
        stored = self._load_by_ids(conn, list(dict.fromkeys(m.id for m in items)))
        final: dict[str, tuple[int | None, Mention | None, Mention]] = {}  # id -> (old rk, old, new)
        unchanged = 0
        for m in items:
            prev = final.get(m.id)
            if prev is not None:  # the same id twice in one batch: the second is a re-crawl
                old_rk, old, current = prev
                final[m.id] = (old_rk, old, merge_recrawl(_with_first_point(current), m))
            elif m.id in stored:
                old_rk, old = stored[m.id]
                merged = merge_recrawl(old, m)
                if same_mention(merged, old):
                    unchanged += 1
                    continue
                final[m.id] = (old_rk, old, merged)
            else:
                final[m.id] = (None, None, m)
        now = now_ms(None)
        used: set[int] = set()
        created = updated = 0
        if not per_item:
            self._apply(conn, list(final.values()), used, now)
            created = sum(1 for rk, _, _ in final.values() if rk is None)
            updated = len(final) - created
            return created, updated, unchanged
        for entry in final.values():
            conn.execute("SAVEPOINT item")
            try:
                self._apply(conn, [entry], used, now)
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK TO item")
                report.failed.append(ItemError(id=entry[2].id, error=f"{type(exc).__name__}: {exc}"))
            else:
                if entry[0] is None:
                    created += 1
                else:
                    updated += 1
            conn.execute("RELEASE item")
        return created, updated, unchanged

    def _apply(
        self, conn: sqlite3.Connection, entries: list[tuple[int | None, Mention | None, Mention]],
        used: set[int], now: int,
    ) -> None:
        keys = self._free_keys(conn, [m for old_rk, old, m in entries if _needs_key(old_rk, old, m)], used)
        inserts: list[tuple[Any, ...]] = []
        fts_rows: list[tuple[int, str]] = []
        brand_rows: list[tuple[int, str]] = []
        # Queue items are due from the crawl time (capped at now), so a simulated clock
        # driving claims with an earlier ``now`` still sees them.
        analyze: dict[str, int] = {}
        risk: dict[str, int] = {}
        for old_rk, old, m in entries:
            if old_rk is None or old is None:
                rk = keys[m.id]
                inserts.append((rk, m.id, *row_values(m), new_mention_doc(m)))
                fts_rows.append((rk, fts_body(m)))
                brand_rows.extend((rk, b) for b in dict.fromkeys(m.brands))
                analyze[m.id] = min(now, to_ms(m.crawled_at))
                continue
            rk = keys.get(m.id, old_rk)
            new_body, old_body = fts_body(m), fts_body(old)
            if rk != old_rk or new_body != old_body:
                conn.execute("INSERT INTO mention_fts(mention_fts, rowid, body) VALUES('delete', ?, ?)",
                             (old_rk, old_body))
                fts_rows.append((rk, new_body))
            conn.execute(_UPDATE_MENTION, (rk, *row_values(m), mention_doc(m), old_rk))
            conn.execute("DELETE FROM mention_brands WHERE rk = ?", (old_rk,))
            brand_rows.extend((rk, b) for b in dict.fromkeys(m.brands))
            if m.analysis is not None:
                risk[m.id] = min(now, to_ms(m.crawled_at))
        # Ascending keys: FTS5 flushes its in-memory segment whenever a rowid goes backwards,
        # so unsorted batches would write hundreds of tiny segments per transaction.
        if inserts:
            conn.executemany(_INSERT_MENTION, sorted(inserts, key=lambda row: row[0]))
        if fts_rows:
            conn.executemany("INSERT INTO mention_fts(rowid, body) VALUES (?, ?)", sorted(fts_rows))
        if brand_rows:
            conn.executemany("INSERT OR IGNORE INTO mention_brands(rk, brand) VALUES (?, ?)", sorted(brand_rows))
        if analyze:
            self._enqueue_in(conn, "analyze", list(analyze), now, list(analyze.values()))
        if risk:
            self._enqueue_in(conn, "risk", list(risk), now, list(risk.values()))

    def _free_keys(self, conn: sqlite3.Connection, mentions: list[Mention], used: set[int]) -> dict[str, int]:
        """Time-ordered keys for ``mentions``: each starts at a slot derived from its id
        (one batched look-up for all) and probes on past keys already taken."""
        first = {m.id: _first_key(m) for m in mentions}
        candidates = list(first.values())
        taken: set[int] = set()
        for start in range(0, len(candidates), _IN_CHUNK):
            part = candidates[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            taken.update(r[0] for r in conn.execute(f"SELECT rk FROM mentions WHERE rk IN ({marks})", part))
        out: dict[str, int] = {}
        for m in mentions:
            rk = first[m.id]
            if rk in taken or rk in used:
                rk = self._probe_key(conn, rk, used)
            used.add(rk)
            out[m.id] = rk
        return out

    def _probe_key(self, conn: sqlite3.Connection, rk: int, used: set[int]) -> int:
        ms, start = rk >> SLOT_BITS, rk & (SLOTS - 1)
        while True:
            base = ms << SLOT_BITS
            for step in range(1, SLOTS + 1):
                candidate = base + ((start + step) & (SLOTS - 1))
                if candidate in used:
                    continue
                if conn.execute("SELECT 1 FROM mentions WHERE rk = ?", (candidate,)).fetchone() is None:
                    return candidate
            ms += 1  # more than 1,024 mentions in one millisecond: use the next one

    def replace_mentions(self, mentions: Sequence[Mention]) -> int:
        """Overwrite stored mentions (same ids and keys), re-indexing their text and brands."""
        with self._write() as conn:
            stored = self._load_by_ids(conn, [m.id for m in mentions])
            for m in mentions:
                if m.id not in stored:
                    continue
                rk, old = stored[m.id]
                conn.execute("INSERT INTO mention_fts(mention_fts, rowid, body) VALUES('delete', ?, ?)", (rk, fts_body(old)))
                conn.execute("INSERT INTO mention_fts(rowid, body) VALUES (?, ?)", (rk, fts_body(m)))
                conn.execute(_UPDATE_MENTION, (rk, *row_values(m), mention_doc(m), rk))
                conn.execute("DELETE FROM mention_brands WHERE rk = ?", (rk,))
                conn.executemany("INSERT OR IGNORE INTO mention_brands(rk, brand) VALUES (?, ?)",
                                 [(rk, b) for b in dict.fromkeys(m.brands)])
        return sum(1 for m in mentions if m.id in stored)

    def _load_by_ids(self, conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[int, Mention]]:
        out: dict[str, tuple[int, Mention]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            part = ids[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            for rk, mid, doc in conn.execute(f"SELECT rk, id, doc FROM mentions WHERE id IN ({marks})", part):
                out[mid] = (rk, Mention.model_validate_json(doc))
        return out

    # ------------------------------------------------------------ reads

    def get_mention(self, mention_id: str) -> Mention | None:
        """The stored mention, or None."""
        row = self._conn().execute("SELECT doc FROM mentions WHERE id = ?", (mention_id,)).fetchone()
        return Mention.model_validate_json(row[0]) if row else None

    def get_mentions(self, mention_ids: Sequence[str]) -> list[Mention]:
        """Mentions in the order asked; unknown ids are left out."""
        found = self._load_by_ids(self._conn(), list(dict.fromkeys(mention_ids)))
        return [found[i][1] for i in mention_ids if i in found]

    # ------------------------------------------------------------ patches

    def patch_mentions(self, patches: Iterable[MentionPatch]) -> BulkReport:
        """Set the given fields of stored mentions; unknown ids are reported as failed."""
        report = BulkReport()
        items = list(patches)
        with self._write() as conn:
            stored = self._load_by_ids(conn, list(dict.fromkeys(getattr(p, "id", "") for p in items)))
            for index, patch in enumerate(items):
                pid = bulk_item_id(patch, index)
                if not isinstance(patch, MentionPatch):
                    report.failed.append(ItemError(id=pid, error=f"expected a MentionPatch, got {type(patch).__name__}"))
                    continue
                if patch.id not in stored:
                    report.failed.append(ItemError(id=patch.id, error="mention not found"))
                    continue
                rk, old = stored[patch.id]
                try:
                    new = patched_mention(old, patch)
                except ValidationError as exc:
                    report.failed.append(ItemError(id=patch.id, error=str(exc)))
                    continue
                if same_mention(new, old):
                    report.unchanged += 1
                    continue
                conn.execute(_UPDATE_MENTION, (rk, *row_values(new), mention_doc(new), rk))
                stored[patch.id] = (rk, new)
                report.updated += 1
        return report


