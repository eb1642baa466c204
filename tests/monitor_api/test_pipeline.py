"""The one-process pipeline: stages load lazily, a stage that cannot start is reported and the
others still run, and ``drain`` moves work through the stages until all are idle."""

from __future__ import annotations

import time
from typing import Any

from core.clock import SimulatedClock
from core.config import Settings
from monitor_api import pipeline as pipeline_module
from monitor_api.pipeline import Pipeline
from tests.monitor_api.seed import NOW


class Broken:
    def __init__(self, *args: Any) -> None:
        raise FileNotFoundError("no trained sentiment head for 'en'; run: brandguard nlp train")


class Counter:
    """Hands out ``budget`` items, one per call, like a stage with a short queue."""

    def __init__(self, settings: Any, store: Any, clock: Any, name: str) -> None:
        self.name, self.budget = name, 3

    def run_once(self) -> int:
        if self.budget:
            self.budget -= 1
            return 1
        return 0


def test_a_stage_that_cannot_start_is_reported_and_the_rest_run(monkeypatch: Any, tmp_path: Any, store: Any) -> None:
    monkeypatch.setattr(pipeline_module, "STAGES", (
        ("analyze", "tests.monitor_api.test_pipeline:Broken"),
        ("risk", "tests.monitor_api.test_pipeline:Counter"),
        ("alert", "not_a_package.worker:AlertWorker"),
    ))
    pipe = Pipeline(Settings(data_dir=tmp_path), store, SimulatedClock(NOW), stages=("analyze", "risk", "alert")).build()
    assert list(pipe.workers) == ["risk"]
    assert pipe.missing[0].startswith("analyze (no trained sentiment head") and pipe.missing[1] == "alert"
    assert pipe.model_ready() is False
    assert pipe.drain() == {"risk": 3}


def test_started_stages_stop_cleanly(monkeypatch: Any, tmp_path: Any, store: Any) -> None:
    monkeypatch.setattr(pipeline_module, "STAGES", (("risk", "tests.monitor_api.test_pipeline:Counter"),))
    pipe = Pipeline(Settings(data_dir=tmp_path), store, SimulatedClock(NOW), stages=("risk",)).build()
    pipe.start(idle_seconds=0.01)
    deadline = time.monotonic() + 10
    while pipe.workers["risk"].budget and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pipe.workers["risk"].budget == 0  # the thread worked the queue down
    pipe.stop(timeout=5)
    assert all(not t.is_alive() for t in pipe._threads)
