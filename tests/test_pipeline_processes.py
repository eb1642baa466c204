"""The whole pipeline with **two processes per stage** -- crawl writer, analyze (the real NLP
model), risk, alert, dispatch -- on SQLite and on the fake Elasticsearch cluster with faults on
(503s, connection resets, 429 bulk items, random write delays, late answers to applied bulks).

Both backends must end with the same mentions, risk flags and alerts; every queued mention is
processed (nothing lost) and every delivery is written to the alert channel exactly once
(nothing notified twice). Each stage's two processes start together and race for the same work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from core.config import load_settings
from core.store import migrate_store, open_store
from core.store.port import AlertFilter
from monitor_api.demo import read_delivered
from risk.customers_import import import_customers
from tests.core.fake_elasticsearch import FakeElasticsearch
from tests.pipeline_writer import story_mentions

ROOT = Path(__file__).resolve().parents[1]
DEMO_CRM = ROOT / "risk" / "demo_customers.jsonl"
ENCODER = ROOT / "data" / "models" / "e5-small"
CLI = [sys.executable, "-c", "from core.cli import main; main()"]
STAGES = ("analyze", "risk", "alert", "dispatch")


def _config(tmp: Path, store: dict[str, Any]) -> Path:
    config = {
        "data_dir": str(tmp),
        "store": store,
        "models": {"encoder_dir": str(ENCODER)},
        "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile" OR sepehrmobile OR #sepehrfail OR "سپهر موبایل"'},
                   {"name": "Arianet", "query": "arianet OR آریانت", "competitor": True}],
        "alerts": {
            "channels": {"inbox": {"type": "log", "options": {"path": "alerts.jsonl"}}},
            "rules": [
                {"type": "key_customer_negative", "name": "key-customer", "severity": "high",
                 "tiers": ["gold", "platinum"], "channels": ["inbox"], "team": "support"},
                {"type": "campaign_detected", "name": "campaign", "min_authors": 5, "channels": ["inbox"], "team": "pr"},
            ],
        },
    }
    path = tmp / "brandguard.yaml"
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def _pair(args: list[list[str]], cwd: Path) -> list[str]:
    """Start the processes together, wait for all; their stderr (asserting they exited 0)."""
    procs = [subprocess.Popen(a, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in args]
    outs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, f"{proc.args[3:]} failed:\n{err[-3000:]}"
    return [err for _, err in outs]


def _run_story(tmp: Path, store_settings: dict[str, Any]) -> dict[str, Any]:
    tmp.mkdir()
    config = _config(tmp, store_settings)
    settings = load_settings(config)
    store = migrate_store(settings)
    try:
        import_customers(store, DEMO_CRM, _now())
    finally:
        store.close()
    _pair([[sys.executable, "-m", "tests.pipeline_writer", str(config), order] for order in ("forward", "backward")],
          cwd=ROOT)
    stages = list(STAGES)
    for _ in range(3):  # `--once` stops when idle; on Elasticsearch work enqueued in the last second
        for stage in stages:  # may not be searchable yet, so stages with work left run again
            _pair([[*CLI, stage, "--once", "--config", str(config), "--name", f"{stage}-{i}"] for i in (1, 2)],
                  cwd=ROOT)
        left = _ready(settings)
        if not left:
            break
        stages = [s for s in STAGES if s in left or s == "dispatch"]
    return _outcome(settings, tmp / "alerts.jsonl")


def _ready(settings: Any) -> set[str]:
    """Stages with queued work (after a refresh)."""
    store = open_store(settings)
    try:
        if hasattr(store, "refresh"):
            store.refresh()
        return {stage for stage in ("analyze", "risk", "alert") if store.queue_depth(stage)["ready"]}
    finally:
        store.close()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _outcome(settings: Any, channel_log: Path) -> dict[str, Any]:
    store = open_store(settings)
    try:
        if hasattr(store, "refresh"):
            store.refresh()
        ids = [m.id for m in story_mentions(_now())]
        mentions = store.get_mentions(ids)
        flags = store.risk_flag_feed(None, limit=100).items
        alerts, _ = store.list_alerts(AlertFilter(limit=100))
        delivered = read_delivered(channel_log)
        return {
            "mentions": sorted((m.id, m.analysis.sentiment if m.analysis else None, m.customer_id,
                                m.campaign_id is not None, m.risk is not None) for m in mentions),
            "flags": sorted((f.crm_id, f.level.value) for f in flags),
            "alerts": sorted((a.rule, a.customer_id, a.subject_kind, a.severity.value) for a in alerts),
            "deliveries": store.count_deliveries_by_status(),
            "delivered_per_id": Counter(d["delivery_id"] for d in delivered),
            "queues": {stage: store.queue_depth(stage) for stage in ("analyze", "risk", "alert")},
            "count": len(mentions),
        }
    finally:
        store.close()


@pytest.mark.slow
def test_two_processes_per_stage_give_the_same_story_on_sqlite_and_on_a_faulty_cluster(tmp_path: Path) -> None:
    on_sqlite = _run_story(tmp_path / "sqlite", {"backend": "sqlite"})
    fake = FakeElasticsearch(record=False, seed=7, fault_gap=12)
    fake.faults.add("503", probability=0.03)
    fake.faults.add("reset", probability=0.02)
    fake.faults.add("late", path="/_bulk", probability=0.03, delay_s=1.0)
    fake.faults.add("429_items", path="_bulk", probability=0.1)
    fake.faults.add("delay", methods=("PUT", "POST", "DELETE"), probability=0.2, delay_s=0.05)
    fake.start()
    try:
        on_es = _run_story(tmp_path / "es", {"backend": "elasticsearch", "es_url": fake.url,
                                             "es_index_prefix": "bgpipe", "es_request_timeout_s": 0.5})
    finally:
        fake.stop()
    assert sum(fake.faults.fired.values()) > 10, fake.faults.fired
    for outcome in (on_sqlite, on_es):
        assert outcome["count"] == 9 and all(sentiment is not None for _, sentiment, *_ in outcome["mentions"])
        assert all(scored for *_, scored in outcome["mentions"])  # every mention went through risk
        assert all(depth["ready"] == depth["leased"] == depth["dead"] == 0 for depth in outcome["queues"].values()), \
            outcome["queues"]
        assert outcome["alerts"] and outcome["deliveries"] == {"sent": sum(outcome["deliveries"].values())}
        assert set(outcome["delivered_per_id"].values()) == {1}, outcome["delivered_per_id"]  # nothing twice
        assert sum(outcome["delivered_per_id"].values()) == outcome["deliveries"]["sent"]  # nothing lost
    for key in ("mentions", "flags", "alerts", "deliveries"):
        assert on_es[key] == on_sqlite[key], key
    assert any(rule == "key-customer" and customer == "C-1042" for rule, customer, *_ in on_es["alerts"])
