"""The shape every stage worker shares, and the loop that drives one.

A stage worker (nlp.worker.AnalysisWorker, risk.worker.RiskWorker, alerts.worker.AlertWorker,
alerts.dispatcher.Dispatcher) is built as ``Worker(settings, store, clock, name)`` and exposes
``run_once() -> int``: process at most one batch and say how many items it handled. Work state
lives in the store (leases, checkpoints), so any worker can be killed and restarted, and
several can run side by side.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)


class StageWorker(Protocol):
    name: str

    def run_once(self) -> int:
        """Process at most one batch; return how many items were handled (0 = idle)."""


def run_until_stopped(worker: StageWorker, stop: threading.Event, idle_seconds: float = 1.0) -> None:
    """Call ``worker.run_once`` until ``stop`` is set, sleeping when there is no work.

    An exception in one batch is logged and the loop goes on: a bad batch must never
    kill the worker (its leased items expire and are retried or dead-lettered).
    """
    while not stop.is_set():
        try:
            handled = worker.run_once()
        except Exception:  # noqa: BLE001 - the loop must survive any one batch
            log.exception("worker %s: batch failed; continuing", worker.name)
            handled = 0
        if handled == 0:
            stop.wait(idle_seconds)
