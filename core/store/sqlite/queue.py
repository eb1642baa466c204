"""Per-stage work queues with leases, and named checkpoints.

A row is one mention waiting for one stage. ``due_ms`` is when it can next be
claimed: its ready time, or its lease's end while a worker holds it, so a killed
worker's item becomes claimable again by itself. Claims run in ``BEGIN IMMEDIATE``
transactions, so two workers (threads or processes) never get the same item.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Iterable

from core.store.port import WorkItem
from core.store.sqlite.connection import from_ms, now_ms


class QueueMixin:
    """Work queues and checkpoints."""

    def enqueue(self, stage: str, mention_ids: Iterable[str], now: datetime | None = None) -> int:
        """Queue ids for ``stage``; returns how many were not already waiting.

        An id already waiting is left alone; one currently leased is marked to run
        once more after its ack; a dead one is revived with its attempts reset."""
        ids = list(dict.fromkeys(mention_ids))
        if not ids:
            return 0
        with self._write() as conn:
            return self._enqueue_in(conn, stage, ids, now_ms(now))

    def _enqueue_in(
        self, conn: sqlite3.Connection, stage: str, ids: list[str], now: int, due: list[int] | None = None
    ) -> int:
        """Enqueue inside an open transaction; ``due`` gives each id its own ready time."""
        times = due if due is not None else [now] * len(ids)
        before = conn.total_changes
        conn.executemany(
            "INSERT INTO work_queue(stage, mention_id, enqueued_ms, due_ms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(stage, mention_id) DO UPDATE SET"
            "  rerun_ms = CASE WHEN lease_owner IS NOT NULL THEN excluded.due_ms ELSE rerun_ms END,"
            "  attempts = CASE WHEN dead THEN 0 ELSE attempts END,"
            "  due_ms = CASE WHEN dead THEN excluded.due_ms ELSE due_ms END,"
            "  dead = 0"
            " WHERE lease_owner IS NOT NULL OR dead",
            [(stage, mid, t, t) for mid, t in zip(ids, times)],
        )
        return conn.total_changes - before

    def claim(
        self, stage: str, worker: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[WorkItem]:
        """Lease up to ``limit`` due items of ``stage`` to ``worker``, oldest due first."""
        if limit <= 0:
            return []
        t = now_ms(now)
        until = t + int(lease_seconds * 1000)
        with self._write() as conn:
            rows = conn.execute(
                "SELECT mention_id, attempts, enqueued_ms FROM work_queue"
                " WHERE stage = ? AND dead = 0 AND due_ms <= ? ORDER BY due_ms LIMIT ?",
                (stage, t, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE work_queue SET lease_owner = ?, due_ms = ?, attempts = attempts + 1, rerun_ms = NULL"
                " WHERE stage = ? AND mention_id = ?",
                [(worker, until, stage, mid) for mid, _, _ in rows],
            )
        return [
            WorkItem(stage=stage, mention_id=mid, attempts=attempts + 1, enqueued_at=from_ms(enq))
            for mid, attempts, enq in rows
        ]

    def ack(self, stage: str, worker: str, mention_ids: Iterable[str]) -> int:
        """Remove items this worker still holds (items marked to run again are re-queued)."""
        ids = list(dict.fromkeys(mention_ids))
        if not ids:
            return 0
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(
                "DELETE FROM work_queue WHERE stage = ? AND mention_id = ? AND lease_owner = ? AND rerun_ms IS NULL",
                [(stage, mid, worker) for mid in ids],
            )
            conn.executemany(
                "UPDATE work_queue SET lease_owner = NULL, attempts = 0, due_ms = rerun_ms, enqueued_ms = rerun_ms,"
                " rerun_ms = NULL WHERE stage = ? AND mention_id = ? AND lease_owner = ? AND rerun_ms IS NOT NULL",
                [(stage, mid, worker) for mid in ids],
            )
            return conn.total_changes - before

    def fail(
        self, stage: str, worker: str, mention_id: str, error: str, retry_in_seconds: float = 60,
        max_attempts: int = 5, now: datetime | None = None,
    ) -> None:
        """Record a failed attempt: retry after ``retry_in_seconds`` or, after
        ``max_attempts`` attempts, mark the item dead. Ignored if the lease was lost."""
        t = now_ms(now)
        with self._write() as conn:
            conn.execute(
                "UPDATE work_queue SET lease_owner = NULL, last_error = ?,"
                " dead = CASE WHEN attempts >= ? THEN 1 ELSE 0 END, due_ms = ?"
                " WHERE stage = ? AND mention_id = ? AND lease_owner = ?",
                (error, max_attempts, t + int(retry_in_seconds * 1000), stage, mention_id, worker),
            )

    def queue_depth(self, stage: str, now: datetime | None = None) -> dict[str, int]:
        """Counts of ``stage``: ready (claimable now), leased, delayed (waiting to retry), dead."""
        t = now_ms(now)
        row = self._conn().execute(
            "SELECT"
            " sum(dead = 0 AND due_ms <= ?),"
            " sum(dead = 0 AND lease_owner IS NOT NULL AND due_ms > ?),"
            " sum(dead = 0 AND lease_owner IS NULL AND due_ms > ?),"
            " sum(dead = 1)"
            " FROM work_queue WHERE stage = ?",
            (t, t, t, stage),
        ).fetchone()
        return {k: int(v or 0) for k, v in zip(("ready", "leased", "delayed", "dead"), row)}

    def dead_items(self, stage: str, limit: int = 100) -> list[dict[str, Any]]:
        """Items of ``stage`` that failed ``max_attempts`` times, with their last error."""
        rows = self._conn().execute(
            "SELECT mention_id, attempts, last_error, enqueued_ms FROM work_queue"
            " WHERE stage = ? AND dead = 1 ORDER BY enqueued_ms, mention_id LIMIT ?",
            (stage, limit),
        ).fetchall()
        return [
            {"stage": stage, "mention_id": mid, "attempts": attempts, "error": err,
             "enqueued_at": from_ms(enq)}
            for mid, attempts, err, enq in rows
        ]

    def stages(self) -> list[str]:
        """Stages that have queue rows."""
        return [r[0] for r in self._conn().execute("SELECT DISTINCT stage FROM work_queue ORDER BY stage")]

    def get_checkpoint(self, name: str) -> str | None:
        """The stored value of checkpoint ``name``, or None."""
        row = self._conn().execute("SELECT value FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_checkpoint(self, name: str, value: str) -> None:
        """Store (replace) checkpoint ``name``."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO checkpoints(name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
