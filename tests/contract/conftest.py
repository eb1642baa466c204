"""The storage contract suite: one set of behaviour tests run against every adapter.

The ``store`` fixture is parametrised over ``sqlite`` (always, a fresh file per test),
``es-fake`` (always: the Elasticsearch adapter against ``tests.core.fake_elasticsearch``,
a strict HTTP simulator of a cluster with near-real-time refresh, read-then-write updates and
409s, so the adapter's logic is exercised in every run), ``es-faulty`` (the same simulator
answering some requests with 503, dropping some connections, rejecting some bulk items with
429 and delaying writes at random -- faults the adapter must absorb without a behaviour
change; late answers to applied writes are tested in ``tests/core/test_store_elastic_faults.py``)
and ``elasticsearch`` (only
when ``BRANDGUARD_ES_URL`` points at a live cluster, with a throw-away index prefix
dropped at teardown). Run with ``pytest tests/contract -rs`` to see why the live
Elasticsearch run was skipped.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from uuid import uuid4

import pytest

from core.config import Settings, StoreSettings
from core.domain import Author, Engagement, Mention, mention_id
from core.store import migrate_store, open_store

ES_SKIP_REASON = "BRANDGUARD_ES_URL not set: Elasticsearch contract run skipped"

# A fixed "now" so tests do not depend on the wall clock.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def fake_es_url() -> Iterator[str]:
    """One fake Elasticsearch server for the session (searches see only refreshed writes)."""
    from tests.core.fake_elasticsearch import FakeElasticsearch

    fake = FakeElasticsearch(record=False)
    url = fake.start()
    yield url
    fake.stop()


@pytest.fixture(scope="session")
def faulty_es_url() -> Iterator[str]:
    """A second fake server whose faults the adapter must absorb: 503s, connection resets
    before the request is applied, 429 bulk items and random write delays (seeded)."""
    from tests.core.fake_elasticsearch import FakeElasticsearch

    fake = FakeElasticsearch(record=False, seed=1313, fault_gap=12)
    fake.faults.add("503", probability=0.04)
    fake.faults.add("reset", probability=0.03)
    fake.faults.add("429_items", path="_bulk", probability=0.1)
    fake.faults.add("delay", methods=("PUT", "POST", "DELETE"), probability=0.2, delay_s=0.05)
    url = fake.start()
    yield url
    fake.stop()


def _open(backend: str, tmp_path: Any, fake_url: str | None = None) -> Any:
    if backend == "sqlite":
        settings = Settings(data_dir=tmp_path, store=StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db"))
        return open_store(settings)
    url = fake_url if backend.startswith("es-") else os.environ.get("BRANDGUARD_ES_URL")
    if not url:
        pytest.skip(ES_SKIP_REASON)
    settings = Settings(
        data_dir=tmp_path,
        store=StoreSettings(backend="elasticsearch", es_url=url, es_index_prefix=f"bgtest-{uuid4().hex[:8]}"),
    )
    return migrate_store(settings)


@pytest.fixture(params=["sqlite", "es-fake", "es-faulty", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A fresh, empty store of each adapter."""
    backend = request.param
    fake_url = {"es-fake": "fake_es_url", "es-faulty": "faulty_es_url"}.get(backend)
    if fake_url is not None:
        fake_url = request.getfixturevalue(fake_url)
    st = _open(backend, tmp_path, fake_url)
    try:
        yield st
    finally:
        if backend != "sqlite":
            st.drop_all()
        st.close()


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Iterator[Any]:
    """A SQLite store only (for the multi-process test)."""
    st = _open("sqlite", tmp_path)
    yield st
    st.close()


def claim_from_threads(store: Any, stage: str, workers: int = 4, limit: int = 3) -> list[str]:
    """``workers`` threads start claiming together (batches of ``limit``) until the queue is empty;
    returns every claimed mention id, one entry per claim."""
    got: dict[str, list[str]] = {}
    barrier = threading.Barrier(workers)

    def worker(name: str) -> None:
        barrier.wait()
        mine: list[str] = []
        while batch := store.claim(stage, name, limit=limit, lease_seconds=300, now=NOW):
            mine.extend(w.mention_id for w in batch)
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(f"nlp-{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return [mid for mine in got.values() for mid in mine]


def refresh(store: Any) -> None:
    """Make the latest writes visible to searches (Elasticsearch); a no-op on SQLite."""
    if hasattr(store, "refresh"):
        store.refresh()


def make_mention(
    native_id: str, text: str, *, platform: str = "forum", source: str = "digikala-forum",
    handle: str = "sara_k", hours_ago: float = 1.0, title: str | None = None,
    brands: tuple[str, ...] = ("digikala",), likes: int | None = None, shares: int | None = None,
    crawled_at: datetime | None = None, now: datetime = NOW, **extra: Any,
) -> Mention:
    """A mention as a crawler would produce it."""
    return Mention(
        id=mention_id(platform, native_id), platform=platform, source=source, native_id=native_id,
        url=f"https://{platform}.example/p/{native_id}", title=title, text=text,
        author=Author(platform=platform, handle=handle, name=handle.replace("_", " ").title()),
        published_at=now - timedelta(hours=hours_ago), crawled_at=crawled_at or now,
        engagement=Engagement(likes=likes, shares=shares), brands=list(brands), **extra,
    )


@pytest.fixture
def api_client(store: Any, tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    """The HTTP API over ``store`` (each adapter) and a function making ``Authorization`` headers."""
    from fastapi.testclient import TestClient

    from monitor_api.app import create_app
    from monitor_api.security import create_api_key

    app = create_app(Settings(data_dir=tmp_path, api={"search_rate_per_minute": 100_000}), store)

    def headers(*scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_api_key(store, 'contract', scopes)[1]}"}

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, headers
