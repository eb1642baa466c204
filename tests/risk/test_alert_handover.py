"""Hand-over to the alert stage: what the risk worker writes is what the demo's alert rules need to
raise ONE alert about Mina naming her tier, her unresolved ticket, the calls to share and the velocity."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings, StoreSettings
from core.store import open_store
from core.store.port import AlertFilter
from risk.customers_import import import_customers
from risk.worker import RiskWorker
from tests.risk.conftest import BRAND, COPY_EN, NOW, drain, seed
from tests.risk.test_campaigns import _copies
from tests.risk.test_worker import DEMO_CRM, _story

alerts_worker = pytest.importorskip("alerts.worker")

RULES = [
    {"type": "key_customer_negative", "name": "key-customer", "severity": "high", "tiers": ["gold", "platinum"],
     "channels": ["inbox"], "team": "support", "ack_sla_minutes": 60},
    {"type": "campaign_detected", "name": "campaign", "min_authors": 5, "critical_authors": 15,
     "channels": ["inbox"], "team": "pr"},
]


def test_the_demo_escalation_reaches_the_alert_stage_as_one_alert_about_mina(tmp_path: Path, clock):
    settings = Settings.model_validate({
        "data_dir": str(tmp_path), "store": StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db").model_dump(),
        "brands": [{"name": BRAND, "query": '"sepehr mobile" OR sepehrmobile OR #sepehrfail OR "سپهر موبایل"'}],
        "alerts": {"channels": {"inbox": {"type": "log", "options": {"path": "alerts.jsonl"}}}, "rules": RULES},
    })
    store = open_store(settings)
    try:
        assert import_customers(store, DEMO_CRM, NOW).created == 14
        mina_fa, mina_en, sara, praise = _story()
        seed(store, [mina_fa, mina_en, sara, praise, *_copies(COPY_EN, "en")])
        drain(RiskWorker(settings, store, clock, "risk-1"))
        drain(alerts_worker.AlertWorker(settings, store, clock, "alert-1"))
        alerts, _ = store.list_alerts(AlertFilter())
        about_mina = [a for a in alerts if a.customer_id == "C-1042"]
        assert len([a for a in about_mina if a.rule == "key-customer"]) == 1
        text = " ".join(about_mina[0].reasons)
        assert "T-881" in text and "gold" in text
        assert any(a.rule == "campaign" for a in alerts)
        assert not any(a.customer_id == "C-3001" for a in alerts)  # do_not_link: never named
        assert "shares +1280/h" in about_mina[0].reasons and "'Boost this, everyone'" in about_mina[0].reasons
    finally:
        store.close()
