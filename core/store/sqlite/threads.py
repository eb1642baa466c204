"""Threads and campaigns, stored whole as JSON by id."""

from __future__ import annotations

from datetime import datetime

from core.domain import Campaign, Thread
from core.store.sqlite.connection import to_ms


class ThreadsMixin:
    """Threads and campaigns."""

    def upsert_thread(self, thread: Thread) -> None:
        """Insert or replace a thread by id."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO threads(id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                (thread.id, thread.model_dump_json()),
            )

    def get_thread(self, thread_id: str) -> Thread | None:
        """The thread, or None."""
        row = self._conn().execute("SELECT doc FROM threads WHERE id = ?", (thread_id,)).fetchone()
        return Thread.model_validate_json(row[0]) if row else None

    def upsert_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign by id."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO campaigns(id, last_ms, doc) VALUES (?, ?, ?) ON CONFLICT(id)"
                " DO UPDATE SET last_ms = excluded.last_ms, doc = excluded.doc",
                (campaign.id, to_ms(campaign.last_at), campaign.model_dump_json()),
            )

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign, or None."""
        row = self._conn().execute("SELECT doc FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
        return Campaign.model_validate_json(row[0]) if row else None

    def list_campaigns(self, since: datetime | None = None, limit: int = 100) -> list[Campaign]:
        """Campaigns active at or after ``since`` (by ``last_at``), most recent first."""
        rows = self._conn().execute(
            "SELECT doc FROM campaigns WHERE last_ms >= ? ORDER BY last_ms DESC, id LIMIT ?",
            (to_ms(since) if since else -(2**62), limit),
        ).fetchall()
        return [Campaign.model_validate_json(r[0]) for r in rows]
