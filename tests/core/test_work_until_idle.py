"""``--once`` workers do not exit while work just handed to them is still invisible to a search-based queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.config import Settings, StoreSettings
from core.store.elastic import ElasticStore, migrate_elastic_store
from core.worker import work_until_idle
from tests.core.fake_elasticsearch import FakeElasticsearch


class Claimer:
    """A stage worker that claims and acks queue items of one stage; ``then`` enqueues follow-up work once."""

    name = "claimer"

    def __init__(self, store, then: list[str] | None = None) -> None:  # noqa: ANN001
        self.store, self.then, self.done = store, list(then or []), []

    def run_once(self) -> int:
        items = self.store.claim("risk", self.name, 10, 30)
        self.store.ack("risk", self.name, [i.mention_id for i in items])
        self.done += [i.mention_id for i in items]
        if items and self.then:  # the hand-over another process makes just as this one looks idle
            self.store.enqueue("risk", self.then)
            self.then = []
        return len(items)


@pytest.fixture
def es_store() -> Iterator[ElasticStore]:
    server = FakeElasticsearch(near_realtime=True)  # writes searchable at the next refresh (1 s)
    url = server.start()
    store = migrate_elastic_store(Settings(store=StoreSettings(es_url=url, es_index_prefix="bgonce")))
    yield store
    store.close()
    server.stop()


def test_once_waits_for_the_search_index_before_calling_the_queue_empty(es_store: ElasticStore) -> None:
    es_store.enqueue("risk", ["m1", "m2"])
    es_store.refresh()
    worker = Claimer(es_store, then=["m3"])
    assert work_until_idle(worker, es_store) == 3
    assert sorted(worker.done) == ["m1", "m2", "m3"]
    assert es_store.search_lag_seconds > 1.0  # longer than the index's refresh interval


def test_once_on_sqlite_stops_at_the_first_empty_answer(tmp_path) -> None:  # noqa: ANN001
    from core.store import open_store

    store = open_store(Settings(data_dir=tmp_path, store=StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db")))
    try:
        store.enqueue("risk", ["m1"])
        waits: list[float] = []
        worker = Claimer(store, then=["m2"])
        assert work_until_idle(worker, store, sleep=waits.append) == 2  # m2 is claimable at once
        assert waits == []
    finally:
        store.close()
