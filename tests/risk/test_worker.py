"""The risk stage end to end on the demo story: links, scores, campaign, flags, alert hand-over; restarts,
side-by-side workers, a failing mention that does not hold up the rest, and the ``brandguard risk`` command."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from core.config import Settings
from core.domain import RiskLevel
from risk.customers_import import import_customers
from risk.worker import RiskWorker
from tests.risk.conftest import (
    COPY_EN, MINA_EN, MINA_FA, NOW, PRAISE_FA, angry_analysis, drain, growth, make_mention, praise_analysis, seed,
)
from tests.risk.test_campaigns import ACCOUNTS, _copies
from tests.story import shifted, to_real_now

DEMO_CRM = Path(__file__).resolve().parents[2] / "risk" / "demo_customers.jsonl"
SARA_FA = "دو هفته پیش از سپهر موبایل گوشی خریدم و باتری‌اش زود خالی میشه. خیلی ناراحتم."


def _story():
    mina_fa = make_mention("p10100", MINA_FA, platform="forum", handle="mina_r", url="https://forum.example/t/7",
                           thread_id="forum:https://forum.example/t/7", published=NOW - timedelta(minutes=50),
                           analysis=angry_analysis(MINA_FA, "fa", anger=0.91, cues=[
                               ("همه بازنشر کنید", "call_to_action"), ("دارم میرم سراغ آریانت", "tag_competitor")],
                               reasons=["reason_service", "reason_switching"]))
    mina_en = make_mention("110", MINA_EN, handle="mina_r", thread_id="mastodon:demo:110", followers=1800,
                           published=NOW - timedelta(minutes=50), history=growth([5, 40, 180, 500], NOW - timedelta(minutes=45)),
                           analysis=angry_analysis(MINA_EN, "en", cues=[("Boost this, everyone", "call_to_action"),
                                                                        ("never buy from Sepehr Mobile", "boycott")]))
    sara = make_mention("p10400", SARA_FA, platform="forum", handle="sara_a", name="Sara Ahmadi",
                        analysis=angry_analysis(SARA_FA, "fa", anger=0.4, reasons=["reason_product"]))
    praise = make_mention("p10500", PRAISE_FA, platform="forum", handle="ali_t", analysis=praise_analysis("fa"))
    return mina_fa, mina_en, sara, praise


def test_demo_story_links_scores_and_flags_mina_and_finds_the_campaign(store, settings: Settings, clock):
    assert import_customers(store, DEMO_CRM, NOW).created == 14
    mina_fa, mina_en, sara, praise = _story()
    copies = _copies(COPY_EN, "en")
    seed(store, [mina_fa, mina_en, sara, praise, *copies])
    drain(RiskWorker(settings, store, clock, "w1"))

    fa, en, sara_stored, praise_stored = store.get_mentions([mina_fa.id, mina_en.id, sara.id, praise.id])
    assert fa.customer_id == en.customer_id == "C-1042"
    assert en.risk.score >= 80 and fa.risk.score >= 60
    assert "linked to C-1042, gold tier, ticket T-881 unresolved 9 days" in en.risk.reasons
    assert "'Boost this, everyone'" in en.risk.reasons and "shares +1280/h" in en.risk.reasons
    assert sara_stored.customer_id is None  # do_not_link
    assert store.get_links(crm_id="C-3001") == [] and store.get_risk_flag("C-3001") is None
    assert praise_stored.risk.score < 10 < sara_stored.risk.score < 40  # a calm complaint stays below "watch"
    flag = store.get_risk_flag("C-1042")
    assert flag.level == RiskLevel.critical and set(flag.evidence_ids) == {mina_fa.id, mina_en.id}
    [campaign] = store.list_campaigns()
    members = store.get_mentions(campaign.mention_ids)
    assert len(campaign.authors) == 20 and campaign.risk.score >= max(m.risk.score for m in members) >= 50
    assert "coordinated campaign of 20 accounts" in campaign.risk.reasons
    assert store.get_thread("mastodon:demo:110").risk.score >= en.risk.score
    depth = store.queue_depth("alert")
    assert depth["ready"] == 24 and store.queue_depth("risk")["ready"] == 0


def test_two_workers_side_by_side_process_each_mention_once_and_agree(store, settings: Settings, clock):
    assert import_customers(store, DEMO_CRM, NOW).created == 14
    mina_fa, mina_en, sara, praise = _story()
    copies = _copies(COPY_EN, "en")
    seed(store, [mina_fa, mina_en, sara, praise, *copies])
    a = RiskWorker(settings, store, clock, "a", batch=3)
    b = RiskWorker(settings, store, clock, "b", batch=3)
    for _ in range(100):
        if a.run_once() + b.run_once() == 0:
            break
    stored = store.get_mentions([m.id for m in copies])
    assert len({m.campaign_id for m in stored}) == 1 and None not in {m.campaign_id for m in stored}
    [campaign] = store.list_campaigns()
    assert len(campaign.mention_ids) == 20
    assert all(m.risk is not None for m in store.get_mentions([mina_fa.id, mina_en.id, sara.id, praise.id]))
    assert store.get_risk_flag("C-1042").level == RiskLevel.critical


def test_a_crashed_worker_s_batch_is_taken_over_after_its_lease(store, settings: Settings, clock):
    assert import_customers(store, DEMO_CRM, NOW).created == 14
    mina_fa, mina_en, _, _ = _story()
    seed(store, [mina_fa, mina_en])
    claimed = store.claim("risk", "crashed", 10, 30, now=clock.now())  # it dies without acking
    assert len(claimed) == 2
    worker = RiskWorker(settings, store, clock, "w2", lease_seconds=30)
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=31))
    assert drain(worker) == 2
    assert store.get_mention(mina_en.id).customer_id == "C-1042"
    assert store.get_risk_flag("C-1042").level == RiskLevel.critical


def test_a_failing_mention_is_retried_later_and_does_not_hold_up_the_batch(store, settings: Settings, clock, monkeypatch):
    mina_fa, mina_en, sara, praise = _story()
    seed(store, [mina_fa, mina_en, sara, praise])
    import risk.worker as worker_module

    real = worker_module.link_author

    def flaky(store_, mention, now, **kw):
        if mention.id == sara.id:
            raise TimeoutError("CRM look-up timed out")
        return real(store_, mention, now, **kw)

    monkeypatch.setattr(worker_module, "link_author", flaky)
    worker = RiskWorker(settings, store, clock, "w1")
    drain(worker)
    assert store.get_mention(sara.id).risk is None
    assert all(m.risk for m in store.get_mentions([mina_fa.id, mina_en.id, praise.id]))
    monkeypatch.setattr(worker_module, "link_author", real)
    clock.advance(timedelta(minutes=2))
    assert drain(worker) == 1
    assert store.get_mention(sara.id).risk is not None


def test_brandguard_risk_once_and_customers_import_from_the_command_line(tmp_path):
    config = tmp_path / "brandguard.yaml"
    config.write_text(f"data_dir: {tmp_path}\nstore:\n  backend: sqlite\n  sqlite_path: {tmp_path / 'bg.db'}\n",
                      encoding="utf-8")
    run = [sys.executable, "-c", "from core.cli import main; main()"]
    imported = subprocess.run([*run, "customers", "import", str(DEMO_CRM), "--config", str(config), "--no-progress"],
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert "14 accepted (14 created, 0 updated, 0 unchanged), 0 rejected" in imported.stdout
    from core.config import load_settings
    from core.store import open_store

    store = open_store(load_settings(config))
    try:
        now = datetime.now(timezone.utc)  # the command runs on the system clock
        post = make_mention("cli1", MINA_EN, handle="mina_r", published=now - timedelta(minutes=5),
                            analysis=angry_analysis(MINA_EN, "en"))
        assert store.upsert_mentions([post]).ok
        store.enqueue("risk", [post.id], now=now)
    finally:
        store.close()
    result = subprocess.run([*run, "risk", "--once", "--config", str(config)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "risk worker: 1 item(s) handled" in result.stdout
    store = open_store(load_settings(config))
    try:
        assert store.get_mention(post.id).customer_id == "C-1042"
    finally:
        store.close()


def test_mention_without_analysis_is_still_scored_from_what_is_known(store, settings: Settings, clock):
    post = make_mention("raw", "Sepehr Mobile", handle=ACCOUNTS[0])
    seed(store, [post])
    drain(RiskWorker(settings, store, clock, "w1"))
    assert store.get_mention(post.id).risk.score < 20


def test_two_risk_processes_side_by_side_on_one_store(tmp_path):
    config = tmp_path / "brandguard.yaml"
    config.write_text(f"data_dir: {tmp_path}\nstore:\n  backend: sqlite\n  sqlite_path: {tmp_path / 'bg.db'}\n",
                      encoding="utf-8")
    from core.config import load_settings
    from core.store import open_store

    store = open_store(load_settings(config))
    delta = to_real_now()  # the commands run on the system clock: replay the story at today's date
    everything = [shifted(m, delta) for m in [*_story(), *_copies(COPY_EN, "en")]]
    try:
        assert import_customers(store, DEMO_CRM, NOW + delta).created == 14
        seed(store, everything)
    finally:
        store.close()
    run = [sys.executable, "-c", "from core.cli import main; main()", "risk", "--once", "--config", str(config)]
    procs = [subprocess.Popen([*run, "--name", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("risk-a", "risk-b")]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    store = open_store(load_settings(config))
    try:
        stored = store.get_mentions([m.id for m in everything])
        assert all(m.risk is not None for m in stored)
        assert len({m.campaign_id for m in stored[4:]}) == 1 and stored[4].campaign_id is not None
        [campaign] = store.list_campaigns()
        assert len(campaign.mention_ids) == 20
        assert store.queue_depth("risk")["ready"] == 0 and store.queue_depth("alert")["ready"] == len(everything)
        assert store.get_risk_flag("C-1042").level == RiskLevel.critical
    finally:
        store.close()
