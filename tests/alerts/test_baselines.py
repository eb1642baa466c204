"""Cold start: baseline rules wait for a brand's learning period (visible in ``store stats`` and
``/readyz``); afterwards a genuine surge fires once, its evidence led by the posts that make it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from alerts.worker import AlertWorker
from core.baseline import baseline_status
from core.store.port import AlertFilter
from monitor_api.app import create_app
from tests.alerts.conftest import BRAND, NOW, make_settings, mention, open_test_store, seed

SPIKE = {"type": "negative_spike", "name": "spike", "window_minutes": 60, "baseline_hours": 168,
         "min_count": 10, "factor": 3, "channels": ["inbox"]}
# Ordinary grumbles: each about something else, in English and Persian.
CHATTER = [
    "Sepehr Mobile delivery took a day longer than promised, a bit annoying",
    "The Sepehr Mobile store was crowded and the seats were cramped while I waited",
    "Coffee at the Sepehr Mobile shop was lukewarm, not great",
    "Sepehr Mobile charger cable feels cheap honestly",
    "بسته‌بندی سپهر موبایل کمی آسیب دیده بود، ناراحت شدم",
    "پاسخ ایمیل سپهر موبایل دیر رسید و حوصله‌ام سر رفت",
    "Sepehr Mobile app logged me out twice today, mildly irritating",
    "Parking near the Sepehr Mobile branch is terrible",
]
OUTAGE = [
    "Sepehr Mobile payment outage again, my card was charged twice #sepehrdown",
    "Is the Sepehr Mobile payment outage still going? Charged twice and no order #sepehrdown",
    "قطعی درگاه پرداخت سپهر موبایل، پولم دو بار کم شد #sepehrdown",
]


def _chatter(prefix: str, count: int, start: datetime, step: timedelta) -> list:
    return [mention(f"{prefix}{i}", CHATTER[i % len(CHATTER)] + f" ({prefix}{i})", handle=f"{prefix}user{i % 37}",
                    published=start + step * i, risk=20, reasons=["mildly negative"]) for i in range(count)]


def _outage(count: int, start: datetime) -> list:
    return [mention(f"out{i}", OUTAGE[i % len(OUTAGE)], handle=f"payer{i}", published=start + timedelta(minutes=i),
                    risk=55, reasons=["angry 0.80", "money taken twice"]) for i in range(count)]


def _at(m, when: datetime):
    return m.model_copy(update={"crawled_at": when})


def test_a_fresh_store_learns_first_then_a_real_surge_fires_once_led_by_its_posts(tmp_path: Path, clock) -> None:
    settings = make_settings(tmp_path, rules=[SPIKE])
    store = open_test_store(settings)
    worker = AlertWorker(settings, store, clock, "alert-w1")
    # Hour 0 of a brand-new store: 56 ordinary grumbles (the backlog of a first crawl).
    seed(store, _chatter("first", 56, NOW - timedelta(minutes=59), timedelta(minutes=1)), queue=False)
    worker.tick(force=True)
    assert store.list_alerts(AlertFilter())[0] == []  # "56 vs 0 usual" is not a spike on day one
    status = baseline_status(store, BRAND, clock.now(), 24)
    assert not status.ready and status.observed_hours < 1

    # A normal day: about six grumbles an hour, each crawled when it appeared.
    day = [_at(m, m.published_at) for m in _chatter("day", 24 * 6, NOW, timedelta(minutes=10))]
    seed(store, day, queue=False)
    for hour in range(1, 25):
        clock.advance(timedelta(hours=1))
        worker.tick(force=True)
    assert store.list_alerts(AlertFilter())[0] == []
    assert baseline_status(store, BRAND, clock.now(), 24).ready

    # Hour 25: a payment outage — 36 posts by 36 accounts — on top of the usual grumbling.
    surge_start = clock.now() - timedelta(minutes=50)
    seed(store, _outage(36, surge_start) + _chatter("late", 6, surge_start, timedelta(minutes=8)), queue=False)
    worker.tick(force=True)
    [alert] = store.list_alerts(AlertFilter())[0]
    assert alert.rule == "spike" and alert.subject_kind == "brand"
    outage_ids = {m.id for m in _outage(36, surge_start)}
    assert set(alert.mention_ids[:20]) <= outage_ids  # the posts that make the surge lead the evidence
    assert any(r.startswith("about: ") and "outage" in r and "#sepehrdown" in r for r in alert.reasons)
    assert "about" in alert.title
    clock.advance(timedelta(minutes=5))
    seed(store, _outage(40, surge_start)[36:], queue=False)
    worker.tick(force=True)
    [again] = store.list_alerts(AlertFilter())[0]
    assert again.id == alert.id and len(store.list_deliveries(alert_id=alert.id)) == 1  # fired once
    store.close()


def test_learning_period_is_configurable(tmp_path: Path, clock) -> None:
    settings = make_settings(tmp_path, rules=[SPIKE], learning_hours=2)
    store = open_test_store(settings)
    seed(store, [_at(m, m.published_at) for m in _chatter("c", 18, NOW - timedelta(hours=3), timedelta(minutes=10))],
         queue=False)
    assert baseline_status(store, BRAND, NOW, settings.alerts.learning_hours).ready
    assert not baseline_status(store, BRAND, NOW, 24).ready
    store.close()


def test_store_stats_and_readyz_show_each_brand_learning(tmp_path: Path) -> None:
    real_now = datetime.now(timezone.utc)  # the CLI and the app read the real clock here
    settings = make_settings(tmp_path, rules=[SPIKE])
    store = open_test_store(settings)
    seed(store, [_at(m, m.published_at) for m in _chatter("r", 12, real_now - timedelta(hours=2), timedelta(minutes=10))],
         queue=False)
    config = tmp_path / "brandguard.yaml"
    config.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True), allow_unicode=True), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "store", "stats", "--config", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert set(stats["baselines"]) == {BRAND}  # the competitor is not alerted on
    learning = stats["baselines"][BRAND]
    assert learning["state"] == "learning" and learning["learning_hours"] == 24 and 1.9 <= learning["observed_hours"] <= 2.5
    with TestClient(create_app(settings, store, dashboard=False)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200  # learning is not "not ready": the API serves; spike alerts wait
    assert ready.json()["baselines"][BRAND]["state"] == "learning"
    store.close()
