"""Threads and campaigns, stored whole under their own ids (last write wins).

The risk stage is their only writer and rebuilds a thread/campaign from its mentions
on every pass, so a plain ``index`` by id is idempotent and needs no concurrency token.
"""

from __future__ import annotations

from datetime import datetime

from core.domain import Campaign, Thread
from core.store.elastic.client import get_doc, iso, search_hits


class ThreadsMixin:
    """Threads and campaigns."""

    def upsert_thread(self, thread: Thread) -> None:
        """Insert or replace a thread by id."""
        self._es.index(index=self._names.alias("threads"), id=thread.id, document=thread.model_dump(mode="json"))

    def get_thread(self, thread_id: str) -> Thread | None:
        """The thread (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("threads"), thread_id)
        return Thread.model_validate(doc.source) if doc else None

    def upsert_campaign(self, campaign: Campaign) -> None:
        """Insert or replace a campaign by id."""
        self._es.index(index=self._names.alias("campaigns"), id=campaign.id,
                       document=campaign.model_dump(mode="json"))

    def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("campaigns"), campaign_id)
        return Campaign.model_validate(doc.source) if doc else None

    def list_campaigns(self, since: datetime | None = None, limit: int = 100) -> list[Campaign]:
        """Campaigns active at or after ``since`` (by ``last_at``), most recent first."""
        query = {"range": {"last_at": {"gte": iso(since)}}} if since else {"match_all": {}}
        hits = search_hits(self._es, self._names.alias("campaigns"), size=limit, query=query,
                           sort=[{"last_at": "desc"}, {"id": "asc"}])
        return [Campaign.model_validate(h["_source"]) for h in hits]
