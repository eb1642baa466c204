"""Index administration of the fake Elasticsearch: templates, indices, aliases, reindex tasks.

Strict where a cluster is: templates and new indices have their mappings and analysis
validated; alias actions are applied all-or-nothing and removing an alias that does not
point at that index is a 404 ``aliases_not_found_exception``; writes through an alias with
several indices need a write index; deleting by wildcard is refused
(``action.destructive_requires_name``); ``_reindex`` reads the source through a search (only
refreshed documents) and, with ``wait_for_completion=false``, runs as a task.
"""

from __future__ import annotations

import copy
import fnmatch
import itertools
import threading
import time
from typing import Any

from tests.core.fake_es_analysis import build_analyzers, validate_mappings
from tests.core.fake_es_errors import EsError
from tests.core.fake_es_query import Index

_task_ids = itertools.count(1)


class IndexAdmin:
    """Mixin of ``FakeElasticsearch`` (which provides the state and ``lock``)."""

    indices: dict[str, Index]
    aliases: dict[str, dict[str, dict[str, Any]]]
    templates: dict[str, dict[str, Any]]
    tasks: dict[str, dict[str, Any]]
    lock: Any
    reindex_doc_delay_s: float

    def admin_route(self, method: str, segs: list[str], params: dict[str, str], body: Any) -> tuple[int, Any] | None:
        head = segs[0]
        if head == "_index_template":
            return self.index_template(method, segs[1], body)
        if head == "_alias":
            return self.get_alias(segs[1])
        if head == "_aliases":
            return self.update_aliases(body["actions"])
        if head == "_cluster":
            return 200, {"cluster_name": "fake", "status": "green", "number_of_nodes": 1}
        if head == "_reindex":
            return self.reindex(body, params)
        if head == "_tasks":
            task = self.tasks.get(segs[1])
            if task is None:
                raise EsError(404, "resource_not_found_exception", f"task [{segs[1]}] isn't running and hasn't stored its results")
            return 200, task
        return None

    # ------------------------------------------------------------ templates

    def index_template(self, method: str, name: str, body: Any) -> tuple[int, Any]:
        with self.lock:
            if method == "DELETE":
                if self.templates.pop(name, None) is None:
                    raise EsError(404, "resource_not_found_exception", f"index_template [{name}] missing")
                return 200, {"acknowledged": True}
            if method == "GET":
                if name not in self.templates:
                    raise EsError(404, "resource_not_found_exception", f"index template matching [{name}] not found")
                return 200, {"index_templates": [{"name": name, "index_template": self.templates[name]}]}
            unknown = set(body) - {"index_patterns", "priority", "version", "_meta", "meta", "template", "composed_of",
                                   "data_stream", "allow_auto_create"}
            if unknown or "index_patterns" not in body:
                raise EsError(400, "x_content_parse_exception", f"[index_template] unknown field {sorted(unknown)}")
            if "meta" in body:  # the REST field is `_meta`; the python client maps meta= to it
                raise EsError(400, "x_content_parse_exception", "[index_template] unknown field [meta]")
            self._validated(body.get("template", {}))
            self.templates[name] = body
            return 200, {"acknowledged": True}

    @staticmethod
    def _validated(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        settings = spec.get("settings", {})
        analysis = settings.get("index", settings).get("analysis")
        analyzers = build_analyzers(analysis)
        mappings = spec.get("mappings", {})
        validate_mappings(mappings, analyzers)
        return mappings, settings

    # ------------------------------------------------------------ indices

    def index_level(self, method: str, target: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
        with self.lock:
            if method == "PUT":
                return self.create_index(target, body or {})
            names = [n for pat in target.split(",") for n in self.indices if fnmatch.fnmatch(n, pat)]
            if method == "DELETE":
                if "*" in target:
                    raise EsError(400, "illegal_argument_exception",
                                  "Wildcard expressions or all indices are not allowed")
                missing = [t for t in target.split(",") if t not in self.indices]
                if missing:
                    raise EsError(404, "index_not_found_exception", f"no such index [{missing[0]}]")
                for name in names:
                    del self.indices[name]
                    for members in self.aliases.values():
                        members.pop(name, None)
                self.aliases = {a: m for a, m in self.aliases.items() if m}
                return 200, {"acknowledged": True}
            if not names:
                if "*" in target:
                    return 200, {}
                raise EsError(404, "index_not_found_exception", f"no such index [{target}]")
            return 200, {n: {"aliases": {a: {} for a, m in self.aliases.items() if n in m},
                             "mappings": self.indices[n].mappings, "settings": self.indices[n].settings} for n in names}

    def create_index(self, target: str, body: dict[str, Any]) -> tuple[int, Any]:
        if target in self.indices:
            raise EsError(400, "resource_already_exists_exception", f"index [{target}/fake] already exists")
        if target in self.aliases:
            raise EsError(400, "invalid_index_name_exception", f"Invalid index name [{target}], already exists as alias")
        matching = [t for t in self.templates.values() if any(fnmatch.fnmatch(target, p) for p in t["index_patterns"])]
        template = max(matching, key=lambda t: t.get("priority", 0), default={})
        spec = copy.deepcopy(template.get("template", {}))
        spec.setdefault("mappings", {}).update(body.get("mappings", {}))
        mappings, settings = self._validated(spec)
        self.indices[target] = Index(target, mappings, settings)
        for alias, options in (body.get("aliases") or {}).items():
            self.aliases.setdefault(alias, {})[target] = dict(options or {})
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": target}

    def index_named(self, name: str) -> Index:
        with self.lock:
            if name in self.indices:
                return self.indices[name]
            members = self.aliases.get(name)
            if not members:
                raise EsError(404, "index_not_found_exception", f"no such index [{name}]")
            return self.indices[next(iter(members))]

    def resolve(self, target: str) -> list[Index]:
        with self.lock:
            out: list[Index] = []
            for name in target.split(","):
                if name in self.aliases:
                    out.extend(self.indices[n] for n in self.aliases[name])
                else:
                    out.append(self.index_named(name))
            return out

    def write_index(self, name: str) -> Index:
        with self.lock:
            members = self.aliases.get(name)
            if not members:
                return self.index_named(name)
            if len(members) == 1:
                return self.indices[next(iter(members))]
            writers = [n for n, o in members.items() if o.get("is_write_index")]
            if not writers:
                raise EsError(400, "illegal_argument_exception",
                              f"no write index is defined for alias [{name}]. The write index may be explicitly disabled"
                              " using is_write_index=false or the alias points to multiple indices without one being"
                              " designated as a write index")
            return self.indices[writers[0]]

    # ------------------------------------------------------------ aliases

    def get_alias(self, names: str) -> tuple[int, Any]:
        with self.lock:
            found: dict[str, Any] = {}
            missing = []
            for alias in names.split(","):
                if alias not in self.aliases:
                    missing.append(alias)
                for index, options in self.aliases.get(alias, {}).items():
                    found.setdefault(index, {"aliases": {}})["aliases"][alias] = dict(options)
            if missing:
                return 404, {"error": f"alias [{','.join(missing)}] missing", "status": 404, **found}
            return 200, found

    def update_aliases(self, actions: list[dict[str, Any]]) -> tuple[int, Any]:
        with self.lock:
            planned = {a: {i: dict(o) for i, o in m.items()} for a, m in self.aliases.items()}
            for action in actions:
                (kind, spec), = action.items()
                alias, index = spec["alias"], spec["index"]
                if index not in self.indices:
                    raise EsError(404, "index_not_found_exception", f"no such index [{index}]")
                if kind == "add":
                    planned.setdefault(alias, {})[index] = {"is_write_index": bool(spec.get("is_write_index"))} \
                        if "is_write_index" in spec else {}
                elif kind == "remove":
                    if index not in planned.get(alias, {}):
                        raise EsError(404, "aliases_not_found_exception", f"aliases [{alias}] missing")
                    del planned[alias][index]
                else:
                    raise EsError(400, "illegal_argument_exception", f"fake: unsupported alias action [{kind}]")
            self.aliases = {a: m for a, m in planned.items() if m}
            return 200, {"acknowledged": True, "errors": False}

    # ------------------------------------------------------------ reindex, delete by query

    def reindex(self, body: dict[str, Any], params: dict[str, str]) -> tuple[int, Any]:
        sources = self.resolve(body["source"]["index"])
        dest = self.write_index(body["dest"]["index"])
        create = body["dest"].get("op_type") == "create"
        proceed = body.get("conflicts") == "proceed"
        with self.lock:
            snapshot = [(doc_id, doc) for ix in sources for doc_id, doc in ix.visible.items()]  # a scroll search
        task_id = f"fake-node:{next(_task_ids)}"

        def run() -> dict[str, Any]:
            created = conflicts = 0
            failures: list[dict[str, Any]] = []
            for doc_id, doc in snapshot:
                time.sleep(self.reindex_doc_delay_s)
                try:
                    self.put(dest, doc_id, copy.deepcopy(doc["src"]), create, {"refresh": "false"})
                    created += 1
                except EsError as exc:
                    if exc.status != 409:
                        failures.append({"id": doc_id, "cause": exc.body["error"], "status": exc.status})
                    elif not proceed:
                        failures.append({"id": doc_id, "cause": exc.body["error"], "status": 409})
                        break
                    else:
                        conflicts += 1
            if str(params.get("refresh", "")).lower() in ("true", ""):
                with self.lock:
                    self.refresh(dest)
            return {"took": 1, "timed_out": False, "total": len(snapshot), "created": created, "updated": 0,
                    "version_conflicts": conflicts, "failures": failures}

        if str(params.get("wait_for_completion", "true")).lower() == "false":
            with self.lock:
                self.tasks[task_id] = {"completed": False, "task": {"node": "fake-node", "id": task_id,
                                                                    "action": "indices:data/write/reindex"}}

            def background() -> None:
                response = run()
                with self.lock:
                    self.tasks[task_id] = {"completed": True, "task": self.tasks[task_id]["task"], "response": response}

            threading.Thread(target=background, daemon=True).start()
            return 200, {"task": task_id}
        return 200, run()

    def delete_by_query(self, indices: list[Index], body: dict[str, Any], params: dict[str, str]) -> tuple[int, Any]:
        deleted = conflicts = 0
        for ix, doc_id, doc in self.matching(indices, body.get("query")):
            try:
                self.delete(ix, doc_id, {"if_seq_no": doc["seq"], "if_primary_term": 1, "refresh": "false"})
                deleted += 1
            except EsError as exc:
                if params.get("conflicts") != "proceed":
                    return 409, {"deleted": deleted, "version_conflicts": 1, "failures": [exc.body["error"]]}
                conflicts += 1
        for ix in indices:
            self.after_write(ix, params)
        return 200, {"took": 1, "timed_out": False, "total": deleted + conflicts, "deleted": deleted,
                     "version_conflicts": conflicts, "failures": []}

    # provided by the server / DocumentOps
    def matching(self, indices: list[Index], query: Any) -> list[tuple[Index, str, dict[str, Any]]]:  # pragma: no cover
        raise NotImplementedError

    def put(self, ix: Index, doc_id: str, src: dict[str, Any], create: bool, meta: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def delete(self, ix: Index, doc_id: str, meta: dict[str, Any]) -> tuple[int, Any]:  # pragma: no cover
        raise NotImplementedError

    def refresh(self, ix: Index) -> None:  # pragma: no cover
        raise NotImplementedError

    def after_write(self, ix: Index, params: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError
