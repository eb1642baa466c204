"""A small in-memory Elasticsearch HTTP server for the adapter's tests (127.0.0.1 only).

It answers the REST calls ``core.store.elastic`` makes with real response shapes
(including the ``X-Elastic-Product: Elasticsearch`` header the client checks), keeps
documents with ``_seq_no``/``_primary_term`` and enforces ``if_seq_no`` / ``op_type=create``
conflicts (409), and records every request. Queries, sorts and aggregations are evaluated by
``fake_es_query`` (the subset of the DSL the adapter uses).

``near_realtime=True`` makes searches see only what the last refresh saw (as a real
cluster between refreshes); GETs are always realtime. ``reject(id, status, error)``
makes bulk items with that id fail, to test error reporting. It is a test double,
not a search engine.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.store.elastic.queue import ENQUEUE_SCRIPT
from tests.core.fake_es_query import EsError, Index, Recorded, aggregate, evaluate, sort_key

HEADERS = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


class FakeElasticsearch:
    """The server: ``start()`` returns its URL; ``requests`` records what it was asked."""

    def __init__(self, near_realtime: bool = False) -> None:
        self.near_realtime = near_realtime
        self.indices: dict[str, Index] = {}
        self.aliases: dict[str, str] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.rejections: dict[str, tuple[int, dict[str, Any]]] = {}
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                status, body = fake.handle(self.command, self.path, raw)
                data = b"" if self.command == "HEAD" else json.dumps(body).encode()
                self.send_response(status)
                for k, v in HEADERS.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reject(self, doc_id: str, status: int, error: dict[str, Any]) -> None:
        """Make every bulk write of ``doc_id`` fail with ``status`` and ``error``."""
        self.rejections[doc_id] = (status, error)

    # ------------------------------------------------------------ routing

    def handle(self, method: str, raw_path: str, raw_body: str) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segs = [unquote(s) for s in parts.path.split("/") if s]
        body: Any = None
        if raw_body:
            body = [json.loads(line) for line in raw_body.splitlines() if line.strip()] if segs[-1:] == ["_bulk"] \
                else json.loads(raw_body)
        with self.lock:
            self.requests.append(Recorded(method, parts.path, params, body))
            try:
                return self.route(method, segs, params, body)
            except EsError as exc:
                return exc.status, exc.body

    def route(self, method: str, segs: list[str], params: dict[str, str], body: Any) -> tuple[int, Any]:
        if not segs:
            return 200, {"name": "fake", "cluster_name": "fake", "version": {"number": "9.1.0"},
                         "tagline": "You Know, for Search"}
        head = segs[0]
        if head == "_index_template":
            if method == "DELETE":
                return (200, {"acknowledged": True}) if self.templates.pop(segs[1], None) else \
                    (404, {"error": {"type": "resource_not_found_exception"}, "status": 404})
            self.templates[segs[1]] = body
            return 200, {"acknowledged": True}
        if head == "_alias":
            found = {self.aliases[a]: {"aliases": {a: {}}} for a in segs[1].split(",") if a in self.aliases}
            return (200, found) if found else (404, {"error": f"alias [{segs[1]}] missing", "status": 404})
        if head == "_aliases":
            for action in body["actions"]:
                (kind, spec), = action.items()
                if kind == "add":
                    self.aliases[spec["alias"]] = spec["index"]
                elif self.aliases.get(spec["alias"]) == spec["index"]:
                    del self.aliases[spec["alias"]]
            return 200, {"acknowledged": True}
        if head == "_cluster":
            return 200, {"cluster_name": "fake", "status": "green"}
        if head == "_bulk":
            return 200, self.bulk(None, body, params)
        if head == "_reindex":
            src, dest = self.resolve(body["source"]["index"])[0], self.index_named(body["dest"]["index"])
            for doc_id, doc in src.docs.items():
                self.write(dest, doc_id, copy.deepcopy(doc["src"]))
            self.refresh(dest)
            return 200, {"total": len(src.docs), "created": len(src.docs), "failures": []}
        target = head
        if len(segs) == 1:
            return self.index_level(method, target, body)
        op = segs[1]
        if op == "_refresh":
            for ix in self.resolve(target):
                self.refresh(ix)
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if op == "_bulk":
            return 200, self.bulk(target, body, params)
        if op == "_mget":
            ix = self.resolve(target)[0]
            return 200, {"docs": [self.get(ix, i) for i in body["ids"]]}
        if op == "_search":
            return 200, self.search(self.resolve(target), body or {})
        if op == "_count":
            hits = self.matching(self.resolve(target), (body or {}).get("query"))
            return 200, {"count": len(hits)}
        if op == "_delete_by_query":
            n = 0
            for ix, doc_id, _ in self.matching(self.resolve(target), body.get("query")):
                if ix.docs.pop(doc_id, None) is not None:
                    n += 1
                self.after_write(ix, params)
            return 200, {"deleted": n, "failures": []}
        ix = self.resolve(target)[0]
        doc_id = segs[2]
        if op == "_doc" and method == "GET":
            got = self.get(ix, doc_id)
            return (200 if got["found"] else 404), got
        if op == "_doc" and method == "DELETE":
            return self.delete(ix, doc_id, params)
        if op in ("_doc", "_create"):
            create = op == "_create" or params.get("op_type") == "create"
            result = self.put(ix, doc_id, body, create, params)
            return (201 if result["result"] == "created" else 200), result
        if op == "_update":
            return self.update(ix, doc_id, body, params)
        raise EsError(400, "illegal_argument_exception", f"fake: unsupported {method} {'/'.join(segs)}")

    def index_level(self, method: str, target: str, body: Any) -> tuple[int, Any]:
        if method == "PUT":
            if target in self.indices:
                raise EsError(400, "resource_already_exists_exception", f"index [{target}] already exists")
            template = next((t for t in self.templates.values()
                             if any(fnmatch.fnmatch(target, p) for p in t["index_patterns"])), {})
            spec = template.get("template", {})
            self.indices[target] = Index(target, spec.get("mappings", {}), spec.get("settings", {}))
            for alias in (body or {}).get("aliases", {}):
                self.aliases[alias] = target
            return 200, {"acknowledged": True, "shards_acknowledged": True, "index": target}
        names = [n for pat in target.split(",") for n in self.indices if fnmatch.fnmatch(n, pat)]
        if method == "DELETE":
            for name in names:
                del self.indices[name]
                for alias in [a for a, n in self.aliases.items() if n == name]:
                    del self.aliases[alias]
            return 200, {"acknowledged": True}
        if not names:
            return (200, {}) if "*" in target else (404, {"error": {"type": "index_not_found_exception"}, "status": 404})
        return 200, {n: {"aliases": {}, "mappings": self.indices[n].mappings} for n in names}

    # ------------------------------------------------------------ documents

    def index_named(self, name: str) -> Index:
        name = self.aliases.get(name, name)
        if name not in self.indices:
            raise EsError(404, "index_not_found_exception", f"no such index [{name}]")
        return self.indices[name]

    def resolve(self, target: str) -> list[Index]:
        return [self.index_named(n) for n in target.split(",")]

    def refresh(self, ix: Index) -> None:
        ix.visible = copy.deepcopy(ix.docs)

    def after_write(self, ix: Index, params: dict[str, str]) -> None:
        if not self.near_realtime or params.get("refresh") in ("true", "wait_for", ""):
            self.refresh(ix)

    def get(self, ix: Index, doc_id: str) -> dict[str, Any]:
        doc = ix.docs.get(doc_id)
        if doc is None:
            return {"_index": ix.name, "_id": doc_id, "found": False}
        return {"_index": ix.name, "_id": doc_id, "found": True, "_version": doc["seq"] + 1,
                "_seq_no": doc["seq"], "_primary_term": 1, "_source": copy.deepcopy(doc["src"])}

    def check(self, ix: Index, doc_id: str, meta: dict[str, Any], create: bool) -> None:
        doc = ix.docs.get(doc_id)
        if create and doc is not None:
            raise EsError(409, "version_conflict_engine_exception", f"[{doc_id}]: document already exists")
        if "if_seq_no" in meta:
            if doc is None or int(meta["if_seq_no"]) != doc["seq"] or int(meta.get("if_primary_term", 1)) != 1:
                raise EsError(409, "version_conflict_engine_exception",
                              f"[{doc_id}]: version conflict, required seqNo [{meta['if_seq_no']}]")

    def write(self, ix: Index, doc_id: str, src: dict[str, Any]) -> dict[str, Any]:
        ix.seq += 1
        existed = doc_id in ix.docs
        ix.docs[doc_id] = {"src": src, "seq": ix.seq}
        return {"_index": ix.name, "_id": doc_id, "_seq_no": ix.seq, "_primary_term": 1,
                "result": "updated" if existed else "created"}

    def put(self, ix: Index, doc_id: str, src: dict[str, Any], create: bool, meta: dict[str, Any]) -> dict[str, Any]:
        self.check(ix, doc_id, meta, create)
        result = self.write(ix, doc_id, src)
        self.after_write(ix, meta)
        return result

    def delete(self, ix: Index, doc_id: str, meta: dict[str, Any]) -> tuple[int, Any]:
        self.check(ix, doc_id, meta, False)
        if ix.docs.pop(doc_id, None) is None:
            return 404, {"_index": ix.name, "_id": doc_id, "result": "not_found"}
        self.after_write(ix, meta)
        return 200, {"_index": ix.name, "_id": doc_id, "result": "deleted"}

    def update(self, ix: Index, doc_id: str, body: dict[str, Any], meta: dict[str, Any]) -> tuple[int, Any]:
        doc = ix.docs.get(doc_id)
        if doc is None:
            if "upsert" not in body:
                raise EsError(404, "document_missing_exception", f"[{doc_id}]: document missing")
            return 201, self.put(ix, doc_id, body["upsert"], True, meta)
        src = copy.deepcopy(doc["src"])
        if "doc" in body:
            src.update(body["doc"])
        else:
            script = body["script"]
            if script["source"] != ENQUEUE_SCRIPT:
                raise EsError(400, "illegal_argument_exception", "fake: unknown script")
            due = script["params"]["due"]
            if src.get("lease_owner") is not None:
                src["rerun_ms"] = due
            elif src.get("dead"):
                src.update(dead=False, attempts=0, due_ms=due)
            else:
                return 200, {"_index": ix.name, "_id": doc_id, "result": "noop"}
        self.check(ix, doc_id, meta, False)
        result = self.write(ix, doc_id, src)
        self.after_write(ix, meta)
        return 200, result

    def bulk(self, default: str | None, lines: list[Any], params: dict[str, str]) -> dict[str, Any]:
        items, i = [], 0
        while i < len(lines):
            (op, meta), = lines[i].items()
            body = None if op == "delete" else lines[i + 1]
            i += 1 if op == "delete" else 2
            doc_id = meta["_id"]
            try:
                ix = self.index_named(meta.get("_index") or default or "")
                if doc_id in self.rejections:
                    status, error = self.rejections[doc_id]
                    raise EsError(status, error["type"], error["reason"])
                if op == "delete":
                    status, result = self.delete(ix, doc_id, meta)
                elif op == "update":
                    status, result = self.update(ix, doc_id, body, meta)
                else:
                    result = self.put(ix, doc_id, body, op == "create", meta)
                    status = 201 if result["result"] == "created" else 200
                items.append({op: {**result, "status": status}})
            except EsError as exc:
                items.append({op: {"_index": meta.get("_index"), "_id": doc_id, "status": exc.status,
                                   "error": exc.body["error"]}})
        for ix in self.indices.values():
            self.after_write(ix, params)
        return {"took": 1, "errors": any("error" in next(iter(it.values())) for it in items), "items": items}

    # ------------------------------------------------------------ search

    def matching(self, indices: list[Index], query: Any) -> list[tuple[Index, str, dict[str, Any]]]:
        out = []
        for ix in indices:
            pool = ix.visible if self.near_realtime else ix.docs
            for doc_id, doc in pool.items():
                if query is None or evaluate(ix, query, doc["src"]):
                    out.append((ix, doc_id, doc))
        return out

    def search(self, indices: list[Index], body: dict[str, Any]) -> dict[str, Any]:
        found = self.matching(indices, body.get("query"))
        sort = body.get("sort", [])
        rows = [(sort_key(ix, doc["src"], sort), ix, doc_id, doc) for ix, doc_id, doc in found]

        def cmp_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
            parts = []
            for value, spec in zip(row[0], sort):
                desc = next(iter(spec.values())) == "desc"
                if value is None:
                    parts.append((1, 0))
                elif isinstance(value, str):
                    parts.append((0, tuple(-ord(c) for c in value) + (1,) if desc else value))
                else:
                    parts.append((0, -value if desc else value))
            return tuple(parts)

        rows.sort(key=cmp_key)
        if body.get("search_after") is not None:
            marker = cmp_key((body["search_after"],))
            rows = [r for r in rows if cmp_key(r) > marker]
        size = body.get("size", 10)
        hits = []
        for key, ix, doc_id, doc in rows[:size]:
            hit = {"_index": ix.name, "_id": doc_id, "_score": None, "_source": copy.deepcopy(doc["src"]), "sort": key}
            if body.get("seq_no_primary_term"):
                hit.update(_seq_no=doc["seq"], _primary_term=1)
            hits.append(hit)
        resp: dict[str, Any] = {"took": 1, "timed_out": False,
                                "hits": {"total": {"value": len(rows), "relation": "eq"}, "hits": hits}}
        if body.get("aggs"):
            resp["aggregations"] = aggregate(indices[0], [d["src"] for _, _, _, d in rows], body["aggs"])
        return resp



def main() -> None:
    """Serve the fake standalone, e.g. to run the contract suite's Elasticsearch half:
    ``python -m tests.core.fake_elasticsearch --near-realtime`` prints the URL to put in
    ``BRANDGUARD_ES_URL``; Ctrl-C stops it."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--near-realtime", action="store_true", help="searches see only refreshed writes")
    args = parser.parse_args()
    fake = FakeElasticsearch(near_realtime=args.near_realtime)
    print(fake.start(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
