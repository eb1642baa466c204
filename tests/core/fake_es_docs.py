"""Document operations of the fake Elasticsearch, with a real cluster's concurrency semantics.

- Every write is checked against the index mapping (a value that does not fit is a 400 for
  that item) and gets the index's next ``_seq_no`` and the document's next ``_version``.
- ``if_seq_no``/``if_primary_term`` and ``op_type=create`` are checked at write time (409).
- ``_update`` is **read, then compute, then write** with the version it read, not one atomic
  step: the state lock is released in between (``update_gap_s``), so a racing write makes the
  update fail with 409 unless ``retry_on_conflict`` lets it read again, as on a real shard.
- Painless scripts are not interpreted: each script the adapter sends is known here by its
  source text and run as the Python function below it (an unknown script is a 400, as a
  script that does not compile). ``ctx._now`` is the server's clock.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable

from core.store.elastic.flags import ALLOCATE_SCRIPT, PRUNE_SCRIPT, RELEASE_SCRIPT
from core.store.elastic.queue import ENQUEUE_SCRIPT
from tests.core.fake_es_analysis import validate_document
from tests.core.fake_es_errors import EsError
from tests.core.fake_es_query import Index

PRIMARY_TERM = 1


def _enqueue(ctx: dict[str, Any], params: dict[str, Any]) -> None:
    src = ctx["_source"]
    if src.get("lease_owner") is not None:
        src["rerun_ms"] = params["due"]
    elif src.get("dead") is True:
        src.update(dead=False, attempts=0, due_ms=params["due"])
    else:
        ctx["op"] = "noop"


def _allocate(ctx: dict[str, Any], params: dict[str, Any]) -> None:
    src, now = ctx["_source"], ctx["_now"]
    src["inflight"] = [e for e in src["inflight"] if e["at_ms"] >= now - params["timeout_ms"]]
    if any(e.get("token") == params["token"] for e in src["inflight"]):
        ctx["op"] = "noop"
        return
    src["value"] += 1
    src["inflight"].append({"seq": src["value"], "token": params["token"], "at_ms": now})


def _release(ctx: dict[str, Any], params: dict[str, Any]) -> None:
    src = ctx["_source"]
    kept = [e for e in src["inflight"] if e.get("token") != params["token"]]
    if len(kept) == len(src["inflight"]):
        ctx["op"] = "noop"
        return
    src["inflight"] = kept
    src["released"].append(params["token"])
    if len(src["released"]) > params["keep"]:
        src["released"].pop(0)


def _prune(ctx: dict[str, Any], params: dict[str, Any]) -> None:
    src, now = ctx["_source"], ctx["_now"]
    kept = [e for e in src["inflight"] if e["at_ms"] >= now - params["timeout_ms"]]
    if len(kept) == len(src["inflight"]):
        ctx["op"] = "noop"
    src["inflight"] = kept


def _counter(run: Callable[[dict[str, Any], dict[str, Any]], None]) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """The counter scripts' common start: lists missing in counters written before tokens existed."""
    def script(ctx: dict[str, Any], params: dict[str, Any]) -> None:
        ctx["_source"]["inflight"] = ctx["_source"].get("inflight") or []
        ctx["_source"]["released"] = ctx["_source"].get("released") or []
        run(ctx, params)
    return script


SCRIPTS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    ENQUEUE_SCRIPT: _enqueue, ALLOCATE_SCRIPT: _counter(_allocate), RELEASE_SCRIPT: _counter(_release),
    PRUNE_SCRIPT: _counter(_prune),
}


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class DocumentOps:
    """Mixin of ``FakeElasticsearch``: needs ``lock`` (an RLock) and ``update_gap_s``."""

    lock: Any
    update_gap_s: float

    def get(self, ix: Index, doc_id: str) -> dict[str, Any]:
        with self.lock:
            doc = ix.docs.get(doc_id)
            if doc is None:
                return {"_index": ix.name, "_id": doc_id, "found": False}
            return {"_index": ix.name, "_id": doc_id, "found": True, "_version": doc["version"],
                    "_seq_no": doc["seq"], "_primary_term": PRIMARY_TERM, "_source": copy.deepcopy(doc["src"])}

    def check(self, ix: Index, doc_id: str, meta: dict[str, Any], create: bool) -> None:
        doc = ix.docs.get(doc_id)
        if create and doc is not None:
            raise EsError(409, "version_conflict_engine_exception",
                          f"[{doc_id}]: version conflict, document already exists (current version [{doc['version']}])")
        if meta.get("if_seq_no") is not None:
            want, term = int(meta["if_seq_no"]), int(meta.get("if_primary_term", PRIMARY_TERM))
            if doc is None or want != doc["seq"] or term != PRIMARY_TERM:
                current = "none" if doc is None else f"{doc['seq']}"
                raise EsError(409, "version_conflict_engine_exception",
                              f"[{doc_id}]: version conflict, required seqNo [{want}], primary term [{term}]."
                              f" current document has seqNo [{current}] and primary term [{PRIMARY_TERM}]")

    def write(self, ix: Index, doc_id: str, src: dict[str, Any]) -> dict[str, Any]:
        validate_document(ix.mappings, src)
        old = ix.docs.get(doc_id)
        ix.seq += 1
        version = (old["version"] + 1) if old else 1
        ix.docs[doc_id] = {"src": src, "seq": ix.seq, "version": version}  # replaced, never mutated
        ix.dirty = True
        return {"_index": ix.name, "_id": doc_id, "_version": version, "_seq_no": ix.seq,
                "_primary_term": PRIMARY_TERM, "result": "updated" if old else "created",
                "_shards": {"total": 1, "successful": 1, "failed": 0}}

    def put(self, ix: Index, doc_id: str, src: dict[str, Any], create: bool, meta: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.check(ix, doc_id, meta, create)
            result = self.write(ix, doc_id, src)
        self.after_write(ix, meta)
        return result

    def delete(self, ix: Index, doc_id: str, meta: dict[str, Any]) -> tuple[int, Any]:
        with self.lock:
            self.check(ix, doc_id, meta, False)
            old = ix.docs.pop(doc_id, None)
            ix.seq += 1
            ix.dirty = True
        if old is None:
            return 404, {"_index": ix.name, "_id": doc_id, "result": "not_found", "_seq_no": ix.seq,
                         "_primary_term": PRIMARY_TERM}
        self.after_write(ix, meta)
        return 200, {"_index": ix.name, "_id": doc_id, "_version": old["version"] + 1, "result": "deleted",
                     "_seq_no": ix.seq, "_primary_term": PRIMARY_TERM}

    def update(self, ix: Index, doc_id: str, body: dict[str, Any], meta: dict[str, Any]) -> tuple[int, Any]:
        """Read, compute, write-if-unchanged; retried ``retry_on_conflict`` times on a race."""
        retries = int(meta.get("retry_on_conflict", 0))
        if "_source" in body:  # the client may send `_source` in the body instead of the query string
            meta = {**meta, "_source": str(body["_source"]).lower()}
        for attempt in range(retries + 1):
            with self.lock:
                current = ix.docs.get(doc_id)
                if meta.get("if_seq_no") is not None:
                    self.check(ix, doc_id, meta, False)
                seen = None if current is None else current["seq"]
                planned = self._plan_update(ix, doc_id, current, body)
            if planned[0] == "noop":
                return 200, self._answer(ix, doc_id, current, "noop", meta)
            time.sleep(self.update_gap_s)  # a real shard reads and writes in separate steps
            with self.lock:
                now = ix.docs.get(doc_id)
                if (None if now is None else now["seq"]) != seen:
                    if attempt < retries:
                        continue
                    raise EsError(409, "version_conflict_engine_exception",
                                  f"[{doc_id}]: version conflict, document changed since it was read")
                result = self.write(ix, doc_id, planned[1])
                answer = self._answer(ix, doc_id, ix.docs[doc_id], result["result"], meta, result)
            self.after_write(ix, meta)
            return (201 if result["result"] == "created" else 200), answer
        raise AssertionError("unreachable")

    def _plan_update(self, ix: Index, doc_id: str, current: dict[str, Any] | None,
                     body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        script = body.get("script")
        if current is None:
            if "upsert" in body and not body.get("scripted_upsert"):
                return "create", copy.deepcopy(body["upsert"])
            if body.get("doc_as_upsert") and "doc" in body:
                return "create", copy.deepcopy(body["doc"])
            if "upsert" not in body:
                raise EsError(404, "document_missing_exception", f"[{doc_id}]: document missing")
            src = copy.deepcopy(body["upsert"])
        else:
            src = copy.deepcopy(current["src"])
        if script is None:
            merged = _deep_merge(src, body.get("doc", {}))
            return ("noop", None) if merged == src and current is not None else ("index", merged)
        run = SCRIPTS.get(script.get("source", ""))
        if run is None or script.get("lang", "painless") != "painless":
            raise EsError(400, "illegal_argument_exception", "failed to compile script", caused_by={
                "type": "script_exception", "reason": "compile error"})
        ctx = {"_source": src, "op": "create" if current is None else "index", "_now": int(time.time() * 1000)}
        run(ctx, script.get("params", {}))
        return ("noop", None) if ctx["op"] == "noop" else ("index", ctx["_source"])

    def _answer(self, ix: Index, doc_id: str, doc: dict[str, Any] | None, result: str, meta: dict[str, Any],
                written: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = written or {"_index": ix.name, "_id": doc_id, "result": result,
                                          "_version": doc["version"] if doc else 0,
                                          "_seq_no": doc["seq"] if doc else -1, "_primary_term": PRIMARY_TERM}
        out = dict(out, result=result)
        if str(meta.get("_source", "")).lower() == "true" and doc is not None:
            out["get"] = {"_seq_no": doc["seq"], "_primary_term": PRIMARY_TERM, "found": True,
                          "_source": copy.deepcopy(doc["src"])}
        return out

    def bulk(self, default: str | None, lines: list[Any], params: dict[str, str],
             rejected: Callable[[], bool]) -> dict[str, Any]:
        """Items one by one (not atomic); ``rejected()`` says whether to refuse one with 429."""
        items, i, touched = [], 0, set()
        while i < len(lines):
            (op, meta), = lines[i].items()
            body = None if op == "delete" else lines[i + 1]
            i += 1 if op == "delete" else 2
            doc_id = meta.get("_id")
            try:
                ix = self.write_index(meta.get("_index") or default or "")
                touched.add(ix.name)
                if rejected():
                    raise EsError(429, "es_rejected_execution_exception",
                                  "rejected execution of coordinating operation [shard_detail=[0]] on EsThreadPoolExecutor")
                if doc_id in self.rejections:
                    status, error = self.rejections[doc_id]
                    raise EsError(status, error["type"], error["reason"])
                item_meta = {**meta, **({"refresh": "false"})}
                if op == "delete":
                    status, result = self.delete(ix, doc_id, item_meta)
                elif op == "update":
                    status, result = self.update(ix, doc_id, body, item_meta)
                elif op in ("index", "create"):
                    result = self.put(ix, doc_id, body, op == "create", item_meta)
                    status = 201 if result["result"] == "created" else 200
                else:
                    raise EsError(400, "illegal_argument_exception", f"Malformed action/metadata line, unknown [{op}]")
                items.append({op: {**result, "status": status}})
            except EsError as exc:
                items.append({op: {"_index": meta.get("_index"), "_id": doc_id, "status": exc.status,
                                   "error": exc.body["error"]}})
        for name in touched:
            self.after_write(self.indices[name], params)
        return {"errors": any("error" in next(iter(it.values())) for it in items), "took": 1, "items": items}

    # provided by FakeElasticsearch
    rejections: dict[str, tuple[int, dict[str, Any]]]
    indices: dict[str, Index]
    write_index: Callable[[str], Index]
    after_write: Callable[[Index, dict[str, Any]], None]
