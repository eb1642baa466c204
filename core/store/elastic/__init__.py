"""The Elasticsearch adapter of the storage port (production and scale-out).

``open_elastic_store(settings)`` connects with the official client (9.x servers as is, 8.x
through compatibility headers, older ones refused by version), checks that the versioned
indices are in place and returns an ``ElasticStore`` that implements every Protocol of
``core.store.port``. Templates and indices are put by one step, ``brandguard store migrate``
(``migrate_elastic_store``), never by every process at start. Modules, one job each:

- ``client``     connection, retry policy, realtime reads with concurrency tokens, bulk with per-item results, cursors
- ``indices``    templates, mappings, the Persian analyzer, aliases, migrations
- ``mentions``   upsert (re-crawl merge, conditional writes), reads, patches
- ``search``     query-language compiler, filters, sorts, facets, histogram
- ``stats``      overview statistics as aggregations (volume, mix, threads, authors)
- ``queue``      per-stage work queues with leases, checkpoints
- ``customers``  customers, identity keys, links, audit
- ``threads``    threads and campaigns
- ``alerts``     alerts (version + fingerprint pointer), silences, the embedded outbox
- ``outbox``     deliveries with leases
- ``flags``      risk flags with the gap-safe feed, API keys

Read-after-write: GETs by id are realtime; searches see writes after the next refresh
(1 s by default). Tests call ``refresh()`` after writes. See docs/elasticsearch.md.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from core.config import Settings
from core.store.elastic.alerts import AlertsMixin
from core.store.elastic.client import connect
from core.store.elastic.customers import CustomersMixin
from core.store.elastic.flags import RiskFlagsMixin
from core.store.elastic.indices import SPECS, IndexNames, check_indices, drop_indices, migrate_indices
from core.store.elastic.mentions import MentionsMixin
from core.store.elastic.outbox import OutboxMixin
from core.store.elastic.queue import QueueMixin
from core.store.elastic.search import SearchMixin, compile_query
from core.store.elastic.stats import StatsMixin
from core.store.elastic.threads import ThreadsMixin


class ElasticStore(
    MentionsMixin, SearchMixin, StatsMixin, QueueMixin, CustomersMixin, ThreadsMixin, AlertsMixin, OutboxMixin,
    RiskFlagsMixin,
):
    """Every port operation on one Elasticsearch cluster, under one index prefix."""

    name = "elasticsearch"
    # Writes become searchable at the next index refresh (``refresh_interval`` 1 s): how long a
    # ``--once`` worker waits before it believes an empty queue (core.worker.work_until_idle).
    search_lag_seconds = 1.5

    def __init__(self, es: Elasticsearch, prefix: str, migrate: bool = False, server_version: str = "") -> None:
        self._es = es
        self._names = IndexNames(prefix)
        self.server_version = server_version
        self.setup_actions: list[str] = []
        if migrate:
            self.setup_actions = migrate_indices(es, self._names)
        else:
            check_indices(es, self._names)

    @property
    def prefix(self) -> str:
        return self._names.prefix

    @property
    def client(self) -> Elasticsearch:
        return self._es

    def ping(self) -> bool:
        """True when the cluster answers."""
        try:
            return bool(self._es.ping())
        except TransportError:
            return False

    def stats(self) -> dict[str, Any]:
        """Documents per index (alias) and queue depths per stage."""
        counts = {}
        for spec in SPECS:
            if spec.kind in ("meta", "queue"):
                continue
            counts[spec.kind] = int(self._es.count(index=self._names.alias(spec.kind)).body["count"])
        try:
            health = self._es.cluster.health().body
        except ApiError as exc:  # a key without the `monitor` privilege still gets the counts
            health = {"status": f"unknown ({exc.meta.status})"}
        return {
            "backend": self.name,
            "prefix": self.prefix,
            "cluster": {"name": health.get("cluster_name"), "status": health.get("status")},
            "counts": counts,
            "queues": {stage: self.queue_depth(stage) for stage in self.stages()},
        }

    def refresh(self) -> None:
        """Make every write searchable now (tests; never called on a hot path)."""
        self._es.indices.refresh(index=",".join(self._names.all_aliases()))

    def drop_all(self) -> None:
        """Delete this prefix's indices and templates (tests only)."""
        drop_indices(self._es, self._names)

    def close(self) -> None:
        """Close the client's connections."""
        self._es.close()


def open_elastic_store(settings: Settings) -> ElasticStore:
    """Connect to ``settings.store.es_url`` and check that the indices are migrated."""
    es, version = connect(settings.store)
    try:
        return ElasticStore(es, settings.store.es_index_prefix, server_version=version)
    except BaseException:
        es.close()
        raise


def migrate_elastic_store(settings: Settings) -> ElasticStore:
    """Connect, put every template and create/migrate the indices (``brandguard store migrate``)."""
    es, version = connect(settings.store)
    try:
        return ElasticStore(es, settings.store.es_index_prefix, migrate=True, server_version=version)
    except BaseException:
        es.close()
        raise


__all__ = ["ElasticStore", "compile_query", "migrate_elastic_store", "open_elastic_store"]
