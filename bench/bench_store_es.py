"""Elasticsearch-over-HTTP half of ``bench/bench_store.py``: the same synthetic mentions and
queries through the Elasticsearch adapter and through SQLite, in one run, with ratios.

    python bench/bench_store.py --es                      # the local HTTP simulator (tests/core/fake_elasticsearch.py)
    python bench/bench_store.py --es-url http://brandguard:PW@127.0.0.1:9200   # a live cluster
    python bench/bench_store.py --es --enqueue-race       # + 4 enqueuers racing 4 claimers, checked

Against the simulator the figures measure the adapter's requests and the HTTP round trips
(the simulator is a Python test double, far slower per document than a cluster); against a
live cluster they are the real thing. A live run uses a throw-away index prefix, dropped after.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from core.config import Settings, StoreSettings
from core.store import migrate_store
from core.store.sqlite import SqliteStore

Batch = Callable[[random.Random, int, int, datetime, int, bool], list]


def _ingest(store: Any, total: int, batch_size: int, make_batch: Batch, now: datetime) -> float:
    """Mentions/s of wall time spent in ``upsert_mentions`` (generation not timed)."""
    rng = random.Random(20261120)
    spent = 0.0
    for start in range(0, total, batch_size):
        batch = make_batch(rng, start, min(batch_size, total - start), now, total, False)
        t0 = time.perf_counter()
        report = store.upsert_mentions(batch)
        spent += time.perf_counter() - t0
        if report.failed or report.created != len(batch):
            raise SystemExit(f"{store.name}: ingest failed at {start}: {report.failed[:2]}")
    if hasattr(store, "refresh"):
        store.refresh()
    return total / spent


def _search_ms(store: Any, terms: list[str], queries: int, now: datetime) -> dict[str, float]:
    """Median ms of keyword + last 7 days + newest 50, per term."""
    from core.store.port import MentionQuery

    rng = random.Random(7)
    out = {}
    for term in terms:
        lat = []
        for _ in range(queries):
            since = now - timedelta(days=7) - timedelta(seconds=rng.uniform(0, 3600))
            t0 = time.perf_counter()
            store.search_mentions(MentionQuery(text=term, since=since, sort="newest", limit=50))
            lat.append((time.perf_counter() - t0) * 1000)
        out[term] = statistics.median(lat)
    return out


def _enqueue_race(store: Any, ids: int = 2_000) -> tuple[float, bool]:
    """4 threads enqueue the same ids (different orders) while 4 claim and ack; returns
    (items processed per second, every id processed and the queue empty)."""
    all_ids = [f"race-{i:06d}" for i in range(ids)]
    processed: set[str] = set()
    done = threading.Event()
    errors: list[BaseException] = []

    def enqueue(order: list[str]) -> None:
        try:
            for start in range(0, len(order), 200):
                store.enqueue("bench", order[start:start + 200])
        except BaseException as exc:  # noqa: BLE001 - reported in the verdict
            errors.append(exc)

    def claim(name: str) -> None:
        try:
            while True:
                batch = store.claim("bench", name, limit=50, lease_seconds=300)
                if not batch and done.is_set() and store.queue_depth("bench")["ready"] == 0:
                    return
                processed.update(w.mention_id for w in batch)
                store.ack("bench", name, [w.mention_id for w in batch])
                if not batch and hasattr(store, "refresh"):
                    store.refresh()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    orders = [all_ids, all_ids[::-1], all_ids[1::2] + all_ids[::2], random.Random(3).sample(all_ids, len(all_ids))]
    enqueuers = [threading.Thread(target=enqueue, args=(o,)) for o in orders]
    claimers = [threading.Thread(target=claim, args=(f"bench-{i}",)) for i in range(4)]
    t0 = time.perf_counter()
    for t in enqueuers + claimers:
        t.start()
    for t in enqueuers:
        t.join()
    done.set()
    if hasattr(store, "refresh"):
        store.refresh()
    for t in claimers:
        t.join()
    elapsed = time.perf_counter() - t0
    if hasattr(store, "refresh"):
        store.refresh()
    ok = not errors and processed == set(all_ids) and store.queue_depth("bench")["ready"] == 0
    return len(processed) / elapsed, ok


def run_es_comparison(total: int, terms: list[str], queries: int, es_url: str | None, make_batch: Batch,
                      now: datetime, race: bool) -> int:
    """Ingest and search on both backends in this run; print figures and ES/SQLite ratios."""
    fake = None
    if es_url is None:
        from tests.core.fake_elasticsearch import FakeElasticsearch

        fake = FakeElasticsearch(record=False)
        es_url = fake.start()
    prefix = f"bgbench-{uuid.uuid4().hex[:8]}"
    es = migrate_store(Settings(store=StoreSettings(es_url=es_url, es_index_prefix=prefix)))
    rows: list[tuple[str, float, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bg-bench-es-") as tmp:
            sqlite = SqliteStore(Path(tmp) / "bench.db")
            print(f"ingesting {total:,} mentions into SQLite and into Elasticsearch ({'simulator' if fake else es_url.split('@')[-1]}) ...",
                  flush=True)
            rows.append(("bulk ingest (mentions/s)", _ingest(sqlite, total, 500, make_batch, now),
                         _ingest(es, total, 500, make_batch, now)))
            lite_ms, es_ms = _search_ms(sqlite, terms, queries, now), _search_ms(es, terms, queries, now)
            rows += [(f"search '{t}' median ms", lite_ms[t], es_ms[t]) for t in terms]
            race_ok = True
            if race:
                (lite_rate, lite_ok), (es_rate, es_ok) = _enqueue_race(sqlite), _enqueue_race(es)
                rows.append(("enqueue/claim/ack race (items/s)", lite_rate, es_rate))
                race_ok = lite_ok and es_ok
                print(f"enqueue race: every id processed once the queue drained -- SQLite {'yes' if lite_ok else 'NO'},"
                      f" Elasticsearch {'yes' if es_ok else 'NO'}")
            sqlite.close()
    finally:
        es.drop_all()
        es.close()
        if fake is not None:
            fake.stop()
    print()
    print(f"{'measure':<44}{'SQLite':>12}{'Elasticsearch':>15}{'ES / SQLite':>13}")
    for label, lite, other in rows:
        print(f"{label:<44}{lite:>12,.1f}{other:>15,.1f}{other / lite:>13.2f}")
    return 0 if race_ok else 1
