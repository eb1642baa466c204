"""Every stage in one process: crawl scheduler, analysis, risk, alerts, dispatcher.

Stage classes are imported lazily by dotted path; a stage whose package is not installed (or
not written yet) is skipped with a clear log line instead of stopping the others. Each stage
runs in its own thread driving ``run_once()`` with ``core.worker.run_until_stopped``, or is
stepped by ``drain()`` (the demo and tests) until every stage is idle.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from core.clock import Clock
from core.config import Settings
from core.store.port import Store
from core.worker import StageWorker, run_until_stopped
from monitor_api.metrics import CRAWL_ERRORS_CHECKPOINT

log = logging.getLogger(__name__)

# (stage, "module:Class"); order matters for drain(): data flows top to bottom.
STAGES: tuple[tuple[str, str], ...] = (
    ("crawl", "crawlers.runner:CrawlScheduler"),
    ("analyze", "nlp.worker:AnalysisWorker"),
    ("risk", "risk.worker:RiskWorker"),
    ("alert", "alerts.worker:AlertWorker"),
    ("dispatch", "alerts.dispatcher:Dispatcher"),
    ("flagpush", "monitor_api.flagpush:RiskFlagPusher"),  # idle unless a crm-risk-flags webhook is configured
)


class CrawlStage:
    """Adapts ``CrawlScheduler.run_due()`` to the stage-worker shape; counts failed crawl runs."""

    def __init__(self, scheduler: Any, store: Store, name: str) -> None:
        self.scheduler, self.store, self.name = scheduler, store, name

    def run_once(self) -> int:
        try:
            return int(self.scheduler.run_due())
        except Exception:
            current = self.store.get_checkpoint(CRAWL_ERRORS_CHECKPOINT) or "0"
            self.store.set_checkpoint(CRAWL_ERRORS_CHECKPOINT, str(int(current) + 1 if current.isdigit() else 1))
            raise


def load_stage_class(path: str) -> Any | None:
    """The class at ``module:Class``, or None (logged) when that stage is not available."""
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            log.warning("stage %s is not available (%s not installed yet); skipping it", path, module_name)
            return None
        raise
    cls = getattr(module, class_name, None)
    if cls is None:
        log.warning("stage %s is not available (%s has no %s); skipping it", path, module_name, class_name)
    return cls


@dataclass
class Pipeline:
    """The stage workers of one process and the threads running them."""

    settings: Settings
    store: Store
    clock: Clock
    stages: tuple[str, ...] = tuple(name for name, _ in STAGES)
    crawl_options: dict[str, Any] = field(default_factory=dict)
    workers: dict[str, StageWorker] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _wake: dict[str, threading.Event] = field(default_factory=dict)

    def build(self) -> "Pipeline":
        """Construct every available stage worker; remember the missing ones."""
        ident = f"{socket.gethostname()}-{os.getpid()}"
        for stage, path in STAGES:
            if stage not in self.stages:
                continue
            cls = load_stage_class(path)
            if cls is None:
                self.missing.append(stage)
                continue
            try:
                if stage == "crawl":  # a crawl in flight is asked to stop (resumable) when the pipeline stops
                    scheduler = cls(self.settings, self.clock, **{"stop": self._stop, **self.crawl_options})
                    self.workers[stage] = CrawlStage(scheduler, self.store, f"crawl-{ident}")
                else:
                    self.workers[stage] = cls(self.settings, self.store, self.clock, f"{stage}-{ident}")
            except Exception as exc:  # noqa: BLE001 - e.g. a model not trained yet: run the other stages
                log.error("stage %s could not start: %s", stage, exc)
                self.missing.append(f"{stage} ({exc})")
        return self

    def model_ready(self) -> bool:
        """Readiness of the analysis stage: built, and its model loaded when it says so."""
        worker = self.workers.get("analyze")
        if worker is None:
            return False
        ready = getattr(worker, "ready", None)
        return bool(ready() if callable(ready) else True if ready is None else ready)

    def start(self, idle_seconds: float = 1.0) -> None:
        """One thread per stage, each calling ``run_once`` until :meth:`stop`.

        A stage that handled work wakes the idle others (``run_until_stopped``'s ``wake``): a
        mention analysed now is scored, alerted and sent now, not one ``idle_seconds`` per stage
        later; ``idle_seconds`` only paces looking for work that arrives from outside (crawls
        due, deliveries due for retry, other processes' work)."""
        self._wake = {stage: threading.Event() for stage in self.workers}
        for stage, worker in self.workers.items():
            thread = threading.Thread(target=run_until_stopped, args=(worker, self._stop, idle_seconds),
                                      kwargs={"wake": self._wake[stage], "handed_on": partial(self._nudge, stage)},
                                      name=f"stage-{stage}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _nudge(self, source: str) -> None:
        for stage, event in self._wake.items():
            if stage != source:
                event.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every stage to stop and wait for their batches to end: ``timeout`` seconds in all,
        not per stage (the threads are daemons: one stuck past it does not hold the exit)."""
        self._stop.set()
        for event in self._wake.values():
            event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        if stuck:
            log.warning("stages still busy after %ss, left to end with the process: %s", timeout, ", ".join(stuck))
        for worker in self.workers.values():
            close = getattr(worker, "close", None)
            if callable(close):
                close()

    def drain(self, max_rounds: int = 50, skip: tuple[str, ...] = ()) -> dict[str, int]:
        """Run every stage (in data-flow order) until a whole round handles nothing; returns counts."""
        handled = {stage: 0 for stage in self.workers}
        for _ in range(max_rounds):
            round_total = 0
            for stage, worker in self.workers.items():
                if stage in skip:
                    continue
                try:
                    n = worker.run_once()
                except Exception:  # noqa: BLE001 - one failing batch must not stop the demo
                    log.exception("stage %s: batch failed; continuing", stage)
                    n = 0
                handled[stage] += n
                round_total += n
            if round_total == 0:
                break
        return handled
