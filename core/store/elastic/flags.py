"""Risk flags with a gap-safe change feed, and hashed API keys.

The feed problem: Elasticsearch has no transactions, so two writers that take seqs 7
and 8 may make 8 searchable before 7. A reader paging by ``seq`` would then move its
cursor past 7 and miss it for ever. The design:

1. **Allocation**: a counter document ``counter:risk_flags`` in the meta index holds the
   last seq and the seqs *in flight* (allocated, not yet written). A writer takes the next
   seq with one scripted ``_update`` (``ALLOCATE_SCRIPT``, ``retry_on_conflict``): the entry
   carries the writer's token and the **server's** clock (``ctx._now``), and allocating again
   with the same token is a no-op, so a retried allocation never takes a second seq.
2. **Write**: the flag document (``_id`` = crm id, one per customer, so only its newest
   change is kept) is written conditionally (create, or ``if_seq_no`` of what was read) with
   a write token. The outcome is always settled before going on: a late answer or a 409 is
   resolved by reading the document back (our token: it landed); an unknown outcome is
   resolved by sending the same conditional write again -- a late copy of the first can then
   only fail, since the version it was conditioned on is gone.
3. **Release**: the writer removes its entry (``RELEASE_SCRIPT``, idempotent: the token is
   remembered in ``released``). If the entry is gone but not released, it was pruned as stale
   (step 5) and a reader may have passed its seq: the writer publishes the flag again with a
   new seq, so the change still reaches every reader.
4. **Feed**: the reader reads the counter (realtime GET) and serves only seqs up to the
   *watermark*: one below the lowest seq still in flight (or the last seq if none), after a
   refresh of the (small) risk-flags index. Everything at or below the watermark was written
   before its release: no misses; seqs are unique and the cursor only moves forward: no
   duplicates. The refresh is on the CRM's poll path, never on a write path.
5. **Stale entries**: a writer that died between 1 and 3 would hold the watermark back for
   ever, so entries older than ``INFLIGHT_TIMEOUT_S`` by the server's clock are pruned
   (``PRUNE_SCRIPT``, by the reader while something is in flight, and by every allocation).
   No host's wall clock is compared with another's. ``INFLIGHT_TIMEOUT_S`` is far above one
   write's retry budget (3 attempts of ``es_request_timeout_s``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, TransportError
from elasticsearch import ConflictError as EsConflictError

from core.domain import ApiKey, RiskFlag
from core.store.elastic.client import WRITE_TOKEN, Doc, get_doc, index_if_unchanged, new_write_token, now_utc, search_hits
from core.store.common import feed_cursor_seq
from core.store.port import FeedPage, StoreError

COUNTER_ID = "counter:risk_flags"
INFLIGHT_TIMEOUT_S = 300.0
RELEASED_KEPT = 1000  # release tokens remembered, so a retried release knows it succeeded
MAX_TRIES = 50
SETTLE_TRIES = 5  # re-sends of one flag write whose outcome is unknown

# Counters written before tokens existed have no `released` list: every script starts by adding it.
_DEFAULTS = ("if (ctx._source.inflight == null) { ctx._source.inflight = new ArrayList(); }"
             " if (ctx._source.released == null) { ctx._source.released = new ArrayList(); }")
ALLOCATE_SCRIPT = (
    _DEFAULTS + " long now = ctx._now;"
    " ctx._source.inflight.removeIf(e -> e.at_ms < now - params.timeout_ms);"
    " for (e in ctx._source.inflight) { if (e.token == params.token) { ctx.op = 'noop'; return; } }"
    " ctx._source.value += 1;"
    " ctx._source.inflight.add(['seq': ctx._source.value, 'token': params.token, 'at_ms': now]);"
)
RELEASE_SCRIPT = (
    _DEFAULTS + " if (!ctx._source.inflight.removeIf(e -> e.token == params.token)) { ctx.op = 'noop'; return; }"
    " ctx._source.released.add(params.token);"
    " if (ctx._source.released.size() > params.keep) { ctx._source.released.remove(0); }"
)
PRUNE_SCRIPT = (
    _DEFAULTS + " long now = ctx._now;"
    " if (!ctx._source.inflight.removeIf(e -> e.at_ms < now - params.timeout_ms)) { ctx.op = 'noop'; }"
)
_COUNTER_START = {"kind": "counter", "name": "risk_flags", "value": 0, "inflight": [], "released": []}


def _signature(flag: RiskFlag) -> tuple[object, ...]:
    return (flag.level.value, round(flag.score, 1), tuple(flag.reasons), tuple(flag.evidence_ids))


def flag_from_source(source: dict[str, Any]) -> RiskFlag:
    """A stored flag document back as a RiskFlag (the write token dropped)."""
    return RiskFlag.model_validate({k: v for k, v in source.items() if k != WRITE_TOKEN})


class RiskFlagsMixin:
    """Risk flags (with the feed) and API keys."""

    # ------------------------------------------------------------ sequence counter

    def _counter_script(self, script: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one counter script (idempotent) and return the counter as it is afterwards."""
        resp = self._es.update(
            index=self._names.alias("meta"), id=COUNTER_ID, retry_on_conflict=MAX_TRIES, source=True,
            script={"source": script, "lang": "painless", "params": params},
            upsert=_COUNTER_START, scripted_upsert=True,
        ).body
        return resp["get"]["_source"]

    def _allocate_seq(self, token: str) -> int:
        state = self._counter_script(ALLOCATE_SCRIPT, {"token": token, "timeout_ms": int(INFLIGHT_TIMEOUT_S * 1000)})
        return next(int(e["seq"]) for e in state["inflight"] if e["token"] == token)

    def _release_seq(self, token: str) -> bool:
        """Release our entry; False when it had been pruned as stale (never released)."""
        state = self._counter_script(RELEASE_SCRIPT, {"token": token, "keep": RELEASED_KEPT})
        return token in state.get("released", [])

    def _watermark(self) -> int:
        """The highest seq below which every change is written (stale entries pruned first)."""
        doc = get_doc(self._es, self._names.alias("meta"), COUNTER_ID)
        if doc is None:
            return 0
        state = doc.source
        if state.get("inflight"):
            state = self._counter_script(PRUNE_SCRIPT, {"timeout_ms": int(INFLIGHT_TIMEOUT_S * 1000)})
        live = [int(e["seq"]) for e in state.get("inflight", [])]
        return min(live) - 1 if live else int(state.get("value", 0))

    # ------------------------------------------------------------ flags

    def upsert_risk_flag(self, flag: RiskFlag) -> RiskFlag | None:
        """Store the flag when level, score (to 0.1), reasons or evidence changed; the
        stored flag carries its new ``seq``. None when nothing changed."""
        index = self._names.alias("riskflags")
        for _ in range(MAX_TRIES):
            doc = get_doc(self._es, index, flag.crm_id)
            if doc is not None and _signature(flag_from_source(doc.source)) == _signature(flag):
                return None
            stored = self._publish(index, flag, doc)
            if stored is not None:
                return stored
        raise StoreError(f"risk flag {flag.crm_id!r} is changed concurrently; gave up after retries")

    def _publish(self, index: str, flag: RiskFlag, doc: Doc | None) -> RiskFlag | None:
        """Allocate a seq, write the flag over ``doc`` and release; None when another writer
        changed the flag first. Re-published with a new seq if the entry went stale."""
        for _ in range(MAX_TRIES):
            token = new_write_token()
            seq = self._allocate_seq(token)
            stored = flag.model_copy(update={"seq": seq})
            try:
                landed = self._settle_write(index, flag.crm_id, doc, {**stored.model_dump(mode="json"),
                                                                      WRITE_TOKEN: token}, token)
            except StoreError:
                raise  # outcome unknown: the entry stays in flight (held back) until it goes stale
            except Exception:
                self._release_seq(token)  # refused: nothing will be written with this seq
                raise
            released = self._release_seq(token)
            if not landed:
                return None
            if released:
                return stored
            doc = get_doc(self._es, index, flag.crm_id)  # pruned while we wrote: publish again, higher
            if doc is None or doc.source.get(WRITE_TOKEN) != token:
                return None
        raise StoreError(f"risk flag {flag.crm_id!r}: could not publish within the in-flight window")

    def _settle_write(self, index: str, crm_id: str, doc: Doc | None, body: dict[str, Any], token: str) -> bool:
        """Write ``body`` conditionally over ``doc``; True when it landed, False when another
        writer got there first. Never returns while the outcome is unknown."""
        for attempt in range(SETTLE_TRIES):
            try:
                if doc is None:
                    self._es.index(index=index, id=crm_id, document=body, op_type="create")
                else:
                    self._es.index(index=index, id=crm_id, document=body, **doc.token)
                return True
            except EsConflictError:
                current = get_doc(self._es, index, crm_id)
                return current is not None and current.source.get(WRITE_TOKEN) == token
            except (TransportError, ApiError) as exc:  # unknown outcome: look, then send the same write again
                if isinstance(exc, ApiError) and exc.meta.status < 500 and exc.meta.status != 429:
                    raise
                current = get_doc(self._es, index, crm_id)
                if current is not None and current.source.get(WRITE_TOKEN) == token:
                    return True
                time.sleep(min(2.0, 0.1 * 2 ** attempt))
        raise StoreError(f"risk flag {crm_id!r}: the write's outcome stayed unknown after {SETTLE_TRIES} tries")

    def get_risk_flag(self, crm_id: str) -> RiskFlag | None:
        """The customer's current flag (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("riskflags"), crm_id)
        return flag_from_source(doc.source) if doc else None

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
        items = [flag_from_source(h["_source"]) for h in hits]
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
