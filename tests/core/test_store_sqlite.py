"""SQLite-only behaviour of the store: file setup, schema versioning, keys, query
compilation, identity-key rules and per-item error reporting."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from core.config import Settings, StoreSettings
from core.domain import Customer, Mention
from core.query import parse_query
from core.store import open_store
from core.store.port import MentionQuery, Store
from core.store.sqlite import SqliteStore, open_sqlite_store
from core.store.sqlite.ftsquery import compile_fts, compile_sql
from core.identity import customer_identity_keys, normalize_phone
from core.store.sqlite.mentions import SLOT_BITS
from core.store.sqlite.schema import MIGRATIONS
from tests.contract.conftest import NOW, make_mention


@pytest.fixture
def store(tmp_path):
    st = SqliteStore(tmp_path / "bg.db")
    yield st
    st.close()


def test_open_creates_parent_folders_wal_and_schema_version(tmp_path) -> None:
    path = tmp_path / "deep" / "er" / "brandguard.db"
    settings = Settings(data_dir=tmp_path, store=StoreSettings(sqlite_path=path))
    st = open_store(settings)
    assert isinstance(st, SqliteStore) and isinstance(st, Store) and path.exists()
    assert st._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert st._conn().execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert st.schema_version() == MIGRATIONS[-1][0]
    st.close()
    # Re-opening applies nothing twice and keeps the data.
    again = open_sqlite_store(settings)
    assert again.schema_version() == MIGRATIONS[-1][0]
    rows = again._conn().execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert rows == len(MIGRATIONS)
    again.close()


def test_default_path_is_under_the_data_dir(tmp_path) -> None:
    st = open_sqlite_store(Settings(data_dir=tmp_path / "data"))
    assert st.path == tmp_path / "data" / "brandguard.db"
    st.close()


def test_each_thread_gets_its_own_connection(store) -> None:
    seen: list[int] = []

    def use() -> None:
        seen.append(id(store._conn()))
        assert store.ping()

    threads = [threading.Thread(target=use) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen + [id(store._conn())])) == 4


def test_keys_follow_publication_time_and_survive_collisions(store) -> None:
    same_ms = [make_mention(f"k{i}", f"Acme outage report {i}", hours_ago=1) for i in range(40)]
    older = make_mention("old", "Acme outage report from last year", hours_ago=24 * 365)
    assert store.upsert_mentions(same_ms + [older]).created == 41
    keys = dict(store._conn().execute("SELECT id, rk FROM mentions").fetchall())
    base = int((NOW - timedelta(hours=1) - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1000)
    assert all(keys[m.id] >> SLOT_BITS == base for m in same_ms)
    assert len(set(keys.values())) == 41 and keys[older.id] < min(keys[m.id] for m in same_ms)
    page = store.search_mentions(MentionQuery(text="outage", limit=100))
    assert len(page.items) == 41 and page.items[-1].id == older.id


def test_changed_publication_time_moves_the_key(store) -> None:
    m = make_mention("moved", "Snapp driver was rude", hours_ago=5)
    store.upsert_mentions([m])
    corrected = make_mention("moved", "Snapp driver was rude", hours_ago=50, crawled_at=NOW + timedelta(minutes=1))
    assert store.upsert_mentions([corrected]).updated == 1
    assert store.count_mentions(MentionQuery(text="rude", since=NOW - timedelta(hours=10))) == 0
    assert store.count_mentions(MentionQuery(text="rude", since=NOW - timedelta(hours=60))) == 1


def test_constraint_error_fails_only_that_item(store) -> None:
    store._conn().execute(
        "CREATE TEMP TRIGGER poison BEFORE INSERT ON mentions WHEN NEW.source = 'poisoned-feed'"
        " BEGIN SELECT RAISE(ABORT, 'rejected by test trigger'); END"
    )
    good = make_mention("ok1", "Digikala delivered on time")
    bad = make_mention("bad1", "this row breaks a constraint", source="poisoned-feed")
    good2 = make_mention("ok2", "دیجی‌کالا سریع ارسال کرد")
    report = store.upsert_mentions([good, bad, good2])
    assert report.created == 2
    assert [f.id for f in report.failed] == [bad.id] and "rejected by test trigger" in report.failed[0].error
    assert store.get_mention(bad.id) is None and store.get_mention(good2.id) is not None
    # The failed mention was not queued; the good ones were.
    queued = {w.mention_id for w in store.claim("analyze", "w", 10, 60, now=NOW)}
    assert queued == {good.id, good2.id}


@pytest.mark.parametrize(("query", "expr", "exact"), [
    ("acme", '"acme"', True),
    ("refund*", '"refund"*', True),
    ('"acme bank"', '("acme bank" OR "acmebank")', True),
    ("acme -jobs", '("acme" NOT "jobs")', True),
    ("acme OR #acmefail", None, None),
    ("#acme_fail", '"acme fail"', False),
    ("NOT acme", None, False),
])
def test_fts_compilation(query: str, expr: str | None, exact: bool | None) -> None:
    plan = compile_fts(parse_query(query))
    if expr is not None:
        assert plan.expr == expr
    if exact is not None:
        assert plan.exact is exact
    if query == "acme OR #acmefail":
        assert plan.expr == '("acme" OR "acmefail")' and not plan.exact


def test_three_word_phrase_finds_every_gluing(store) -> None:
    texts = ["خرید از دیجی کالا مارکت", "خرید از دیجیکالا مارکت", "خرید از دیجی کالامارکت", "دیجی مارکت کالا"]
    store.upsert_mentions([make_mention(f"g{i}", t) for i, t in enumerate(texts)])
    found = {m.text for m in store.search_mentions(MentionQuery(text='"دیجی کالا مارکت"')).items}
    assert found == set(texts[:3])
    assert compile_sql(parse_query("NOT acme")) == ('NOT (m.rk IN (SELECT rowid FROM mention_fts WHERE mention_fts MATCH ?))',
                                                   ['"acme"'])


def test_phone_and_identity_rules() -> None:
    assert normalize_phone("+98 912 123 4567") == normalize_phone("09121234567") == "989121234567"
    assert normalize_phone("0098-912-123-4567") == "989121234567"
    assert normalize_phone("۰۹۱۲۱۲۳۴۵۶۷") == "989121234567"  # Persian digits
    assert normalize_phone("+1 (415) 555-0100") == "14155550100"
    assert normalize_phone("12") is None
    keys = customer_identity_keys(Customer(crm_id="C-1", emails=[" Mina@Example.COM "], handles={"Twitter": ["@Mina_R"]},
                                           order_ids=["DK-1"], phones=["021-8888 7777"]))
    assert {(k.kind, k.value) for k in keys} == {
        ("email", "mina@example.com"), ("handle", "twitter:mina_r"), ("order", "DK-1"), ("phone", "982188887777")}
    assert customer_identity_keys(Customer(crm_id="C-2", emails=["x@example.com"], erased=True)) == []


def test_drop_all_empties_every_table_and_the_index(store) -> None:
    store.upsert_mentions([make_mention("d1", "Tapsi raised prices")])
    store.set_checkpoint("x", "1")
    store.drop_all()
    assert store.stats()["counts"]["mentions"] == 0 and store.get_checkpoint("x") is None
    assert store.count_mentions(MentionQuery(text="tapsi")) == 0
    store.upsert_mentions([make_mention("d1", "Tapsi raised prices")])
    assert store.count_mentions(MentionQuery(text="tapsi")) == 1


def test_closed_store_refuses_work(tmp_path) -> None:
    st = SqliteStore(tmp_path / "c.db")
    st.close()
    with pytest.raises(Exception, match="closed"):
        st.get_mention("x")


def test_mention_round_trips_every_field(store) -> None:
    m = make_mention("rt", "Full record", likes=3, shares=2, title="عنوان", rating=2.5, parent_id="forum-p",
                     thread_id="t-1", lang="fa", brand_owned=True)
    store.upsert_mentions([m])
    stored = store.get_mention(m.id)
    assert isinstance(stored, Mention)
    assert stored.model_dump(exclude={"engagement_history"}) == m.model_dump(exclude={"engagement_history"})


def test_concurrent_writers_of_the_same_posts_create_each_once(store) -> None:
    posts = [make_mention(f"cc{i}", f"تپسی امروز هم دیر آمد {i}", likes=i) for i in range(60)]
    reports = []

    def write(order: list) -> None:
        reports.append(store.upsert_mentions(order))

    threads = [threading.Thread(target=write, args=(posts,)), threading.Thread(target=write, args=(posts[::-1],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.created for r in reports) == 60 and sum(r.unchanged for r in reports) == 60
    assert store.count_mentions(MentionQuery()) == 60
