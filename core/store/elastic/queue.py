"""Per-stage work queues with leases, and named checkpoints.

One document per (stage, mention) with ``_id`` ``<stage>:<mention id>``. ``due_ms`` is
when it can next be claimed: its ready time, or its lease's end while a worker holds
it, so a killed worker's item becomes claimable again by itself.

A claim searches due candidates and then writes each one with ``if_seq_no`` /
``if_primary_term`` of the version it saw: of two workers racing for an item, one
write wins and the other gets 409 and simply does not get that item. The candidate
search may see a slightly stale (not yet refreshed) version; the conditional write
then fails, so staleness can only cost a claim, never double-lease an item. Ack and
fail are realtime GETs plus conditional writes, so a worker whose lease was taken
over cannot remove or fail the new holder's item.

Enqueueing is one bulk of scripted ``update``s with an ``upsert``: a new id is
created; an id leased right now gets ``rerun_ms`` (queued again, from that time, after its ack); a
dead one is revived; an id already waiting is a ``noop``. An ``_update`` reads and then writes,
so one racing a lease, an ack or another enqueue gets 409: ``retry_on_conflict`` makes the
server read again, and items still refused (409 or 429 after the bulk helper's back-off) are
sent again by the adapter (``ENQUEUE_ROUNDS``) before it gives up loudly. The script is
idempotent, so a retried enqueue never queues twice.

A lease write carries a lease token: a lease the server applied but answered late (the
client retries, gets 409) is recognised as won instead of being left to expire.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Iterable

from core.store.elastic.client import (
    claim_by_search, from_ms, get_doc, index_if_unchanged, mget_docs, new_write_token, now_utc, run_bulk,
    search_hits, to_ms,
)
from core.store.port import StoreError, WorkItem

ENQUEUE_SCRIPT = (
    "if (ctx._source.lease_owner != null) { ctx._source.rerun_ms = params.due; }"
    " else if (ctx._source.dead == true) { ctx._source.dead = false; ctx._source.attempts = 0;"
    " ctx._source.due_ms = params.due; }"
    " else { ctx.op = 'noop'; }"
)


RETRY_ON_CONFLICT = 5  # server-side re-reads of one contended enqueue
ENQUEUE_ROUNDS = 5  # adapter-side re-sends of items still refused


def queue_id(stage: str, mention_id: str) -> str:
    """The deterministic ``_id`` of a queue item."""
    return f"{stage}:{mention_id}"


class QueueMixin:
    """Work queues and checkpoints."""

    def enqueue(self, stage: str, mention_ids: Iterable[str], now: datetime | None = None) -> int:
        """Queue ids for ``stage``; returns how many were new, revived or marked to re-run."""
        t = to_ms(now_utc(now))
        return self._enqueue_due(stage, {mid: t for mid in mention_ids})

    def _enqueue_due(self, stage: str, due: dict[str, int]) -> int:
        """Queue each id with its own ready time (epoch ms)."""
        if not due:
            return 0
        index = self._names.alias("queue")
        pending = dict(due)
        counted = 0
        failed: list[str] = []
        for round_no in range(ENQUEUE_ROUNDS):
            actions = [{
                "_op_type": "update", "_index": index, "_id": queue_id(stage, mid), "retry_on_conflict": RETRY_ON_CONFLICT,
                "script": {"source": ENQUEUE_SCRIPT, "lang": "painless", "params": {"due": t}},
                "upsert": {"stage": stage, "mention_id": mid, "enqueued_ms": t, "due_ms": t, "attempts": 0,
                           "lease_owner": None, "rerun_ms": None, "dead": False, "last_error": None},
            } for mid, t in pending.items()]
            items = run_bulk(self._es, actions)
            counted += sum(1 for i in items if i.ok and i.result in ("created", "updated"))
            retry = {i.id.partition(":")[2] for i in items if not i.ok and (i.conflict or i.status in (429, 503))}
            failed = [f"{i.id}: {i.error}" for i in items if not i.ok]
            pending = {mid: t for mid, t in pending.items() if mid in retry}
            if not pending or len(failed) > len(retry):
                break
            time.sleep(min(2.0, 0.05 * 2 ** round_no))
        if failed:
            raise StoreError(f"could not queue {len(failed)} item(s) for {stage!r}: " + "; ".join(failed[:5]))
        return counted

    def claim(
        self, stage: str, worker: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[WorkItem]:
        """Lease up to ``limit`` due items of ``stage`` to ``worker``, oldest due first.

        Candidates another worker took first are skipped (see ``claim_by_search``)."""
        if limit <= 0:
            return []
        t = to_ms(now_utc(now))
        until = t + int(lease_seconds * 1000)
        index = self._names.alias("queue")
        query = {"bool": {"filter": [{"term": {"stage": stage}}, {"term": {"dead": False}},
                                     {"range": {"due_ms": {"lte": t}}}]}}
        return claim_by_search(self._es, index, query, [{"due_ms": "asc"}, {"mention_id": "asc"}], limit,
                               lambda hits: self._lease_items(index, hits, worker, until))

    def _lease_items(self, index: str, hits: list[dict[str, Any]], worker: str, until: int) -> list[WorkItem]:
        actions, planned = [], {}
        token = new_write_token()
        for hit in hits:
            src = dict(hit["_source"], lease_owner=worker, due_ms=until, rerun_ms=None, lease_token=token,
                       attempts=int(hit["_source"].get("attempts", 0)) + 1)
            planned[hit["_id"]] = src
            actions.append({"_op_type": "index", "_index": index, "_id": hit["_id"], "_source": src,
                            "if_seq_no": hit["_seq_no"], "if_primary_term": hit["_primary_term"]})
        items = run_bulk(self._es, actions)
        won = {i.id for i in items if i.ok}
        unsure = [i.id for i in items if not i.ok]
        if unsure:  # 409 from another worker's win, or from our own lease answered late and retried
            won |= {d.id for d in mget_docs(self._es, index, unsure).values() if d.source.get("lease_token") == token}
        return [
            WorkItem(stage=planned[i]["stage"], mention_id=planned[i]["mention_id"],
                     attempts=planned[i]["attempts"], enqueued_at=from_ms(planned[i]["enqueued_ms"]))
            for i in planned if i in won
        ]

    def ack(self, stage: str, worker: str, mention_ids: Iterable[str]) -> int:
        """Remove items this worker still holds (items marked to run again are re-queued).

        An ack racing an enqueue of the same item (which sets ``rerun_ms``) gets 409: it reads
        the item again and re-queues it instead, so the item neither stays leased nor is lost."""
        pending = [queue_id(stage, mid) for mid in dict.fromkeys(mention_ids)]
        index = self._names.alias("queue")
        done = 0
        for _ in range(ENQUEUE_ROUNDS):
            if not pending:
                break
            actions: list[dict[str, Any]] = []
            for doc in mget_docs(self._es, index, pending).values():
                if doc.source.get("lease_owner") != worker:
                    continue
                rerun = doc.source.get("rerun_ms")
                if rerun is not None:  # enqueued again while leased: due again from that time
                    src = dict(doc.source, lease_owner=None, rerun_ms=None, attempts=0, due_ms=rerun, enqueued_ms=rerun)
                    actions.append({"_op_type": "index", "_index": index, "_id": doc.id, "_source": src, **doc.token})
                else:
                    actions.append({"_op_type": "delete", "_index": index, "_id": doc.id, **doc.token})
            items = run_bulk(self._es, actions)
            done += sum(1 for item in items if item.ok)
            pending = [item.id for item in items if item.conflict or item.status in (429, 503)]
        return done

    def fail(
        self, stage: str, worker: str, mention_id: str, error: str, retry_in_seconds: float = 60,
        max_attempts: int = 5, now: datetime | None = None,
    ) -> None:
        """Record a failed attempt: retry after ``retry_in_seconds`` or, after
        ``max_attempts`` attempts, mark the item dead. Ignored if the lease was lost;
        re-read and written again when an enqueue changed the item meanwhile (409)."""
        index = self._names.alias("queue")
        t = to_ms(now_utc(now))
        for _ in range(ENQUEUE_ROUNDS):
            doc = get_doc(self._es, index, queue_id(stage, mention_id))
            if doc is None or doc.source.get("lease_owner") != worker:
                return
            src = dict(doc.source, lease_owner=None, last_error=error,
                       dead=int(doc.source.get("attempts", 0)) >= max_attempts,
                       due_ms=t + int(retry_in_seconds * 1000))
            if index_if_unchanged(self._es, index, doc, src):
                return

    def queue_depth(self, stage: str, now: datetime | None = None) -> dict[str, int]:
        """Counts of ``stage``: ready (claimable now), leased, delayed (waiting to retry), dead."""
        t = to_ms(now_utc(now))
        live = {"term": {"dead": False}}
        filters = {
            "ready": {"bool": {"filter": [live, {"range": {"due_ms": {"lte": t}}}]}},
            "leased": {"bool": {"filter": [live, {"range": {"due_ms": {"gt": t}}}, {"exists": {"field": "lease_owner"}}]}},
            "delayed": {"bool": {"filter": [live, {"range": {"due_ms": {"gt": t}}}],
                                 "must_not": [{"exists": {"field": "lease_owner"}}]}},
            "dead": {"term": {"dead": True}},
        }
        resp = self._es.search(index=self._names.alias("queue"), size=0, query={"term": {"stage": stage}},
                               aggs={"depth": {"filters": {"filters": filters}}}).body
        buckets = resp["aggregations"]["depth"]["buckets"]
        return {name: int(buckets[name]["doc_count"]) for name in ("ready", "leased", "delayed", "dead")}

    def dead_items(self, stage: str, limit: int = 100) -> list[dict[str, Any]]:
        """Items of ``stage`` that failed ``max_attempts`` times, with their last error."""
        hits = search_hits(self._es, self._names.alias("queue"), size=limit,
                           query={"bool": {"filter": [{"term": {"stage": stage}}, {"term": {"dead": True}}]}},
                           sort=[{"enqueued_ms": "asc"}, {"mention_id": "asc"}])
        return [{"stage": stage, "mention_id": h["_source"]["mention_id"], "attempts": h["_source"].get("attempts", 0),
                 "error": h["_source"].get("last_error"), "enqueued_at": from_ms(h["_source"]["enqueued_ms"])}
                for h in hits]

    def stages(self) -> list[str]:
        """Stages that have queue items."""
        resp = self._es.search(index=self._names.alias("queue"), size=0,
                               aggs={"stages": {"terms": {"field": "stage", "size": 100}}}).body
        return sorted(b["key"] for b in resp["aggregations"]["stages"]["buckets"])

    # ------------------------------------------------------------ checkpoints

    def get_checkpoint(self, name: str) -> str | None:
        """The stored value of checkpoint ``name`` (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("meta"), f"checkpoint:{name}")
        return doc.source.get("text") if doc else None

    def set_checkpoint(self, name: str, value: str) -> None:
        """Store (replace) checkpoint ``name``."""
        self._es.index(index=self._names.alias("meta"), id=f"checkpoint:{name}",
                       document={"kind": "checkpoint", "name": name, "text": value})
