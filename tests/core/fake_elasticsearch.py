"""A strict, faulty Elasticsearch simulator on 127.0.0.1 for the adapter's tests.

It is a real HTTP server (threads), so any number of client processes share one "cluster"
through its URL. It answers the REST calls ``core.store.elastic`` makes with real response
shapes (and the ``X-Elastic-Product`` header the client checks), and is at least as strict
as a cluster where the adapter depends on it:

- documents carry ``_seq_no``/``_primary_term``/``_version``; conditional writes and creates
  answer 409; ``_update`` reads then writes (``fake_es_docs``), racing updates answer 409;
- searches see only refreshed documents; indices refresh by themselves every
  ``index.refresh_interval`` (1 s) and on ``refresh=true|wait_for``; GETs are realtime;
- ``from + size`` above ``max_result_window`` (10,000) is a 400; totals honour
  ``track_total_hits`` and, with aggregations, cover every match (not just the page after
  ``search_after``); bool depth and clause limits, sorting on unmapped/text fields are 400s;
- templates and documents are validated against the mappings; text is analysed with the
  standard tokenizer and the index's char/token filters (``fake_es_analysis``);
- alias actions are atomic and removing an alias that is not there is a 404;
  ``_reindex?wait_for_completion=false`` runs as a task polled with ``GET _tasks/<id>``;
- ``version="8.x"`` mode answers a 9.x client's ``compatible-with=9`` headers with the 400
  an 8.x server gives;
- faults (``fake_es_faults``): late answers, random delays, 503s, connection resets,
  429 bulk items, set from the test or over HTTP (``POST /_fake/faults``).
"""

from __future__ import annotations

import fnmatch
import json
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.core.fake_es_analysis import build_analyzers, validate_mappings
from tests.core.fake_es_docs import DocumentOps
from tests.core.fake_es_errors import EsError
from tests.core.fake_es_faults import FaultPlan
from tests.core.fake_es_indices import IndexAdmin
from tests.core.fake_es_query import Index, Recorded

HEADERS = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}
_COMPAT_RE = re.compile(r"compatible-with=(\d+)")


class FakeElasticsearch(DocumentOps, IndexAdmin):
    """The server: ``start()`` returns its URL; ``requests`` records what it was asked;
    ``faults`` holds the injected faults."""

    def __init__(self, near_realtime: bool = True, version: str = "9.1.0", auto_refresh: bool = True,
                 update_gap_s: float = 0.002, record: bool = True, seed: int = 13, fault_gap: int = 0) -> None:
        self.near_realtime = near_realtime
        self.version = version
        self.auto_refresh = auto_refresh
        self.update_gap_s = update_gap_s
        self.record = record
        self.indices: dict[str, Index] = {}
        self.aliases: dict[str, dict[str, dict[str, Any]]] = {}  # alias -> index -> {"is_write_index": ...}
        self.templates: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self.rejections: dict[str, tuple[int, dict[str, Any]]] = {}
        self.faults = FaultPlan(seed, fault_gap)
        self.reindex_doc_delay_s = 0.0
        self.lock = threading.RLock()
        self.url = ""
        self._server: ThreadingHTTPServer | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, delayed ACKs add 40 ms a request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path = self.path
                before = fake.faults.pick(self.command, path, ("503", "reset", "delay", "late", "reset_after"))
                if before is not None and before.kind == "reset":
                    return self._reset()
                if before is not None and before.kind == "503":
                    return self._send(503, EsError(503, "unavailable_shards_exception",
                                                   "[fake][0] primary shard is not active").body)
                if before is not None and before.kind == "delay":
                    time.sleep(fake.faults.random_delay(before))
                status, body = fake.handle(self.command, path, raw, dict(self.headers.items()))
                if before is not None and before.kind == "reset_after":
                    return self._reset()
                if before is not None and before.kind == "late":
                    time.sleep(before.delay_s)  # applied; the client has given up by now
                self._send(status, body)

            def _send(self, status: int, body: Any) -> None:
                data = b"" if self.command == "HEAD" else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for k, v in HEADERS.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _reset(self) -> None:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        if self.auto_refresh:
            threading.Thread(target=self._refresh_loop, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reject(self, doc_id: str, status: int, error: dict[str, Any]) -> None:
        """Make every bulk write of ``doc_id`` fail with ``status`` and ``error``."""
        self.rejections[doc_id] = (status, error)

    def _refresh_loop(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self.lock:
                for ix in list(self.indices.values()):
                    if ix.dirty and now - ix.last_refresh >= ix.refresh_interval_s():
                        self.refresh(ix)

    # ------------------------------------------------------------ routing

    def handle(self, method: str, raw_path: str, raw_body: str, headers: dict[str, str] | None = None
               ) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        segs = [unquote(s) for s in parts.path.split("/") if s]
        try:
            self._check_compat(headers or {})
            body: Any = None
            if raw_body:
                body = [json.loads(line) for line in raw_body.splitlines() if line.strip()] \
                    if segs[-1:] == ["_bulk"] else json.loads(raw_body)
            if self.record:
                with self.lock:
                    self.requests.append(Recorded(method, parts.path, params, body))
            return self.route(method, segs, params, body)
        except EsError as exc:
            return exc.status, exc.body
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            return 400, EsError(400, "parse_exception", f"fake: bad request: {type(exc).__name__}: {exc}").body

    def _check_compat(self, headers: dict[str, str]) -> None:
        major = int(self.version.split(".")[0])
        lower = {k.lower(): v for k, v in headers.items()}
        for name in ("accept", "content-type"):
            found = _COMPAT_RE.search(lower.get(name, ""))
            if found and int(found.group(1)) not in (major, major - 1):
                raise EsError(400, "media_type_header_exception", "Invalid media-type value on headers [Accept, Content-Type]",
                              caused_by={"type": "status_exception", "reason":
                                         f"{name.title()} version must be either version {major} or {major - 1},"
                                         f" but found {found.group(1)}. {name.title()}={lower[name]}"})

    def route(self, method: str, segs: list[str], params: dict[str, str], body: Any) -> tuple[int, Any]:
        if not segs:
            return 200, {"name": "fake", "cluster_name": "fake", "cluster_uuid": "fake-uuid",
                         "version": {"number": self.version, "build_flavor": "default"},
                         "tagline": "You Know, for Search"}
        head = segs[0]
        if head == "_fake":
            return self.fake_control(method, body)
        admin = self.admin_route(method, segs, params, body)
        if admin is not None:
            return admin
        if head == "_bulk":
            return 200, self.bulk(None, body, params, self._bulk_rejects(method, "/_bulk"))
        target = head
        if len(segs) == 1:
            return self.index_level(method, target, params, body)
        op = segs[1]
        if op == "_refresh":
            for ix in self.resolve(target):
                with self.lock:
                    self.refresh(ix)
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if op == "_bulk":
            return 200, self.bulk(target, body, params, self._bulk_rejects(method, f"/{target}/_bulk"))
        if op == "_mget":
            ix = self.resolve(target)
            ids = body.get("ids") or [d["_id"] for d in body.get("docs", [])]
            return 200, {"docs": [self._get_any(ix, i) for i in ids]}
        if op == "_search":
            return 200, self.search(self.resolve(target), body or {}, params)
        if op == "_count":
            hits = self.matching(self.resolve(target), (body or {}).get("query"))
            return 200, {"count": len(hits), "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
        if op == "_delete_by_query":
            return self.delete_by_query(self.resolve(target), body, params)
        doc_id = segs[2] if len(segs) > 2 else None
        if op == "_doc" and method == "GET" and doc_id:
            got = self._get_any(self.resolve(target), doc_id)
            return (200 if got["found"] else 404), got
        ix = self.write_index(target)
        if op == "_doc" and method == "DELETE":
            return self.delete(ix, doc_id, params)
        if op in ("_doc", "_create") and doc_id:
            create = op == "_create" or params.get("op_type") == "create"
            result = self.put(ix, doc_id, body, create, params)
            return (201 if result["result"] == "created" else 200), result
        if op == "_update" and doc_id:
            return self.update(ix, doc_id, body, params)
        raise EsError(400, "illegal_argument_exception", f"fake: unsupported {method} /{'/'.join(segs)}")

    def _bulk_rejects(self, method: str, path: str) -> Any:
        return lambda: self.faults.pick(method, path, ("429_items",)) is not None

    def _get_any(self, indices: list[Index], doc_id: str) -> dict[str, Any]:
        for ix in indices:
            got = self.get(ix, doc_id)
            if got["found"]:
                return got
        return self.get(indices[0], doc_id)

    def fake_control(self, method: str, body: Any) -> tuple[int, Any]:
        """``POST /_fake/faults`` adds a fault rule; ``DELETE /_fake/faults`` clears them."""
        if method == "DELETE":
            self.faults.clear()
            return 200, {"acknowledged": True}
        fault = self.faults.add(body.pop("kind"), **{k: tuple(v) if k == "methods" else v for k, v in body.items()})
        return 200, {"acknowledged": True, "kind": fault.kind}

    # ------------------------------------------------------------ visibility

    def refresh(self, ix: Index) -> None:
        ix.visible = dict(ix.docs)  # entries are replaced on write, never mutated: a shallow copy is a snapshot
        ix.dirty = False
        ix.last_refresh = time.monotonic()

    def after_write(self, ix: Index, params: dict[str, Any]) -> None:
        if not self.near_realtime or str(params.get("refresh", "false")).lower() in ("true", "wait_for", ""):
            with self.lock:
                self.refresh(ix)

    # ------------------------------------------------------------ search

    def matching(self, indices: list[Index], query: Any) -> list[tuple[Index, str, dict[str, Any]]]:
        from tests.core.fake_es_query import check_query, evaluate

        if query is not None:
            check_query(query)
        out = []
        with self.lock:
            pools = [(ix, ix.visible if self.near_realtime else ix.docs) for ix in indices]
        for ix, pool in pools:
            terms_cache: dict[str, list[str]] = {}

            def terms(fld: str, ix: Index = ix, pool: dict = pool) -> list[str]:
                if fld not in terms_cache:
                    from tests.core.fake_es_query import values_at
                    analyze = ix.analyzer(fld)
                    terms_cache[fld] = sorted({t for d in pool.values() for v in values_at(d["src"], fld)
                                               for t in analyze(v)})
                return terms_cache[fld]

            for doc_id, doc in pool.items():
                if query is None or evaluate(ix, query, doc["src"], terms):
                    out.append((ix, doc_id, doc))
        return out

    def search(self, indices: list[Index], body: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        from tests.core.fake_es_search import run_search

        return run_search(self, indices, body, params)


def main() -> None:
    """Serve the fake standalone (for several processes or the contract suite's ES half):
    ``python -m tests.core.fake_elasticsearch`` prints the URL to put in ``BRANDGUARD_ES_URL``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--version", default="9.1.0", help="server version to announce (8.x mode: 8.17.0)")
    args = parser.parse_args()
    fake = FakeElasticsearch(version=args.version, record=False)
    print(fake.start(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
