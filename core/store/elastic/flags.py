"""Risk flags with a gap-safe change feed, and hashed API keys.

The feed problem: Elasticsearch has no transactions, so two writers that take seqs 7
and 8 may make 8 searchable before 7. A reader paging by ``seq`` would then move its
cursor past 7 and miss it for ever. The design:

1. **Allocation**: a counter document ``counter:risk_flags`` in the meta index holds the
   last seq and the list of seqs *in flight* (allocated, not yet searchable). A writer
   takes the next seq and adds it to ``inflight`` with one conditional write
   (``if_seq_no``/``if_primary_term``; a 409 retries), so seqs are unique.
2. **Write**: the flag document (``_id`` = crm id, one per customer, so only its newest
   change is kept) is written (a conditional write: two writers of one customer cannot
   both land) -- no refresh, so writers stay fast.
3. **Release**: the writer removes its seq from ``inflight`` (conditional write, retried).
4. **Feed**: the reader reads the counter (realtime GET) and serves only seqs up to the
   *watermark*: one below the lowest seq still in flight (or the last seq if none).
   Everything at or below the watermark has been written; the reader then refreshes the
   (small) risk-flags index, so it is all searchable before the search. A cursor never
   jumps over a change that becomes visible later: no misses; seqs are unique and the
   cursor only moves forward: no duplicates. The refresh is on the poll path of the CRM
   (one per feed page, cheap when nothing changed), never on a write path.

A writer that dies between 1 and 3 would hold the watermark back for ever, so an
in-flight entry older than ``INFLIGHT_TIMEOUT_S`` is ignored (and pruned). The honest
limit: a writer stalled longer than that between allocating and writing could still
publish a seq below a cursor already handed out (documented in docs/elasticsearch.md).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from core.domain import ApiKey, RiskFlag
from core.store.elastic.client import (
    create_if_absent, get_doc, index_if_unchanged, now_utc, search_hits,
)
from core.store.common import feed_cursor_seq
from core.store.port import FeedPage, StoreError

COUNTER_ID = "counter:risk_flags"
INFLIGHT_TIMEOUT_S = 60.0
MAX_TRIES = 50


def _signature(flag: RiskFlag) -> tuple[object, ...]:
    return (flag.level.value, round(flag.score, 1), tuple(flag.reasons), tuple(flag.evidence_ids))


def _now_ms() -> int:
    return int(time.time() * 1000)


class RiskFlagsMixin:
    """Risk flags (with the feed) and API keys."""

    # ------------------------------------------------------------ sequence counter

    def _update_counter(self, change: Any) -> Any:
        """Apply ``change(state) -> (new_state, result)`` to the counter document with
        a conditional write, retrying on conflicts; returns ``result``."""
        meta = self._names.alias("meta")
        for _ in range(MAX_TRIES):
            doc = get_doc(self._es, meta, COUNTER_ID)
            state = {"value": 0, "inflight": []} if doc is None else {
                "value": int(doc.source.get("value", 0)), "inflight": list(doc.source.get("inflight", []))}
            new_state, result = change(state)
            body = {"kind": "counter", "name": "risk_flags", **new_state}
            ok = create_if_absent(self._es, meta, COUNTER_ID, body) if doc is None else \
                index_if_unchanged(self._es, meta, doc, body)
            if ok:
                return result
        raise StoreError("risk flag sequence counter is contended; gave up after retries")

    def _allocate_seq(self) -> int:
        def take(state: dict[str, Any]) -> tuple[dict[str, Any], int]:
            seq = state["value"] + 1
            cutoff = _now_ms() - INFLIGHT_TIMEOUT_S * 1000
            live = [e for e in state["inflight"] if e["at_ms"] >= cutoff]
            return {"value": seq, "inflight": [*live, {"seq": seq, "at_ms": _now_ms()}]}, seq
        return self._update_counter(take)

    def _release_seq(self, seq: int) -> None:
        def release(state: dict[str, Any]) -> tuple[dict[str, Any], None]:
            return {"value": state["value"], "inflight": [e for e in state["inflight"] if e["seq"] != seq]}, None
        self._update_counter(release)

    def _watermark(self) -> int:
        """The highest seq below which every change is searchable."""
        doc = get_doc(self._es, self._names.alias("meta"), COUNTER_ID)
        if doc is None:
            return 0
        cutoff = _now_ms() - INFLIGHT_TIMEOUT_S * 1000
        live = [int(e["seq"]) for e in doc.source.get("inflight", []) if e["at_ms"] >= cutoff]
        return min(live) - 1 if live else int(doc.source.get("value", 0))

    # ------------------------------------------------------------ flags

    def upsert_risk_flag(self, flag: RiskFlag) -> RiskFlag | None:
        """Store the flag when level, score (to 0.1), reasons or evidence changed; the
        stored flag carries its new ``seq``. None when nothing changed."""
        index = self._names.alias("riskflags")
        for _ in range(MAX_TRIES):
            doc = get_doc(self._es, index, flag.crm_id)
            if doc is not None and _signature(RiskFlag.model_validate(doc.source)) == _signature(flag):
                return None
            seq = self._allocate_seq()
            try:
                stored = flag.model_copy(update={"seq": seq})
                body = stored.model_dump(mode="json")
                ok = (create_if_absent(self._es, index, flag.crm_id, body) if doc is None
                      else index_if_unchanged(self._es, index, doc, body))
            finally:
                self._release_seq(seq)
            if ok:
                return stored
        raise StoreError(f"risk flag {flag.crm_id!r} is changed concurrently; gave up after retries")

    def get_risk_flag(self, crm_id: str) -> RiskFlag | None:
        """The customer's current flag (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("riskflags"), crm_id)
        return RiskFlag.model_validate(doc.source) if doc else None

    def risk_flag_feed(self, cursor: str | None, limit: int = 100) -> FeedPage:
        """Changes after ``cursor`` in ``seq`` order, up to the watermark; the cursor is
        the last seq served."""
        after = feed_cursor_seq(cursor)
        watermark = self._watermark()
        if watermark <= after:
            return FeedPage(items=[], next_cursor=str(after))
        # Every seq <= watermark was written before its release; make them searchable.
        self._es.indices.refresh(index=self._names.alias("riskflags"))
        hits = search_hits(self._es, self._names.alias("riskflags"), size=limit,
                           query={"range": {"seq": {"gt": after, "lte": watermark}}}, sort=[{"seq": "asc"}])
        items = [RiskFlag.model_validate(h["_source"]) for h in hits]
        return FeedPage(items=items, next_cursor=str(items[-1].seq if items else after))

    # ------------------------------------------------------------ api keys

    def save_api_key(self, key: ApiKey) -> None:
        """Insert or replace an API key by id (only its hash is stored). ``wait_for``:
        an admin creating a key lists it right after; keys are created rarely."""
        self._es.index(index=self._names.alias("apikeys"), id=key.id, document=key.model_dump(mode="json"),
                       refresh="wait_for")

    def get_api_key(self, key_id: str) -> ApiKey | None:
        """The key (realtime: a new or revoked key takes effect at once), or None."""
        doc = get_doc(self._es, self._names.alias("apikeys"), key_id)
        return ApiKey.model_validate(doc.source) if doc else None

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        hits = search_hits(self._es, self._names.alias("apikeys"), size=10_000, query={"match_all": {}},
                           sort=[{"created_at": "asc"}, {"id": "asc"}])
        return [ApiKey.model_validate(h["_source"]) for h in hits]

    def revoke_api_key(self, key_id: str, now: datetime | None = None) -> bool:
        """Revoke a key; False when it does not exist or was already revoked."""
        index = self._names.alias("apikeys")
        for _ in range(MAX_TRIES):
            doc = get_doc(self._es, index, key_id)
            if doc is None or doc.source.get("revoked_at") is not None:
                return False
            key = ApiKey.model_validate(doc.source).model_copy(update={"revoked_at": now_utc(now)})
            if index_if_unchanged(self._es, index, doc, key.model_dump(mode="json"), refresh="wait_for"):
                return True
        raise StoreError(f"api key {key_id!r} is changed concurrently; gave up after retries")

    def touch_api_key(self, key_id: str, now: datetime | None = None) -> None:
        """Record that the key was just used (every API request: a partial update, no refresh)."""
        self._es.options(ignore_status=404).update(
            index=self._names.alias("apikeys"), id=key_id, doc={"last_used_at": now_utc(now).isoformat()},
            retry_on_conflict=3)
