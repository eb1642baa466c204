"""Outbox deliveries: enqueue by id, claim due ones with leases, record outcomes.

A claim searches due candidates and then writes each one (``status=sending``, lease,
attempts + 1) with ``if_seq_no``/``if_primary_term`` of the version it saw; a 409 means
another dispatcher won it, so two dispatchers never hold the same delivery, and the
claim pages on past it (a lease carries a token, so one the server applied but answered
late, then retried into a 409, is still recognised as won). Outcomes
(sent/failed/dead) are conditional writes by the worker that still holds the lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from core.domain import Delivery, DeliveryStatus
from core.store.elastic.client import (
    claim_by_search, get_doc, index_if_unchanged, iso, mget_docs, new_write_token, now_utc, run_bulk, search_hits,
)
from core.store.port import ConflictError, NotFoundError, StoreError


LEASE_TOKEN = "bg_lease"


def delivery_from_source(source: dict[str, Any]) -> Delivery:
    """A stored delivery document back as a Delivery (the lease token dropped)."""
    return Delivery.model_validate({k: v for k, v in source.items() if k != LEASE_TOKEN})


class OutboxMixin:
    """The notification outbox."""

    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Insert deliveries not already stored (by id); returns how many were new."""
        index = self._names.alias("deliveries")
        actions = [{"_op_type": "create", "_index": index, "_id": d.id, "_source": d.model_dump(mode="json")}
                   for d in deliveries]
        items = run_bulk(self._es, actions)
        failed = [i for i in items if not i.ok and not i.conflict]
        if failed:
            raise StoreError(f"{len(failed)} deliveries not stored: " + "; ".join(f"{i.id}: {i.error}" for i in failed[:5]))
        return sum(1 for i in items if i.ok)

    def claim_due_deliveries(
        self, worker: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[Delivery]:
        """Lease due pending/failed deliveries (and ``sending`` ones whose lease expired)
        to ``worker``; each claim counts as one attempt."""
        if limit <= 0:
            return []
        self.flush_pending_outbox()
        t = now_utc(now)
        until = t + timedelta(seconds=lease_seconds)
        index = self._names.alias("deliveries")
        due = {"bool": {"should": [
            {"bool": {"filter": [{"terms": {"status": ["pending", "failed"]}},
                                 {"range": {"next_attempt_at": {"lte": iso(t)}}}]}},
            {"bool": {"filter": [{"term": {"status": "sending"}}, {"range": {"lease_until": {"lte": iso(t)}}}]}},
        ], "minimum_should_match": 1}}
        sort = [{"next_attempt_at": "asc"}, {"created_at": "asc"}, {"id": "asc"}]
        return claim_by_search(self._es, index, due, sort, limit,
                               lambda hits: self._lease_deliveries(index, hits, worker, until))

    def _lease_deliveries(self, index: str, hits: list[dict[str, Any]], worker: str, until: datetime) -> list[Delivery]:
        planned: dict[str, Delivery] = {}
        actions: list[dict[str, Any]] = []
        token = new_write_token()
        for hit in hits:
            d = delivery_from_source(hit["_source"])
            d = d.model_copy(update={"status": DeliveryStatus.sending, "lease_owner": worker, "lease_until": until,
                                     "attempts": d.attempts + 1})
            planned[d.id] = d
            actions.append({"_op_type": "index", "_index": index, "_id": d.id,
                            "_source": {**d.model_dump(mode="json"), LEASE_TOKEN: token},
                            "if_seq_no": hit["_seq_no"], "if_primary_term": hit["_primary_term"]})
        items = run_bulk(self._es, actions)
        won = {i.id for i in items if i.ok}
        unsure = [i.id for i in items if not i.ok]  # 409: another dispatcher won -- or our late, retried lease
        if unsure:
            won |= {doc.id for doc in mget_docs(self._es, index, unsure).values() if doc.source.get(LEASE_TOKEN) == token}
        return [d for i, d in planned.items() if i in won]

    def _settle(self, delivery_id: str, worker: str, update: dict[str, Any]) -> bool:
        index = self._names.alias("deliveries")
        doc = get_doc(self._es, index, delivery_id)
        if doc is None:
            return False
        d = delivery_from_source(doc.source)
        if d.status != DeliveryStatus.sending or d.lease_owner != worker:
            return False
        new = d.model_copy(update={"lease_owner": None, "lease_until": None, **update})
        return index_if_unchanged(self._es, index, doc, new.model_dump(mode="json"))

    def mark_delivery_sent(self, delivery_id: str, worker: str, now: datetime | None = None) -> bool:
        """Record success; False when ``worker`` no longer holds the delivery."""
        return self._settle(delivery_id, worker, {"status": DeliveryStatus.sent, "sent_at": now_utc(now),
                                                  "last_error": None})

    def mark_delivery_failed(
        self, delivery_id: str, worker: str, error: str, next_attempt_at: datetime | None, dead: bool = False
    ) -> bool:
        """Record a failed attempt: retry at ``next_attempt_at``, or give up when ``dead``
        (or when no retry time is given). False when the lease was lost."""
        give_up = dead or next_attempt_at is None
        update: dict[str, Any] = {"status": DeliveryStatus.dead if give_up else DeliveryStatus.failed,
                                  "last_error": error}
        if not give_up:
            update["next_attempt_at"] = next_attempt_at
        return self._settle(delivery_id, worker, update)

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("deliveries"), delivery_id)
        return delivery_from_source(doc.source) if doc else None

    def rewrite_delivery_payloads(self, alert_id: str, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
        """Replace the payload of each delivery of ``alert_id`` by ``transform(payload)``."""
        index = self._names.alias("deliveries")
        self._es.indices.refresh(index=index)
        hits = search_hits(self._es, index, size=10_000, query={"term": {"alert_id": alert_id}})
        actions = []
        for hit in hits:
            old = Delivery.model_validate(hit["_source"])
            payload = transform(old.payload)
            if payload != old.payload:
                new = old.model_copy(update={"payload": payload})
                actions.append({"_op_type": "index", "_index": index, "_id": hit["_id"],
                                "_source": new.model_dump(mode="json")})
        failed = [item for item in run_bulk(self._es, actions, refresh="wait_for") if item.error]
        if failed:
            raise StoreError(f"rewriting {len(failed)} delivery payload(s) failed: {failed[0].error}")
        return len(actions)

    def list_deliveries(
        self, *, alert_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Deliveries (of an alert, in a status), oldest first."""
        filters = [{"term": {field: getattr(value, "value", value)}}
                   for field, value in (("alert_id", alert_id), ("status", status)) if value is not None]
        hits = search_hits(self._es, self._names.alias("deliveries"), size=limit,
                           query={"bool": {"filter": filters}}, sort=[{"created_at": "asc"}, {"id": "asc"}])
        return [delivery_from_source(h["_source"]) for h in hits]

    def redeliver(self, delivery_id: str, now: datetime | None = None) -> Delivery:
        """Make a delivery pending again, due now, with its attempts reset."""
        index = self._names.alias("deliveries")
        doc = get_doc(self._es, index, delivery_id)
        if doc is None:
            raise NotFoundError(f"delivery {delivery_id!r} not found")
        d = delivery_from_source(doc.source).model_copy(update={
            "status": DeliveryStatus.pending, "attempts": 0, "next_attempt_at": now_utc(now),
            "lease_owner": None, "lease_until": None,
        })
        if not index_if_unchanged(self._es, index, doc, d.model_dump(mode="json")):
            raise ConflictError(f"delivery {delivery_id!r} changed meanwhile; retry")
        return d

    def count_deliveries_by_status(self) -> dict[str, int]:
        """Number of deliveries per status (statuses without deliveries are left out)."""
        resp = self._es.search(index=self._names.alias("deliveries"), size=0,
                               aggs={"statuses": {"terms": {"field": "status", "size": 20}}}).body
        return {b["key"]: int(b["doc_count"]) for b in resp["aggregations"]["statuses"]["buckets"]}
