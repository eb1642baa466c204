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


SHARED: dict[str, Any] = {}


class Producer:
    """Hands one item on to ``Consumer`` (a queue of its own in ``SHARED``), then is idle."""

    def __init__(self, settings: Any, store: Any, clock: Any, name: str) -> None:
        self.name = name

    def run_once(self) -> int:
        if SHARED["to_produce"]:
            SHARED["to_produce"] -= 1
            SHARED["queue"] += 1
            return 1
        return 0


class Consumer:
    def __init__(self, settings: Any, store: Any, clock: Any, name: str) -> None:
        self.name = name

    def run_once(self) -> int:
        if SHARED["queue"]:
            SHARED["queue"] -= 1
            SHARED["consumed"].append(time.monotonic())
            return 1
        return 0


def test_work_handed_on_is_picked_up_at_once_not_after_the_idle_sleep(monkeypatch: Any, tmp_path: Any, store: Any) -> None:
    """An idle stage sleeps ``idle_seconds`` (60 here); a stage that handled work wakes it."""
    monkeypatch.setattr(pipeline_module, "STAGES", (
        ("crawl", "tests.monitor_api.test_pipeline:Producer"), ("analyze", "tests.monitor_api.test_pipeline:Consumer")))
    SHARED.update(to_produce=0, queue=0, consumed=[])
    pipe = Pipeline(Settings(data_dir=tmp_path), store, SimulatedClock(NOW), stages=("crawl", "analyze"))
    pipe.workers = {"crawl": Producer(None, None, None, "p"), "analyze": Consumer(None, None, None, "c")}
    pipe.start(idle_seconds=60)
    try:
        time.sleep(0.2)  # both stages found nothing and sleep
        for round_ in range(1, 4):
            handed = time.monotonic()
            SHARED["to_produce"] += 1  # work from outside: the producer itself still sleeps ...
            pipe._wake["crawl"].set()  # ... until its own timer would wake it (only it: the consumer sleeps on)
            deadline = handed + 10
            while len(SHARED["consumed"]) < round_ and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(SHARED["consumed"]) == round_, "the consumer slept through the producer's hand-over"
            assert SHARED["consumed"][-1] - handed < 10
    finally:
        started = time.monotonic()
        pipe.stop(timeout=10)
    assert all(not t.is_alive() for t in pipe._threads)
    assert time.monotonic() - started < 10  # stop wakes the sleepers instead of waiting out 60 s


class Stuck:
    """A batch that does not end until the test releases it (a model load, a slow store)."""

    release = None  # a threading.Event, set per test

    def __init__(self, settings: Any, store: Any, clock: Any, name: str) -> None:
        self.name = name

    def run_once(self) -> int:
        Stuck.release.wait(60)
        return 0


def test_stop_waits_its_timeout_in_all_not_per_stuck_stage(tmp_path: Any, store: Any, caplog: Any) -> None:
    import threading

    Stuck.release = threading.Event()
    pipe = Pipeline(Settings(data_dir=tmp_path), store, SimulatedClock(NOW), stages=("analyze", "risk", "alert"))
    pipe.workers = {stage: Stuck(None, None, None, stage) for stage in ("analyze", "risk", "alert")}
    pipe.start(idle_seconds=60)
    try:
        started = time.monotonic()
        pipe.stop(timeout=2.0)
        took = time.monotonic() - started
        assert took < 5, f"stop took {took:.1f} s for three stuck stages (2 s each would be 6)"
        assert "stages still busy after 2.0s" in caplog.text and "stage-analyze" in caplog.text
    finally:
        Stuck.release.set()
    for thread in pipe._threads:
        thread.join(5)
    assert all(not t.is_alive() for t in pipe._threads)
