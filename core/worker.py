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
import time
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)


class StageWorker(Protocol):
    name: str

    def run_once(self) -> int:
        """Process at most one batch; return how many items were handled (0 = idle)."""


def run_until_stopped(worker: StageWorker, stop: threading.Event, idle_seconds: float = 1.0, *,
                      wake: threading.Event | None = None, handed_on: Callable[[], None] | None = None) -> None:
    """Call ``worker.run_once`` until ``stop`` is set, sleeping when there is no work.

    An exception in one batch is logged and the loop goes on: a bad batch must never
    kill the worker (its leased items expire and are retried or dead-lettered).

    In one process (``monitor_api.pipeline``) the stages nudge each other: ``handed_on`` is
    called after a batch that handled work, and an idle worker sleeps on ``wake`` (set by the
    other stages' ``handed_on``, and on stop) instead of ``stop`` — so work handed on is picked up
    at once, not up to ``idle_seconds`` later, without polling faster. ``wake`` is cleared before
    each batch: a nudge that comes while the batch runs makes the next sleep return at once.
    """
    sleep_on = wake or stop
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        try:
            handled = worker.run_once()
        except Exception:  # noqa: BLE001 - the loop must survive any one batch
            log.exception("worker %s: batch failed; continuing", worker.name)
            handled = 0
        if handled:
            if handed_on is not None:
                handed_on()
        else:
            sleep_on.wait(idle_seconds)


def work_until_idle(worker: StageWorker, store: Any, sleep: Callable[[float], None] = time.sleep) -> int:
    """Run batches until there is no work (the ``--once`` commands); returns the items handled.

    A queue claimed by search (Elasticsearch) shows an item enqueued a moment ago only after the
    index's next refresh, so "no work" is trusted only after the store's ``search_lag_seconds``
    (0 on SQLite) and one more look: a ``--once`` run must not exit with work just handed to it.
    """
    settle = float(getattr(store, "search_lag_seconds", 0.0))
    total = 0
    while True:
        while (handled := worker.run_once()) > 0:
            total += handled
        if settle <= 0:
            return total
        sleep(settle)
        if (handled := worker.run_once()) == 0:
            return total
        total += handled
