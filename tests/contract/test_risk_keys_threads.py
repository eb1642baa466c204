"""Contract: risk flags and their change feed, API keys, threads, campaigns, ping/stats."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from core.domain import ApiKey, Campaign, RiskFlag, RiskLevel, Thread
from core.store.port import MentionQuery
from tests.contract.conftest import NOW, make_mention, refresh


def _flag(crm: str, level: RiskLevel, score: float, reasons: tuple[str, ...] = ("angry thread",)) -> RiskFlag:
    return RiskFlag(crm_id=crm, level=level, score=score, reasons=list(reasons), evidence_ids=["forum-1"])


def test_risk_flag_upsert_only_when_changed(store) -> None:
    first = store.upsert_risk_flag(_flag("C-1", RiskLevel.high, 71.23))
    assert first is not None and first.seq > 0
    assert store.upsert_risk_flag(_flag("C-1", RiskLevel.high, 71.24)) is None  # same score to 0.1
    second = store.upsert_risk_flag(_flag("C-1", RiskLevel.critical, 91.0))
    assert second.seq > first.seq
    assert store.get_risk_flag("C-1").level == RiskLevel.critical
    assert store.upsert_risk_flag(_flag("C-1", RiskLevel.critical, 91.0, ("angry thread", "boycott call"))) is not None
    assert store.get_risk_flag("C-404") is None


def test_risk_flag_feed_keeps_newest_change_only(store) -> None:
    store.upsert_risk_flag(_flag("C-1", RiskLevel.watch, 30))
    store.upsert_risk_flag(_flag("C-2", RiskLevel.high, 70))
    store.upsert_risk_flag(_flag("C-1", RiskLevel.high, 75))
    page = store.risk_flag_feed(None, limit=10)
    assert [(f.crm_id, f.level) for f in page.items] == [("C-2", RiskLevel.high), ("C-1", RiskLevel.high)]
    empty = store.risk_flag_feed(page.next_cursor)
    assert empty.items == [] and empty.next_cursor == page.next_cursor
    store.upsert_risk_flag(_flag("C-2", RiskLevel.none, 5))
    assert [f.crm_id for f in store.risk_flag_feed(page.next_cursor).items] == ["C-2"]


def test_risk_flag_feed_no_misses_or_duplicates_while_writers_run(store) -> None:
    customers = [f"C-{i}" for i in range(30)]
    done = threading.Event()

    def writer() -> None:
        for round_ in range(3):
            for i, crm in enumerate(customers):
                store.upsert_risk_flag(_flag(crm, RiskLevel.high, 50 + round_ * 10 + i % 7))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    cursor = None
    seen: list[tuple[str, int]] = []
    while True:
        finished = done.is_set()
        page = store.risk_flag_feed(cursor, limit=7)
        seen.extend((f.crm_id, f.seq) for f in page.items)
        cursor = page.next_cursor
        if finished and not page.items:
            break
    thread.join(timeout=60)
    seqs = [s for _, s in seen]
    assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)  # no duplicates, in order
    latest = {crm: store.get_risk_flag(crm).seq for crm in customers}
    assert all((crm, seq) in seen for crm, seq in latest.items())  # every final change was delivered


def test_api_keys(store) -> None:
    key = ApiKey(id="bg_k1", name="CRM sync", key_hash="argon2$abc", scopes=["risk:read"], created_at=NOW)
    store.save_api_key(key)
    store.save_api_key(ApiKey(id="bg_k2", name="dashboard", key_hash="argon2$def", scopes=["mentions:read"],
                              created_at=NOW + timedelta(seconds=1)))
    assert store.get_api_key("bg_k1").key_hash == "argon2$abc"
    assert [k.id for k in store.list_api_keys()] == ["bg_k1", "bg_k2"]
    store.touch_api_key("bg_k1", now=NOW + timedelta(hours=1))
    assert store.get_api_key("bg_k1").last_used_at == NOW + timedelta(hours=1)
    assert store.revoke_api_key("bg_k1", now=NOW + timedelta(hours=2))
    assert not store.revoke_api_key("bg_k1") and not store.revoke_api_key("bg_missing")
    assert store.get_api_key("bg_k1").revoked_at == NOW + timedelta(hours=2)
    assert store.get_api_key("bg_missing") is None


def test_threads_and_campaigns(store) -> None:
    thread = Thread(id="th-1", platform="forum", title="دیجی‌کالا پولم را پس نمی‌دهد", brands=["digikala"],
                    mention_ids=["forum-1", "forum-2"], authors=["forum:sara_k"], first_at=NOW, last_at=NOW)
    store.upsert_thread(thread)
    store.upsert_thread(thread.model_copy(update={"mention_ids": ["forum-1", "forum-2", "forum-3"]}))
    assert store.get_thread("th-1").mention_ids == ["forum-1", "forum-2", "forum-3"]
    assert store.get_thread("th-404") is None
    for n, days in ((1, 10), (2, 2), (3, 0)):
        store.upsert_campaign(Campaign(id=f"camp-{n}", brands=["snapp"], hashtags=["#boycott_snapp"],
                                       sample_text="اسنپ را تحریم کنید", first_at=NOW - timedelta(days=days + 1),
                                       last_at=NOW - timedelta(days=days), size_history=[(NOW, 12)]))
    refresh(store)
    assert [c.id for c in store.list_campaigns()] == ["camp-3", "camp-2", "camp-1"]
    assert [c.id for c in store.list_campaigns(since=NOW - timedelta(days=5))] == ["camp-3", "camp-2"]
    assert store.get_campaign("camp-2").size_history == [(NOW, 12)]
    assert store.get_campaign("camp-404") is None


def test_ping_and_stats(store) -> None:
    assert store.ping()
    store.upsert_mentions([make_mention("1", "Acme rocks"), make_mention("2", "Acme is down again")])
    refresh(store)
    stats = store.stats()
    assert stats["counts"]["mentions"] == 2
    assert stats["queues"]["analyze"]["ready"] == 2


def test_bad_cursor_is_a_clear_error(store) -> None:
    from core.store.port import StoreError

    with pytest.raises(StoreError):
        store.search_mentions(MentionQuery(cursor="definitely-not-a-cursor"))
    with pytest.raises(StoreError):
        store.risk_flag_feed("not-a-number")
