"""What a source has already seen, kept across runs so re-crawls stay incremental.

One small SQLite file per source (``<data_dir>/crawl/<source>/seen.sqlite``). Each key
(a thread URL, a status id, a feed URL) records when it was last visited, when it was
last active (its newest post) and a signature (e.g. the reply count shown on a listing).
A key is visited again only when it changed, or when it is still young enough to gain
engagement (``revisit_window_hours``) and its last visit is ``revisit_seconds`` old.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


@dataclass(frozen=True)
class SeenEntry:
    key: str
    last_visit: datetime
    activity_at: datetime | None
    signature: str | None
    etag: str | None
    last_modified: str | None


class SeenState:
    """Seen-state of one source; safe to reopen after a killed run (every write commits)."""

    def __init__(self, path: Path, revisit_seconds: float, revisit_window_hours: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.revisit = timedelta(seconds=revisit_seconds)
        self.window = timedelta(hours=revisit_window_hours)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, no fsync per visit
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, kind TEXT, last_visit TEXT NOT NULL,"
            " activity_at TEXT, signature TEXT, etag TEXT, last_modified TEXT)"
        )

    def get(self, key: str) -> SeenEntry | None:
        row = self._db.execute(
            "SELECT key, last_visit, activity_at, signature, etag, last_modified FROM seen WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return SeenEntry(row[0], _dt(row[1]), _dt(row[2]) if row[2] else None, row[3], row[4], row[5])

    def should_visit(self, key: str, now: datetime, signature: str | None = None) -> bool:
        """New, changed (signature differs), or still active and due for a re-visit."""
        entry = self.get(key)
        if entry is None:
            return True
        if signature is not None and signature != entry.signature:
            return True
        active_since = entry.activity_at or entry.last_visit
        if now - active_since > self.window:
            return False
        return now - entry.last_visit >= self.revisit

    def mark(
        self, key: str, now: datetime, *, kind: str = "page", activity_at: datetime | None = None,
        signature: str | None = None, etag: str | None = None, last_modified: str | None = None,
    ) -> None:
        """Record a visit; keeps the newest activity time and earlier validators when not given."""
        old = self.get(key)
        if old is not None:
            if old.activity_at and (activity_at is None or old.activity_at > activity_at):
                activity_at = old.activity_at
            signature = signature if signature is not None else old.signature
            etag = etag or old.etag
            last_modified = last_modified or old.last_modified
        self._db.execute(
            "INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, kind, now.isoformat(), activity_at.isoformat() if activity_at else None, signature, etag, last_modified),
        )

    def due_for_revisit(self, now: datetime, kind: str) -> list[str]:
        """Keys of ``kind`` still inside the revisit window whose last visit is old enough, youngest first."""
        rows = self._db.execute(
            "SELECT key FROM seen WHERE kind = ? AND last_visit <= ? AND COALESCE(activity_at, last_visit) >= ?"
            " ORDER BY COALESCE(activity_at, last_visit) DESC",
            (kind, (now - self.revisit).isoformat(), (now - self.window).isoformat()),
        ).fetchall()
        return [r[0] for r in rows]

    def forget_visits_at(self, visited_at: datetime) -> int:
        """Forget the keys last visited at ``visited_at`` (one run's visits); returns how many."""
        return self._db.execute("DELETE FROM seen WHERE last_visit = ?", (visited_at.isoformat(),)).rowcount

    def close(self) -> None:
        self._db.close()


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
