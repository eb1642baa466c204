"""Alerts with optimistic concurrency, fingerprint uniqueness, and silences.

Elasticsearch has no transactions and no unique constraint besides ``_id``, so:

- **Version check**: ``update_alert`` reads the alert (realtime GET), compares its
  ``version`` with ``expected_version`` and writes with ``if_seq_no``/``if_primary_term``
  of what it read; a 409 means someone else changed it first -> ``ConflictError``.
- **One unresolved alert per fingerprint**: a pointer document
  ``fingerprint:<hash>`` in the meta index names the newest alert of the fingerprint.
  Creating an alert (or reopening one) takes the pointer with a conditional write
  (``op_type=create`` or ``if_seq_no``): two workers racing on one fingerprint cannot
  both win. The pointer also answers ``find_alert_by_fingerprint`` in realtime.
- **Alert + deliveries in one unit**: the deliveries are embedded in the alert
  document (``bg_outbox``, one atomic write), then copied into the deliveries index
  (``create`` by their stable ids, so repeating is harmless) and the embedded copy is
  cleared. If the process dies in between, ``flush_pending_outbox`` (run by every
  ``claim_due_deliveries``) finishes the copy: a delivery is never lost and never sent
  for an alert change that was refused.
- **Own writes recognised**: alert and pointer writes carry a write token (``bg_write``);
  when the client retries a write the server had applied but answered late, the 409 it gets
  is checked against the stored token, so ``create_alert``/``update_alert`` succeed for
  their own write instead of reporting "exists" or ``ConflictError``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Sequence

from core.domain import Alert, AlertState, Delivery, Silence
from core.store.elastic.client import (
    WRITE_TOKEN, Doc, create_if_absent, decode_cursor, encode_cursor, get_doc, index_if_unchanged, iso,
    new_write_token, run_bulk, search_hits,
)
from core.store.port import AlertFilter, ConflictError, NotFoundError, StoreError

INTERNAL = ("bg_outbox", "bg_outbox_pending", WRITE_TOKEN)


def pointer_id(fingerprint: str) -> str:
    """The meta document naming the newest alert of ``fingerprint``."""
    return "fingerprint:" + hashlib.blake2b(fingerprint.encode(), digest_size=16).hexdigest()


def alert_source(alert: Alert, outbox: Sequence[dict[str, Any]] = (), token: str | None = None) -> dict[str, Any]:
    doc = alert.model_dump(mode="json")
    doc[WRITE_TOKEN] = token
    doc["bg_outbox"] = list(outbox)
    doc["bg_outbox_pending"] = bool(outbox)
    return doc


def alert_from_source(source: dict[str, Any]) -> Alert:
    return Alert.model_validate({k: v for k, v in source.items() if k not in INTERNAL})


class AlertsMixin:
    """Alerts and silences (deliveries live in ``outbox``)."""

    def create_alert(self, alert: Alert, deliveries: Sequence[Delivery] = ()) -> Alert:
        """Insert a new alert (version 1) with its deliveries; ConflictError when the id
        exists or an unresolved alert has the same fingerprint."""
        stored = alert.model_copy(update={"version": 1})
        alias = self._names.alias("alerts")
        if get_doc(self._es, alias, alert.id) is not None:
            raise ConflictError(f"alert {alert.id!r} not created: an alert with this id exists")
        if stored.state != AlertState.resolved:
            self._take_fingerprint(stored)
        outbox = [d.model_dump(mode="json") for d in deliveries]
        token = new_write_token()
        if not create_if_absent(self._es, alias, stored.id, alert_source(stored, outbox, token)):
            current = get_doc(self._es, alias, alert.id)
            if current is None or current.source.get(WRITE_TOKEN) != token:
                raise ConflictError(f"alert {alert.id!r} not created: an alert with this id exists")
        if outbox:
            self._flush_outbox(alert.id)
        return stored

    def update_alert(self, alert: Alert, expected_version: int, deliveries: Sequence[Delivery] = ()) -> Alert:
        """Replace the alert when its stored version is ``expected_version`` (then +1),
        with its deliveries in the same document write; ConflictError otherwise."""
        alias = self._names.alias("alerts")
        stored = alert.model_copy(update={"version": expected_version + 1})
        new_outbox = [d.model_dump(mode="json") for d in deliveries]
        token = new_write_token()
        for _ in range(3):
            doc = get_doc(self._es, alias, alert.id)
            if doc is None:
                raise NotFoundError(f"alert {alert.id!r} not found")
            if doc.source.get(WRITE_TOKEN) == token:  # our write landed; its answer was lost and retried
                if doc.source.get("bg_outbox"):
                    self._flush_outbox(alert.id)
                return stored
            current = int(doc.source.get("version", 0))
            if current != expected_version:
                raise ConflictError(
                    f"alert {alert.id!r} changed meanwhile: stored version {current}, expected {expected_version}")
            if stored.state != AlertState.resolved:
                self._take_fingerprint(stored)
            outbox = list(doc.source.get("bg_outbox") or []) + new_outbox
            if index_if_unchanged(self._es, alias, doc, alert_source(stored, outbox, token)):
                if outbox:
                    self._flush_outbox(alert.id)
                return stored
            # 409: loop to tell a real concurrent update (version moved) from housekeeping
        raise ConflictError(f"alert {alert.id!r} is being changed concurrently; retry")

    def _take_fingerprint(self, alert: Alert) -> None:
        """Point the fingerprint at ``alert``, unless another unresolved alert holds it.

        A 409 is looked at again: the pointer may now name this alert (our own write,
        answered late and retried) or another one (a real race)."""
        meta = self._names.alias("meta")
        pid = pointer_id(alert.fingerprint)
        body = {"kind": "fingerprint", "name": alert.fingerprint, "alert_id": alert.id}
        for _ in range(3):
            pointer = get_doc(self._es, meta, pid)
            if pointer is None:
                if create_if_absent(self._es, meta, pid, body):
                    return
                continue
            holder = pointer.source.get("alert_id")
            if holder == alert.id:
                return
            other = get_doc(self._es, self._names.alias("alerts"), holder) if holder else None
            if other is not None and other.source.get("state") != AlertState.resolved.value:
                raise ConflictError(
                    f"alert {alert.id!r}: unresolved alert {holder!r} already has fingerprint {alert.fingerprint!r}")
            if index_if_unchanged(self._es, meta, pointer, body):
                return
        raise ConflictError(f"alert {alert.id!r}: fingerprint {alert.fingerprint!r} was taken concurrently")

    def _flush_outbox(self, alert_id: str) -> None:
        """Copy an alert's embedded deliveries to the deliveries index, then clear them."""
        alias = self._names.alias("alerts")
        doc = get_doc(self._es, alias, alert_id)
        if doc is None or not doc.source.get("bg_outbox"):
            return
        self._copy_outbox(doc)
        # A conflict means the alert changed again; that writer flushes its own outbox.
        index_if_unchanged(self._es, alias, doc, dict(doc.source, bg_outbox=[], bg_outbox_pending=False))

    def _copy_outbox(self, doc: Doc) -> None:
        deliveries = self._names.alias("deliveries")
        actions = [{"_op_type": "create", "_index": deliveries, "_id": d["id"], "_source": d}
                   for d in doc.source.get("bg_outbox") or []]
        failed = [i for i in run_bulk(self._es, actions) if not i.ok and not i.conflict]
        if failed:
            raise StoreError(f"alert {doc.id!r}: {len(failed)} deliveries not stored: {failed[0].id}: {failed[0].error}")

    def flush_pending_outbox(self, limit: int = 100) -> int:
        """Finish outbox copies interrupted by a crash; returns how many alerts had some."""
        hits = search_hits(self._es, self._names.alias("alerts"), size=limit, _source=["id"],
                           query={"term": {"bg_outbox_pending": True}})
        for hit in hits:
            self._flush_outbox(hit["_id"])
        return len(hits)

    def get_alert(self, alert_id: str) -> Alert | None:
        """The alert (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("alerts"), alert_id)
        return alert_from_source(doc.source) if doc else None

    def find_alert_by_fingerprint(self, fingerprint: str) -> Alert | None:
        """The newest alert with this fingerprint, resolved ones included (realtime)."""
        pointer = get_doc(self._es, self._names.alias("meta"), pointer_id(fingerprint))
        if pointer is not None and (alert := self.get_alert(pointer.source.get("alert_id", ""))) is not None:
            if alert.fingerprint == fingerprint:
                return alert
        hits = search_hits(self._es, self._names.alias("alerts"), size=1, query={"term": {"fingerprint": fingerprint}},
                           sort=[{"created_at": "desc"}, {"id": "desc"}])
        return alert_from_source(hits[0]["_source"]) if hits else None

    def list_alerts(self, flt: AlertFilter) -> tuple[list[Alert], str | None]:
        """Alerts matching the filter, most recently updated first, with a cursor."""
        filters: list[dict[str, Any]] = []
        for field, values in (("state", [getattr(s, "value", s) for s in flt.states]),
                              ("severity", flt.severities), ("brand", flt.brands)):
            if values:
                filters.append({"terms": {field: values}})
        for field, value in (("rule", flt.rule), ("customer_id", flt.customer_id), ("assignee", flt.assignee)):
            if value is not None:
                filters.append({"term": {field: value}})
        body: dict[str, Any] = {"size": flt.limit + 1, "query": {"bool": {"filter": filters}},
                                "sort": [{"updated_at": "desc"}, {"id": "desc"}]}
        if flt.cursor:
            body["search_after"] = decode_cursor("alerts", flt.cursor, ("int", "str"))
        hits = search_hits(self._es, self._names.alias("alerts"), **body)
        more = len(hits) > flt.limit
        hits = hits[: flt.limit]
        cursor = encode_cursor("alerts", hits[-1]["sort"]) if more else None
        return [alert_from_source(h["_source"]) for h in hits], cursor

    def alerts_due_for_escalation(self, now: datetime, limit: int = 100) -> list[Alert]:
        """Open, unacknowledged, not yet escalated alerts past their ack deadline."""
        hits = search_hits(
            self._es, self._names.alias("alerts"), size=limit,
            query={"bool": {"filter": [{"term": {"state": AlertState.open.value}}, {"term": {"escalated": False}},
                                       {"range": {"ack_deadline": {"lte": iso(now)}}}]}},
            sort=[{"ack_deadline": "asc"}, {"id": "asc"}],
        )
        return [alert_from_source(h["_source"]) for h in hits]

    def count_alerts_by_state(self) -> dict[str, int]:
        """Number of alerts per state (states without alerts are left out)."""
        resp = self._es.search(index=self._names.alias("alerts"), size=0,
                               aggs={"states": {"terms": {"field": "state", "size": 20}}}).body
        return {b["key"]: int(b["doc_count"]) for b in resp["aggregations"]["states"]["buckets"]}

    # ------------------------------------------------------------ silences

    def add_silence(self, silence: Silence) -> None:
        """Insert or replace a silence by id.

        ``refresh="wait_for"``: the next alert evaluation lists silences by search, and a
        silence that is not yet visible would fail open. Silences are rare operator
        actions, not a hot path."""
        self._es.index(index=self._names.alias("silences"), id=silence.id,
                       document=silence.model_dump(mode="json"), refresh="wait_for")

    def list_silences(self, active_at: datetime | None = None) -> list[Silence]:
        """Every silence, or those active at ``active_at`` (starts <= t < ends)."""
        query: dict[str, Any] = {"match_all": {}}
        if active_at is not None:
            t = iso(active_at)
            query = {"bool": {"filter": [{"range": {"starts_at": {"lte": t}}}, {"range": {"ends_at": {"gt": t}}}]}}
        hits = search_hits(self._es, self._names.alias("silences"), size=10_000, query=query,
                           sort=[{"starts_at": "asc"}, {"id": "asc"}])
        return [Silence.model_validate(h["_source"]) for h in hits]

    def delete_silence(self, silence_id: str) -> bool:
        """Delete a silence; False when there was none (``wait_for``: see ``add_silence``)."""
        resp = self._es.options(ignore_status=404).delete(
            index=self._names.alias("silences"), id=silence_id, refresh="wait_for")
        return resp.body.get("result") == "deleted"
