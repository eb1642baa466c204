"""The storage contract suite: one set of behaviour tests run against every adapter.

The ``store`` fixture is parametrised over ``sqlite`` (always, a fresh file per test),
``es-fake`` (always: the Elasticsearch adapter against ``tests.core.fake_elasticsearch``,
an in-process server speaking Elasticsearch's HTTP API with near-real-time refresh
semantics, so the adapter's logic is exercised in every run) and ``elasticsearch`` (only
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
from core.store import open_store

ES_SKIP_REASON = "BRANDGUARD_ES_URL not set: Elasticsearch contract run skipped"

# A fixed "now" so tests do not depend on the wall clock.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def fake_es_url() -> Iterator[str]:
    """One in-process fake Elasticsearch for the session (searches see only refreshed writes)."""
    from tests.core.fake_elasticsearch import FakeElasticsearch

    fake = FakeElasticsearch(near_realtime=True)
    url = fake.start()
    yield url
    fake.stop()


def _open(backend: str, tmp_path: Any, fake_url: str | None = None) -> Any:
    if backend == "sqlite":
        settings = Settings(data_dir=tmp_path, store=StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db"))
        return open_store(settings)
    url = fake_url if backend == "es-fake" else os.environ.get("BRANDGUARD_ES_URL")
    if not url:
        pytest.skip(ES_SKIP_REASON)
    settings = Settings(
        data_dir=tmp_path,
        store=StoreSettings(backend="elasticsearch", es_url=url, es_index_prefix=f"bgtest-{uuid4().hex[:8]}"),
    )
    return open_store(settings)


@pytest.fixture(params=["sqlite", "es-fake", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A fresh, empty store of each adapter."""
    backend = request.param
    fake_url = request.getfixturevalue("fake_es_url") if backend == "es-fake" else None
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
