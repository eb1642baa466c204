"""Contract: per-stage work queues with leases, and checkpoints."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

from tests.contract.conftest import NOW, claim_from_threads, refresh

IDS = [f"forum-{i:04d}" for i in range(40)]


def test_enqueue_is_idempotent_and_claim_leases(store) -> None:
    assert store.enqueue("risk", IDS[:3], now=NOW) == 3
    assert store.enqueue("risk", IDS[:3], now=NOW) == 0  # already waiting: no-op
    refresh(store)
    items = store.claim("risk", "risk-1", limit=2, lease_seconds=30, now=NOW)
    assert len(items) == 2 and all(w.attempts == 1 and w.stage == "risk" for w in items)
    refresh(store)
    depth = store.queue_depth("risk", now=NOW)
    assert (depth["ready"], depth["leased"], depth["dead"]) == (1, 2, 0)
    # Leased items are invisible to other workers until the lease ends.
    rest = store.claim("risk", "risk-2", limit=10, lease_seconds=30, now=NOW + timedelta(seconds=10))
    assert [w.mention_id for w in rest] == [i for i in IDS[:3] if i not in {w.mention_id for w in items}]
    assert store.claim("analyze", "nlp-1", 10, 30, now=NOW) == []  # stages are separate


def test_expired_lease_is_claimable_again(store) -> None:
    store.enqueue("analyze", IDS[:1], now=NOW)
    refresh(store)
    first = store.claim("analyze", "nlp-killed", 1, lease_seconds=60, now=NOW)
    assert [w.mention_id for w in first] == IDS[:1]
    refresh(store)
    assert store.claim("analyze", "nlp-2", 1, 60, now=NOW + timedelta(seconds=59)) == []
    again = store.claim("analyze", "nlp-2", 1, 60, now=NOW + timedelta(seconds=61))
    assert [(w.mention_id, w.attempts) for w in again] == [(IDS[0], 2)]
    # The killed worker comes back: its ack removes nothing, the new holder's does.
    assert store.ack("analyze", "nlp-killed", IDS[:1]) == 0
    assert store.ack("analyze", "nlp-2", IDS[:1]) == 1
    refresh(store)
    assert store.queue_depth("analyze", now=NOW + timedelta(minutes=5))["ready"] == 0


def test_fail_retries_after_delay_then_dead(store) -> None:
    store.enqueue("risk", IDS[:1], now=NOW)
    t = NOW
    for attempt in range(1, 4):
        refresh(store)
        [item] = store.claim("risk", "risk-1", 1, 30, now=t)
        assert item.attempts == attempt
        store.fail("risk", "risk-1", item.mention_id, f"model timeout #{attempt}", retry_in_seconds=120,
                   max_attempts=3, now=t)
        refresh(store)
        if attempt < 3:
            assert store.claim("risk", "risk-1", 1, 30, now=t + timedelta(seconds=60)) == []  # still waiting
            depth = store.queue_depth("risk", now=t + timedelta(seconds=60))
            assert (depth["ready"], depth["leased"], depth["dead"]) == (0, 0, 0)  # waiting to retry
        t += timedelta(seconds=121)
    refresh(store)
    assert store.claim("risk", "risk-1", 1, 30, now=t + timedelta(days=1)) == []
    assert store.queue_depth("risk", now=t)["dead"] == 1
    [dead] = store.dead_items("risk")
    assert dead["mention_id"] == IDS[0] and dead["attempts"] == 3 and "model timeout #3" in dead["error"]
    # Enqueueing it again revives it.
    assert store.enqueue("risk", IDS[:1], now=t) == 1
    refresh(store)
    assert [w.attempts for w in store.claim("risk", "risk-1", 1, 30, now=t)] == [1]


def test_fail_by_a_worker_that_lost_the_lease_is_ignored(store) -> None:
    store.enqueue("alert", IDS[:1], now=NOW)
    refresh(store)
    store.claim("alert", "old", 1, 10, now=NOW)
    refresh(store)
    store.claim("alert", "new", 1, 10, now=NOW + timedelta(seconds=11))
    store.fail("alert", "old", IDS[0], "late failure", retry_in_seconds=600, now=NOW + timedelta(seconds=12))
    refresh(store)
    assert store.queue_depth("alert", now=NOW + timedelta(seconds=12))["leased"] == 1
    assert store.ack("alert", "new", IDS[:1]) == 1


def test_enqueue_while_leased_runs_again_after_ack(store) -> None:
    store.enqueue("risk", IDS[:1], now=NOW)
    refresh(store)
    store.claim("risk", "risk-1", 1, 60, now=NOW)
    store.enqueue("risk", IDS[:1], now=NOW + timedelta(seconds=5))  # engagement changed meanwhile
    refresh(store)
    assert store.claim("risk", "risk-2", 1, 60, now=NOW + timedelta(seconds=6)) == []  # still leased
    assert store.ack("risk", "risk-1", IDS[:1]) == 1
    refresh(store)
    again = store.claim("risk", "risk-2", 1, 60, now=NOW + timedelta(days=1))
    assert [w.mention_id for w in again] == IDS[:1]


def test_concurrent_claims_from_threads_never_share_an_item(store) -> None:
    store.enqueue("analyze", IDS, now=NOW)
    refresh(store)
    claimed = claim_from_threads(store, "analyze")
    assert sorted(claimed) == sorted(IDS)  # every item exactly once


def _claim_in_process(path: str, name: str, out: "multiprocessing.Queue[list[str]]") -> None:
    from core.store.sqlite import SqliteStore

    st = SqliteStore(path)
    mine: list[str] = []
    while batch := st.claim("analyze", name, limit=2, lease_seconds=300, now=NOW):
        mine.extend(w.mention_id for w in batch)
    st.close()
    out.put(mine)


def test_two_processes_never_claim_the_same_item(sqlite_store) -> None:
    sqlite_store.enqueue("analyze", IDS, now=NOW)
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(str(sqlite_store.path), f"p{i}", out)) for i in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    claimed = [mid for r in results for mid in r]
    assert sorted(claimed) == sorted(IDS)


def test_checkpoints(store) -> None:
    assert store.get_checkpoint("crawl:mastodon-fa") is None
    store.set_checkpoint("crawl:mastodon-fa", "109876543210")
    store.set_checkpoint("crawl:mastodon-fa", "109876543299")
    store.set_checkpoint("crawl:telegram", "msg-77")
    assert store.get_checkpoint("crawl:mastodon-fa") == "109876543299"
    assert store.get_checkpoint("crawl:telegram") == "msg-77"
