"""The Elasticsearch adapter under a faulty cluster: late answers to applied writes, 429 bulk
items, 503s, connection resets, racing processes and a schema migration by two migrators.

Every test runs the real adapter against ``tests.core.fake_elasticsearch`` with faults injected
(``fake.faults``) and the client's timeout set low (``es_request_timeout_s``), so a "late"
answer arrives after the client gave up and retried a write that had already taken effect.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from core.config import Settings, StoreSettings
from core.domain import Alert, AlertState, Author, Engagement, Mention, Severity, mention_id
from core.store import open_store
from core.store.elastic import ElasticStore, migrate_elastic_store
from core.store.elastic import indices as indices_module
from core.store.elastic.indices import IndexNames, migrate_index
from core.store.port import StoreError
from tests.core.fake_elasticsearch import FakeElasticsearch

NOW = datetime.now(timezone.utc).replace(microsecond=0)
TIMEOUT_S = 0.5  # the client's request timeout in these tests
LATE_S = 1.2  # a late answer comes after the client gave up


def _settings(fake: FakeElasticsearch, prefix: str = "bgfault") -> Settings:
    return Settings(store=StoreSettings(es_url=fake.url, es_index_prefix=prefix, es_request_timeout_s=TIMEOUT_S))


@pytest.fixture
def store(fake: FakeElasticsearch) -> Iterator[ElasticStore]:
    st = migrate_elastic_store(_settings(fake))
    yield st
    st.close()


def _mention(native_id: str, text: str = "Digikala lost my order #digikalafail") -> Mention:
    return Mention(id=mention_id("forum", native_id), platform="forum", source="digikala-forum", native_id=native_id,
                   text=text, author=Author(platform="forum", handle="sara_k"), published_at=NOW - timedelta(hours=1),
                   crawled_at=NOW, engagement=Engagement(likes=2), brands=["digikala"])


def _bulks(fake: FakeElasticsearch) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/_bulk"))


def test_a_bulk_applied_but_answered_late_counts_created_and_queues_the_mentions(fake, store) -> None:
    fake.faults.add("late", path="/_bulk", times=1, delay_s=LATE_S)
    before = _bulks(fake)
    report = store.upsert_mentions([_mention(str(i)) for i in range(3)])
    assert fake.faults.fired["late"] == 1 and _bulks(fake) >= before + 2  # the client sent it again
    assert (report.created, report.updated, report.unchanged, report.failed) == (3, 0, 0, [])
    store.refresh()
    claimed = store.claim("analyze", "nlp-1", limit=10, lease_seconds=60, now=NOW + timedelta(seconds=1))
    assert sorted(w.mention_id for w in claimed) == sorted(_mention(str(i)).id for i in range(3))


def test_a_recrawl_answered_late_counts_updated_and_queues_risk(fake, store) -> None:
    store.upsert_mentions([_mention("r")])
    fake.faults.add("late", path="/_bulk", times=1, delay_s=LATE_S)
    changed = _mention("r").model_copy(update={"engagement": Engagement(likes=40)})
    report = store.upsert_mentions([changed])
    assert (report.created, report.updated, report.unchanged, report.failed) == (0, 1, 0, [])
    assert store.get_mention(changed.id).engagement.likes == 40


def test_a_patch_and_a_lease_answered_late_are_recognised_as_ours(fake, store) -> None:
    from core.domain import Analysis
    from core.store.port import MentionPatch

    store.upsert_mentions([_mention("p")])
    store.refresh()
    fake.faults.add("late", path="/_bulk", times=1, delay_s=LATE_S)
    [item] = store.claim("analyze", "nlp-1", limit=1, lease_seconds=60, now=NOW + timedelta(seconds=1))
    assert item.mention_id == _mention("p").id and fake.faults.fired["late"] == 1  # our lease, answered late
    fake.faults.add("late", path="/_bulk", times=1, delay_s=LATE_S)
    analysis = Analysis(lang="en", sentiment="negative", model="test").model_dump(mode="json")
    report = store.patch_mentions([MentionPatch(id=_mention("p").id, analysis=analysis)])
    assert (report.updated, report.unchanged, report.failed) == (1, 0, []) and fake.faults.fired["late"] == 2
    assert store.ack("analyze", "nlp-1", [item.mention_id]) == 1


def _alert(alert_id: str = "al-1") -> Alert:
    return Alert(id=alert_id, fingerprint=f"sabotage|digikala|{alert_id}", rule="sabotage", brand="digikala",
                 severity=Severity.high, subject_kind="thread", subject_id="th-1", title="کمپین تحریم دیجی‌کالا",
                 created_at=NOW, updated_at=NOW)


def test_alert_writes_answered_late_are_ours_not_conflicts(fake, store) -> None:
    fake.faults.add("late", path="-alerts/_doc/", methods=("PUT",), times=1, delay_s=LATE_S)
    created = store.create_alert(_alert())
    assert created.version == 1 and fake.faults.fired["late"] == 1
    fake.faults.add("late", path="-alerts/_doc/", methods=("PUT",), times=1, delay_s=LATE_S)
    acked = store.update_alert(created.model_copy(update={"state": AlertState.acknowledged}), expected_version=1)
    assert acked.version == 2 and fake.faults.fired["late"] == 2
    assert store.get_alert("al-1").state == AlertState.acknowledged


def test_reads_and_writes_get_through_503s_and_connection_resets(fake, store) -> None:
    fake.faults.add("503", path="/_mget", times=1)  # the first read fails twice: 503, then a reset
    fake.faults.add("reset", path="/_mget", times=1)
    fake.faults.add("reset", path="/_bulk", times=1)
    assert store.upsert_mentions([_mention("x")]).created == 1
    assert store.get_mention(_mention("x").id) is not None
    assert fake.faults.fired["503"] == 1 and fake.faults.fired["reset"] == 2


def test_bulk_items_rejected_with_429_are_sent_again_with_back_off(fake, store) -> None:
    fake.faults.add("429_items", path="_bulk", probability=0.4)
    report = store.upsert_mentions([_mention(f"b{i}") for i in range(40)])
    assert report.created == 40 and report.failed == [] and fake.faults.fired["429_items"] > 5
    assert len(store.get_mentions([_mention(f"b{i}").id for i in range(40)])) == 40


def test_enqueue_racing_leases_acks_and_429s_loses_no_item(fake, store) -> None:
    fake.update_gap_s = 0.01  # reads and writes of an _update are 10 ms apart: races happen
    fake.faults.add("429_items", path="_bulk", probability=0.15)
    ids = [f"m{i:03d}" for i in range(60)]
    processed: set[str] = set()
    errors: list[BaseException] = []
    enqueuers_done = threading.Event()

    def enqueue(order: list[str]) -> None:
        try:
            for start in range(0, len(order), 10):
                store.enqueue("analyze", order[start:start + 10], now=NOW)
        except BaseException as exc:  # pragma: no cover - what the test is about
            errors.append(exc)

    def work(name: str) -> None:
        try:
            while True:
                batch = store.claim("analyze", name, limit=5, lease_seconds=300, now=NOW + timedelta(seconds=1))
                if not batch and enqueuers_done.is_set() and store.queue_depth("analyze", now=NOW)["ready"] == 0:
                    return
                processed.update(w.mention_id for w in batch)
                store.ack("analyze", name, [w.mention_id for w in batch])
                store.refresh()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    enqueuers = [threading.Thread(target=enqueue, args=(order,)) for order in (ids, ids[::-1], ids[1::2] + ids[::2])]
    workers = [threading.Thread(target=work, args=(f"nlp-{i}",)) for i in range(2)]
    for t in enqueuers + workers:
        t.start()
    for t in enqueuers:
        t.join(timeout=120)
    enqueuers_done.set()
    store.refresh()
    for t in workers:
        t.join(timeout=120)
    assert errors == []
    assert processed == set(ids)
    store.refresh()
    assert store.queue_depth("analyze", now=NOW + timedelta(days=1)) == {"ready": 0, "leased": 0, "delayed": 0, "dead": 0}


def test_risk_flag_feed_is_gap_and_duplicate_free_with_four_writer_processes(fake, store) -> None:
    fake.record = False
    fake.faults.add("delay", path="-riskflags/_doc/", probability=0.5, delay_s=0.3)  # writers overtake each other
    fake.faults.add("delay", path="-meta/_update/", probability=0.3, delay_s=0.05)
    fake.faults.add("late", path="-riskflags/_doc/", probability=0.05, delay_s=LATE_S)
    cmd = [sys.executable, "-m", "tests.core.es_flag_writer", fake.url, store.prefix]
    writers = [subprocess.Popen([*cmd, f"w{i}", "25", str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for i in range(4)]
    seen: list[tuple[str, int]] = []
    cursor = None

    def poll() -> None:
        nonlocal cursor
        page = store.risk_flag_feed(cursor, limit=7)
        seen.extend((f.crm_id, f.seq) for f in page.items)
        cursor = page.next_cursor

    while any(w.poll() is None for w in writers):
        poll()
        time.sleep(0.01)
    outputs = [w.communicate(timeout=120) for w in writers]
    assert all(w.returncode == 0 for w in writers), [err[-2000:] for _, err in outputs]
    for _ in range(50):  # drain what is left
        before = len(seen)
        poll()
        if len(seen) == before:
            break
    stored = [(d["crm"], d["seq"]) for out, _ in outputs for d in map(json.loads, out.splitlines())]
    assert len(stored) > 20
    seqs = [seq for _, seq in seen]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))  # in order, no duplicates
    seen_set = set(seen)
    for crm, seq in stored:  # no gaps: each change was served, or a later change of that customer was
        assert (crm, seq) in seen_set or any(c == crm and s > seq for c, s in seen), (crm, seq)
    for crm in {c for c, _ in stored}:
        assert max(s for c, s in seen if c == crm) == store.get_risk_flag(crm).seq
    assert fake.faults.fired["late"] > 0 and fake.faults.fired["delay"] > 10


def test_two_migrators_at_once_both_finish_on_the_new_version(fake, store, monkeypatch) -> None:
    store.upsert_mentions([_mention(f"g{i}") for i in range(30)])
    bumped = tuple(dataclasses.replace(s, version=2) if s.kind == "mentions" else s for s in indices_module.SPECS)
    monkeypatch.setattr(indices_module, "SPECS", bumped)
    fake.reindex_doc_delay_s = 0.01  # a reindex long enough for the two migrations to overlap
    names = IndexNames(store.prefix)
    results: list[str] = []
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            results.append(migrate_index(store.client, names.alias("mentions"), [names.concrete("mentions", 1)],
                                         names.concrete("mentions", 2), poll_s=0.05))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(results) == 2
    assert fake.aliases[names.alias("mentions")] == {names.concrete("mentions", 2): {"is_write_index": True}}
    reopened = open_store(_settings(fake))
    assert len(reopened.get_mentions([_mention(f"g{i}").id for i in range(30)])) == 30


def test_an_8x_server_is_used_through_compatibility_headers_and_a_7x_one_is_refused() -> None:
    for version, ok in (("8.17.0", True), ("7.17.9", False)):
        server = FakeElasticsearch(version=version)
        server.start()
        try:
            if ok:
                st = migrate_elastic_store(_settings(server))
                assert st.server_version == "8.17.0"
                assert st.upsert_mentions([_mention("v8")]).created == 1
                st.refresh()
                from core.domain import RiskFlag, RiskLevel
                from core.store.port import MentionQuery

                assert [m.native_id for m in st.search_mentions(MentionQuery(text="digikala")).items] == ["v8"]
                assert st.upsert_risk_flag(RiskFlag(crm_id="C-8", level=RiskLevel.high, score=70)).seq == 1
                assert [f.crm_id for f in st.risk_flag_feed(None).items] == ["C-8"]
                st.close()
            else:
                with pytest.raises(StoreError, match="Elasticsearch 7.17.9 at .* is not supported"):
                    open_store(_settings(server))
        finally:
            server.stop()
