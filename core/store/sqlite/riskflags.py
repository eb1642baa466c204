"""Risk flags with a change feed, and hashed API keys.

Every stored change takes the next value of the ``risk_flags`` counter inside its
write transaction. SQLite has one writer at a time, so changes become visible in
``seq`` order and a reader paging by ``seq`` never skips one; a flag keeps one row,
so only its newest change is in the feed.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.domain import ApiKey, RiskFlag
from core.store.common import feed_cursor_seq
from core.store.port import FeedPage
from core.store.sqlite.connection import from_ms, now_ms


def _signature(flag: RiskFlag) -> tuple[object, ...]:
    return (flag.level.value, round(flag.score, 1), tuple(flag.reasons), tuple(flag.evidence_ids))


def _next_seq(conn: sqlite3.Connection, name: str) -> int:
    return conn.execute(
        "INSERT INTO counters(name, value) VALUES (?, 1)"
        " ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
        (name,),
    ).fetchone()[0]


class RiskFlagsMixin:
    """Risk flags and API keys."""

    def upsert_risk_flag(self, flag: RiskFlag) -> RiskFlag | None:
        """Store the flag when level, score (to 0.1), reasons or evidence changed; the
        stored flag carries its new ``seq``. None when nothing changed."""
        with self._write() as conn:
            row = conn.execute("SELECT doc FROM risk_flags WHERE crm_id = ?", (flag.crm_id,)).fetchone()
            if row is not None and _signature(RiskFlag.model_validate_json(row[0])) == _signature(flag):
                return None
            stored = flag.model_copy(update={"seq": _next_seq(conn, "risk_flags")})
            conn.execute(
                "INSERT INTO risk_flags(crm_id, seq, doc) VALUES (?, ?, ?) ON CONFLICT(crm_id)"
                " DO UPDATE SET seq = excluded.seq, doc = excluded.doc",
                (stored.crm_id, stored.seq, stored.model_dump_json()),
            )
            return stored

    def get_risk_flag(self, crm_id: str) -> RiskFlag | None:
        """The customer's current flag, or None."""
        row = self._conn().execute("SELECT doc FROM risk_flags WHERE crm_id = ?", (crm_id,)).fetchone()
        return RiskFlag.model_validate_json(row[0]) if row else None

    def risk_flag_feed(self, cursor: str | None, limit: int = 100) -> FeedPage:
        """Changes after ``cursor`` in ``seq`` order; the cursor is the last seq seen."""
        after = feed_cursor_seq(cursor)
        rows = self._conn().execute(
            "SELECT seq, doc FROM risk_flags WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        items = [RiskFlag.model_validate_json(doc) for _, doc in rows]
        return FeedPage(items=items, next_cursor=str(rows[-1][0] if rows else after))

    # ------------------------------------------------------------ api keys

    def save_api_key(self, key: ApiKey) -> None:
        """Insert or replace an API key by id (only its hash is stored)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO api_keys(id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                (key.id, key.model_dump_json()),
            )

    def get_api_key(self, key_id: str) -> ApiKey | None:
        """The key, or None."""
        row = self._conn().execute("SELECT doc FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return ApiKey.model_validate_json(row[0]) if row else None

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        keys = [ApiKey.model_validate_json(r[0]) for r in self._conn().execute("SELECT doc FROM api_keys")]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    def revoke_api_key(self, key_id: str, now: datetime | None = None) -> bool:
        """Revoke a key; False when it does not exist or was already revoked."""
        return self._update_key(key_id, "revoked_at", now, only_if_unset=True)

    def touch_api_key(self, key_id: str, now: datetime | None = None) -> None:
        """Record that the key was just used."""
        self._update_key(key_id, "last_used_at", now, only_if_unset=False)

    def _update_key(self, key_id: str, field: str, now: datetime | None, only_if_unset: bool) -> bool:
        with self._write() as conn:
            row = conn.execute("SELECT doc FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            if row is None:
                return False
            key = ApiKey.model_validate_json(row[0])
            if only_if_unset and getattr(key, field) is not None:
                return False
            key = key.model_copy(update={field: from_ms(now_ms(now))})
            conn.execute("UPDATE api_keys SET doc = ? WHERE id = ?", (key.model_dump_json(), key_id))
            return True
