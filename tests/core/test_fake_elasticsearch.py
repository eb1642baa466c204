"""The fake Elasticsearch is at least as strict as a real cluster where the adapter depends on it.

Each test sends what a real cluster refuses (or answers in a way that is easy to get wrong)
with the official client, straight to the fake, and checks the cluster's answer.
"""

from __future__ import annotations

import threading
from typing import Iterator

import pytest
from elasticsearch import ApiError, BadRequestError, ConflictError, Elasticsearch, NotFoundError

from core.store.elastic.indices import PERSIAN_ANALYSIS
from tests.core.fake_elasticsearch import FakeElasticsearch
from tests.core.fake_es_analysis import build_analyzers, standard_tokenize


@pytest.fixture
def fake() -> Iterator[FakeElasticsearch]:
    server = FakeElasticsearch(auto_refresh=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def es(fake: FakeElasticsearch) -> Iterator[Elasticsearch]:
    client = Elasticsearch(fake.url, request_timeout=5, max_retries=0)
    client.indices.create(index="t", mappings={"dynamic": False, "properties": {
        "n": {"type": "long"}, "k": {"type": "keyword"}, "body": {"type": "text"}, "at": {"type": "date"}}})
    yield client
    client.close()


def test_standard_tokenizer_keeps_apostrophes_dots_and_zwnj_words_whole() -> None:
    assert standard_tokenize("acme's acme’s don't digikala.com 1,000 3.5") == [
        "acme's", "acme’s", "don't", "digikala.com", "1,000", "3.5"]
    assert standard_tokenize("دیجی\u200cکالا خوب است") == ["دیجی\u200cکالا", "خوب", "است"]  # ZWNJ does not split
    assert standard_tokenize("end. Next 'quoted' a_b") == ["end", "Next", "quoted", "a_b"]


def test_our_analyzer_splits_where_sqlite_and_the_query_language_split() -> None:
    analyze = build_analyzers(PERSIAN_ANALYSIS)["bg_persian"]
    assert analyze("Acme's acme’s digikala.com don't 1,000") == ["acme", "s", "acme", "s", "digikala", "com",
                                                                 "don", "t", "1", "000"]
    assert analyze("سفارشم از دیجی\u200cکالا") == analyze("سفارشم از ديجي کالا")  # ZWNJ, Arabic yeh/kaf


def test_result_window_bool_depth_and_text_sort_are_refused(es: Elasticsearch) -> None:
    with pytest.raises(BadRequestError, match="Result window is too large"):
        es.search(index="t", size=10_001)
    deep: dict = {"match_all": {}}
    for _ in range(21):
        deep = {"bool": {"must": [deep]}}
    with pytest.raises(BadRequestError, match="max_nested_depth"):
        es.search(index="t", query=deep)
    with pytest.raises(BadRequestError, match="Text fields are not optimised"):
        es.search(index="t", sort=[{"body": "asc"}])


def test_mappings_and_documents_are_validated(es: Elasticsearch) -> None:
    with pytest.raises(BadRequestError, match="unknown parameter \\[analyser\\]"):
        es.indices.create(index="bad", mappings={"properties": {"x": {"type": "text", "analyser": "standard"}}})
    with pytest.raises(BadRequestError, match="analyzer \\[nope\\] has not been configured"):
        es.indices.create(index="bad", mappings={"properties": {"x": {"type": "text", "analyzer": "nope"}}})
    with pytest.raises(BadRequestError, match="failed to parse field \\[n\\] of type \\[long\\]"):
        es.index(index="t", id="1", document={"n": "twelve"})
    with pytest.raises(BadRequestError, match="failed to parse field \\[k\\] of type \\[keyword\\]"):
        es.index(index="t", id="1", document={"k": {"nested": 1}})


def test_totals_and_aggregations_cover_every_match_not_just_the_page(es: Elasticsearch) -> None:
    for i in range(5):
        es.index(index="t", id=str(i), document={"n": i, "k": "even" if i % 2 == 0 else "odd"})
    es.indices.refresh(index="t")
    resp = es.search(index="t", size=1, sort=[{"n": "asc"}], search_after=[2],
                     aggs={"kinds": {"terms": {"field": "k"}}}).body
    assert [h["_id"] for h in resp["hits"]["hits"]] == ["3"]
    assert resp["hits"]["total"] == {"value": 5, "relation": "eq"}
    assert {b["key"]: b["doc_count"] for b in resp["aggregations"]["kinds"]["buckets"]} == {"even": 3, "odd": 2}
    capped = es.search(index="t", size=0, track_total_hits=3).body
    assert capped["hits"]["total"] == {"value": 3, "relation": "gte"}


def test_searches_see_only_refreshed_writes_and_gets_are_realtime(es: Elasticsearch) -> None:
    es.index(index="t", id="1", document={"n": 1})
    assert es.get(index="t", id="1").body["found"]
    assert es.count(index="t").body["count"] == 0
    es.indices.refresh(index="t")
    assert es.count(index="t").body["count"] == 1


def test_racing_updates_conflict_unless_retried_on_conflict(fake: FakeElasticsearch, es: Elasticsearch) -> None:
    fake.update_gap_s = 0.05  # the shard reads, then writes 50 ms later
    es.index(index="t", id="c", document={"n": 0})
    outcomes: list[str] = []

    def bump(retries: int) -> None:
        try:
            es.update(index="t", id="c", doc={"k": threading.current_thread().name}, retry_on_conflict=retries)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("409")

    threads = [threading.Thread(target=bump, args=(0,), name=f"w{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "409" in outcomes and "ok" in outcomes
    outcomes.clear()
    threads = [threading.Thread(target=bump, args=(10,), name=f"r{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["ok"] * 4


def test_conditional_writes_and_alias_removal_answer_like_a_cluster(es: Elasticsearch) -> None:
    first = es.index(index="t", id="x", document={"n": 1}).body
    with pytest.raises(ConflictError):
        es.index(index="t", id="x", document={"n": 2}, if_seq_no=first["_seq_no"] + 5, if_primary_term=1)
    with pytest.raises(ConflictError):
        es.index(index="t", id="x", document={"n": 2}, op_type="create")
    with pytest.raises(NotFoundError, match="aliases_not_found_exception"):
        es.indices.update_aliases(actions=[{"remove": {"index": "t", "alias": "nope"}}])
    with pytest.raises(BadRequestError, match="Wildcard expressions"):
        es.indices.delete(index="t*")


def test_an_8x_server_refuses_the_9x_client_s_compatibility_headers() -> None:
    server = FakeElasticsearch(version="8.17.0")
    server.start()
    try:
        with pytest.raises(ApiError, match="media_type_header_exception"):
            Elasticsearch(server.url, max_retries=0).info()
    finally:
        server.stop()
