"""The Elasticsearch adapter against a fake Elasticsearch HTTP server on 127.0.0.1.

No cluster runs here: ``tests/core/fake_elasticsearch.py`` answers with real response
shapes and records every request, so these tests check what the adapter *sends*
(templates, analyzer, conditional writes, refresh policy) and how it treats what comes
back (failed bulk items, 409 conflicts). The behaviour suite against a live cluster is
``tests/contract`` with ``BRANDGUARD_ES_URL`` set.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from core.config import Settings, StoreSettings
from core.domain import Alert, AlertState, Author, Delivery, Engagement, Mention, RiskFlag, RiskLevel, Severity, mention_id
from core.store import migrate_store, open_store
from core.store.elastic import ElasticStore, compile_query, migrate_elastic_store, open_elastic_store
from core.store.elastic import alerts as alerts_module
from core.store.elastic import indices as indices_module
from core.store.port import ConflictError, MentionQuery, StoreError
from tests.contract.conftest import claim_from_threads
from tests.core.fake_elasticsearch import FakeElasticsearch

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
PREFIX = "bgunit"


@pytest.fixture
def fake() -> Iterator[FakeElasticsearch]:
    server = FakeElasticsearch(near_realtime=True)
    server.start()
    yield server
    server.stop()


def _open(fake: FakeElasticsearch, prefix: str = PREFIX) -> ElasticStore:
    settings = Settings(store=StoreSettings(es_url=fake.url, es_index_prefix=prefix))  # type: ignore[attr-defined]
    return migrate_elastic_store(settings)


@pytest.fixture
def store(fake: FakeElasticsearch) -> Iterator[ElasticStore]:
    st = _open(fake)
    yield st
    st.close()


def _mention(native_id: str, text: str, likes: int | None = None) -> Mention:
    return Mention(id=mention_id("forum", native_id), platform="forum", source="digikala-forum", native_id=native_id,
                   text=text, author=Author(platform="forum", handle="sara_k"), published_at=NOW - timedelta(hours=1),
                   crawled_at=NOW, engagement=Engagement(likes=likes), brands=["digikala"])


def _alert(alert_id: str = "al-1", fingerprint: str = "sabotage|digikala|th-1") -> Alert:
    return Alert(id=alert_id, fingerprint=fingerprint, rule="sabotage", brand="digikala", severity=Severity.high,
                 subject_kind="thread", subject_id="th-1", title="کمپین تحریم دیجی‌کالا", created_at=NOW,
                 updated_at=NOW)


# ------------------------------------------------------------------ layout


def test_open_puts_versioned_templates_with_the_persian_analyzer_and_aliases(fake, store) -> None:
    template = fake.templates[f"{PREFIX}-mentions"]
    assert template["index_patterns"] == [f"{PREFIX}-mentions-v*"] and template["version"] == 1
    analysis = template["template"]["settings"]["index"]["analysis"]
    analyzer = analysis["analyzer"]["bg_persian"]
    assert analyzer["filter"] == ["lowercase", "decimal_digit", "arabic_normalization", "persian_normalization"]
    char_rules = [rule for name in analyzer["char_filter"] for rule in analysis["char_filter"][name]["mappings"]]
    assert "\\u064A=>\\u06CC" in char_rules and "\\u0643=>\\u06A9" in char_rules  # Arabic ي/ك -> ی/ک
    assert "\\u200C=>\\u0020" in char_rules and "۳=>3" in char_rules and "٣=>3" in char_rules
    props = template["template"]["mappings"]["properties"]
    assert props["bg"]["properties"]["body"]["analyzer"] == "bg_persian"
    assert props["published_at"] == {"type": "date"} and props["brands"] == {"type": "keyword"}
    assert props["author"]["properties"]["name"]["fields"]["keyword"]["type"] == "keyword"
    for kind in ("mentions", "queue", "alerts", "deliveries", "riskflags", "customers", "apikeys"):
        assert fake.aliases[f"{PREFIX}-{kind}"] == {f"{PREFIX}-{kind}-v1": {"is_write_index": True}}
    # Migrating again is idempotent: templates are put again, no index is created.
    before = len([r for r in fake.requests if r.method == "PUT" and r.path.endswith("-v1")])
    again = _open(fake)
    assert again.setup_actions == []
    assert len([r for r in fake.requests if r.method == "PUT" and r.path.endswith("-v1")]) == before
    # Opening (what every worker does) puts no template at all.
    templates_before = len([r for r in fake.requests if r.path.startswith("/_index_template")])
    opened = open_elastic_store(Settings(store=StoreSettings(es_url=fake.url, es_index_prefix=PREFIX)))
    assert opened.server_version == "9.1.0"
    assert len([r for r in fake.requests if r.path.startswith("/_index_template")]) == templates_before


def test_schema_version_bump_migrates_behind_the_alias(fake, store, monkeypatch) -> None:
    store.upsert_mentions([_mention("1", "سفارشم از دیجی‌کالا نرسید", likes=3)])
    bumped = tuple(dataclasses.replace(s, version=2) if s.kind == "mentions" else s for s in indices_module.SPECS)
    monkeypatch.setattr(indices_module, "SPECS", bumped)
    reopened = _open(fake)
    assert reopened.setup_actions == [f"migrated {PREFIX}-mentions-v1 -> {PREFIX}-mentions-v2"]
    assert fake.aliases[f"{PREFIX}-mentions"] == {f"{PREFIX}-mentions-v2": {"is_write_index": True}}
    assert any(r.path == "/_reindex" and r.params.get("wait_for_completion") == "false" for r in fake.requests)
    assert any(r.path.startswith("/_tasks/") for r in fake.requests)
    assert reopened.get_mention(mention_id("forum", "1")).engagement.likes == 3


def test_bad_index_prefix_is_a_clear_error(fake) -> None:
    with pytest.raises(StoreError, match="es_index_prefix 'Brand Guard'"):
        _open(fake, prefix="Brand Guard")


def test_open_store_picks_elasticsearch_when_a_url_is_set_and_asks_for_a_migration_first(fake) -> None:
    settings = Settings(store=StoreSettings(es_url=fake.url, es_index_prefix="bgpick"))  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="bgpick-mentions is missing.*run `brandguard store migrate`"):
        open_store(settings)
    migrate_store(settings).close()
    st = open_store(settings)
    assert isinstance(st, ElasticStore) and st.ping()


# ------------------------------------------------------------------ bulk


def test_a_rejected_bulk_item_is_reported_with_its_reason_and_the_rest_stored(fake, store) -> None:
    good1 = _mention("g1", "اپلیکیشن دیجی‌کالا موقع پرداخت بسته می‌شود")
    bad = _mention("b1", "Digikala refund still missing")
    good2 = _mention("g2", "Digikala support answered within an hour")
    fake.reject(bad.id, 400, {"type": "mapper_parsing_exception",
                              "reason": "failed to parse field [published_at] of type [date]"})
    report = store.upsert_mentions([good1, bad, good2])
    assert (report.created, report.updated) == (2, 0)
    [failed] = report.failed
    assert failed.id == bad.id
    assert "mapper_parsing_exception" in failed.error and "published_at" in failed.error
    assert store.get_mention(good2.id) is not None and store.get_mention(bad.id) is None
    store.refresh()
    queued = {w.mention_id for w in store.claim("analyze", "nlp-1", 10, 60, now=NOW)}
    assert queued == {good1.id, good2.id}  # the failed item is not queued either


def test_recrawl_from_two_crawlers_keeps_both_history_points(fake, store) -> None:
    store.upsert_mentions([_mention("7", "Digikala lost my parcel", likes=3)])
    first = _mention("7", "Digikala lost my parcel", likes=40).model_copy(update={"crawled_at": NOW + timedelta(hours=1)})
    second = _mention("7", "Digikala lost my parcel", likes=90).model_copy(update={"crawled_at": NOW + timedelta(hours=2)})
    assert store.upsert_mentions([first]).updated == 1
    assert store.upsert_mentions([second]).updated == 1
    stored = store.get_mention(first.id)
    assert [p.likes for p in stored.engagement_history] == [3, 40, 90]
    writes = [r for r in fake.requests if r.path == "/_bulk" and any(
        "index" in line and line["index"].get("_id") == first.id for line in r.body if isinstance(line, dict))]
    assert writes and all("if_seq_no" in line["index"] for r in writes for line in r.body if "index" in line)


# ------------------------------------------------------------------ query compiler


def test_query_compiler_builds_bool_queries() -> None:
    body = "bg.body"
    assert compile_query("acme AND NOT jobs") == {"bool": {
        "must": [{"match": {body: {"query": "acme", "operator": "and"}}}],
        "must_not": [{"match": {body: {"query": "jobs", "operator": "and"}}}]}}
    assert compile_query("acme OR refund*") == {"bool": {"should": [
        {"match": {body: {"query": "acme", "operator": "and"}}},
        {"match_bool_prefix": {body: {"query": "refund", "operator": "and"}}}], "minimum_should_match": 1}}
    assert compile_query('"acme bank"') == {"bool": {"should": [
        {"match_phrase": {body: {"query": "acme bank"}}},
        {"match": {body: {"query": "acmebank", "operator": "and"}}}], "minimum_should_match": 1}}
    assert compile_query("#AcmeFail") == {"term": {"bg.hashtags": "acmefail"}}
    assert compile_query("@Acme_Support") == {"term": {"bg.handles": "acme_support"}}
    assert compile_query("NOT acme") == {"bool": {"must_not": [{"match": {body: {"query": "acme", "operator": "and"}}}]}}


def test_query_compiler_normalises_persian_text() -> None:
    # Arabic yeh/kaf fold to Persian; a ZWNJ-joined word is a phrase of its parts or the parts joined.
    assert compile_query("ديجي") == {"match": {"bg.body": {"query": "دیجی", "operator": "and"}}}
    assert compile_query("دیجی‌کالا") == {"bool": {"should": [
        {"match_phrase": {"bg.body": {"query": "دیجی کالا"}}},
        {"match": {"bg.body": {"query": "دیجیکالا", "operator": "and"}}}], "minimum_should_match": 1}}
    assert compile_query("۱۲۳") == {"match": {"bg.body": {"query": "123", "operator": "and"}}}


def test_search_request_has_filters_sort_cursor_facets_and_histogram(fake, store) -> None:
    store.upsert_mentions([_mention(str(i), f"دیجی‌کالا سفارش {i} را دیر آورد") for i in range(3)])
    store.refresh()
    query = MentionQuery(text="دیجی‌کالا", brands=["digikala"], since=NOW - timedelta(days=7), limit=2,
                         facets=["brands"], histogram="day")
    page = store.search_mentions(query)
    sent = [r for r in fake.requests if r.path.endswith("/_search")][-1].body
    assert sent["sort"] == [{"published_at": "desc"}, {"id": "desc"}] and sent["size"] == 3
    assert {"terms": {"brands": ["digikala"]}} in sent["query"]["bool"]["filter"]
    assert sent["aggs"]["histogram"]["aggs"]["negative"] == {"filter": {"term": {"bg.sentiment": "negative"}}}
    assert len(page.items) == 2 and page.next_cursor and page.facets["brands"][0].count == 3
    rest = store.search_mentions(query.model_copy(update={"cursor": page.next_cursor}))
    assert len(rest.items) == 1 and rest.next_cursor is None
    assert [r for r in fake.requests if r.path.endswith("/_search")][-1].body["search_after"]
    with pytest.raises(StoreError, match="cursor"):
        store.search_mentions(query.model_copy(update={"cursor": page.next_cursor, "sort": "oldest"}))


# ------------------------------------------------------------------ optimistic concurrency


def test_alert_update_is_conditional_and_a_409_becomes_conflict_error(fake, store, monkeypatch) -> None:
    created = store.create_alert(_alert())
    updated = store.update_alert(created.model_copy(update={"title": "escalating"}), expected_version=1)
    assert updated.version == 2
    write = [r for r in fake.requests if r.method == "PUT" and r.path == f"/{PREFIX}-alerts/_doc/al-1"][-1]
    assert "if_seq_no" in write.params and "if_primary_term" in write.params

    # Another worker changes the alert between our read and our write: ES answers 409.
    real_get = alerts_module.get_doc
    rival = _open(fake)
    calls = {"n": 0}

    def get_then_rival_writes(es: Any, index: str, doc_id: str) -> Any:
        doc = real_get(es, index, doc_id)
        if index.endswith("-alerts") and doc_id == "al-1" and calls["n"] == 0:
            calls["n"] += 1
            rival.update_alert(updated.model_copy(update={"assignee": "mina"}), expected_version=2)
        return doc

    monkeypatch.setattr(alerts_module, "get_doc", get_then_rival_writes)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        store.update_alert(updated.model_copy(update={"title": "mine"}), expected_version=2)
    conflicts = [r for r in fake.requests if r.path == f"/{PREFIX}-alerts/_doc/al-1" and r.method == "PUT"]
    assert conflicts[-1].params["if_seq_no"] != write.params["if_seq_no"]
    assert store.get_alert("al-1").assignee == "mina"  # the rival's change stands


def test_second_unresolved_alert_for_a_fingerprint_is_refused(store) -> None:
    store.create_alert(_alert("al-1"))
    with pytest.raises(ConflictError, match="fingerprint"):
        store.create_alert(_alert("al-2"))
    resolved = store.get_alert("al-1").model_copy(update={"state": AlertState.resolved})
    store.update_alert(resolved, expected_version=1)
    store.create_alert(_alert("al-2"))  # a resolved one does not block a new one
    assert store.find_alert_by_fingerprint("sabotage|digikala|th-1").id == "al-2"


def test_deliveries_embedded_in_an_interrupted_alert_write_are_recovered(fake, store, monkeypatch) -> None:
    delivery = Delivery(id="dl-1", alert_id="al-1", channel="slack", next_attempt_at=NOW, created_at=NOW)

    def crash(self: Any, alert_id: str) -> None:
        raise RuntimeError("process killed")

    monkeypatch.setattr(ElasticStore, "_flush_outbox", crash)
    with pytest.raises(RuntimeError):
        store.create_alert(_alert(), [delivery])
    monkeypatch.undo()
    assert store.get_delivery("dl-1") is None  # the copy did not happen...
    store.refresh()
    claimed = store.claim_due_deliveries("disp-1", 10, 30, now=NOW)  # ...the next claim finishes it
    assert [d.id for d in claimed] == []  # copied now; visible to the next search after a refresh
    store.refresh()
    assert [d.id for d in store.claim_due_deliveries("disp-1", 10, 30, now=NOW)] == ["dl-1"]
    assert fake.indices[f"{PREFIX}-alerts-v1"].docs["al-1"]["src"]["bg_outbox"] == []


# ------------------------------------------------------------------ leases under a stale search view


def test_concurrent_claims_on_a_stale_view_never_share_and_miss_nothing(store) -> None:
    ids = [f"forum-{i:03d}" for i in range(40)]
    store.enqueue("analyze", ids, now=NOW)
    store.refresh()  # from here on searches see the queue as it was: claimed items look free
    claimed = claim_from_threads(store, "analyze")
    assert sorted(claimed) == ids


def test_risk_flag_feed_holds_back_changes_behind_an_in_flight_seq(store) -> None:
    store.upsert_risk_flag(RiskFlag(crm_id="C-1", level=RiskLevel.watch, score=41))
    assert store._allocate_seq("slow") == 2  # a writer took seq 2 and has not written yet
    assert store._allocate_seq("slow") == 2  # its retried allocation takes no second seq
    store.upsert_risk_flag(RiskFlag(crm_id="C-2", level=RiskLevel.high, score=70))  # seq 3, written
    page = store.risk_flag_feed(None)
    assert [(f.crm_id, f.seq) for f in page.items] == [("C-1", 1)] and page.next_cursor == "1"
    assert store._release_seq("slow") and store._release_seq("slow")  # a retried release knows it released
    later = store.risk_flag_feed(page.next_cursor)
    assert [(f.crm_id, f.seq) for f in later.items] == [("C-2", 3)]


# ------------------------------------------------------------------ refresh policy


def test_no_hot_path_request_asks_for_an_immediate_refresh(fake, store) -> None:
    fake.requests.clear()
    m = _mention("h1", "Digikala delivery was late again #digikalafail", likes=2)
    store.upsert_mentions([m])
    store.upsert_mentions([m.model_copy(update={"engagement": Engagement(likes=9), "crawled_at": NOW + timedelta(hours=1)})])
    store.enqueue("risk", [m.id], now=NOW)
    store.get_mentions([m.id])
    for item in store.claim("analyze", "nlp-1", 10, 60, now=NOW + timedelta(days=9)):
        store.ack("analyze", "nlp-1", [item.mention_id])
    store.search_mentions(MentionQuery(text="#digikalafail", facets=["brands"], histogram="hour"))
    store.create_alert(_alert(), [Delivery(id="dl-9", alert_id="al-1", channel="slack", created_at=NOW)])
    store.claim_due_deliveries("disp-1", 5, 30, now=NOW)
    store.upsert_risk_flag(RiskFlag(crm_id="C-9", level=RiskLevel.high, score=66))
    store.touch_api_key("bg_missing", now=NOW)
    assert fake.requests
    offenders = [(r.method, r.path) for r in fake.requests
                 if r.params.get("refresh") in ("true", "", "wait_for")]
    assert offenders == []


# ------------------------------------------------------------------ container healthcheck


def test_worker_healthcheck_pings_the_configured_cluster(fake, monkeypatch, capsys) -> None:
    from core.store.elastic import healthcheck

    monkeypatch.delenv("BRANDGUARD_CONFIG", raising=False)
    monkeypatch.setenv("BRANDGUARD_STORE__ES_URL", fake.url)  # type: ignore[attr-defined]
    assert healthcheck.main() == 0
    monkeypatch.setenv("BRANDGUARD_STORE__ES_URL", "http://127.0.0.1:9")  # nothing listens there
    assert healthcheck.main() == 1
    monkeypatch.delenv("BRANDGUARD_STORE__ES_URL")
    assert healthcheck.main() == 2
    assert "es_url is not set" in capsys.readouterr().err


def test_a_flag_counter_written_before_write_tokens_keeps_counting(store) -> None:
    meta = f"{PREFIX}-meta"
    store.client.index(index=meta, id="counter:risk_flags",
                       document={"kind": "counter", "name": "risk_flags", "value": 41, "inflight": []})
    stored = store.upsert_risk_flag(RiskFlag(crm_id="C-9", level=RiskLevel.high, score=70))
    assert stored.seq == 42
    assert [(f.crm_id, f.seq) for f in store.risk_flag_feed("41").items] == [("C-9", 42)]
