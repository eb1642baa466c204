"""The shape every stage worker shares, and the loop that drives one.

A stage worker (nlp.worker.AnalysisWorker, risk.worker.RiskWorker, alerts.worker.AlertWorker,
alerts.dispatcher.Dispatcher) is built as ``Worker(settings, store, clock, name)`` and exposes
``run_once() -> int``: process at most one batch and say how many items it handled. Work state
lives in the store (leases, checkpoints), so any worker can be killed and restarted, and
several can run side by side.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)


class StageWorker(Protocol):
    name: str

    def run_once(self) -> int:
        """Process at most one batch; return how many items were handled (0 = idle)."""


def stop_on_signals(stop: threading.Event) -> None:
    """Set ``stop`` on SIGINT or SIGTERM (call from the main thread: only it may set handlers).

    Whoever then blocks the main thread on ``stop`` must use :func:`wait_until_set`.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())


def wait_until_set(stop: threading.Event, poll_seconds: float = 0.5) -> None:
    """Block the main thread until ``stop`` is set, in waits of ``poll_seconds``.

    Never one untimed ``stop.wait()``: the kernel hands a process's SIGTERM to any of its
    threads (torch's pool, the API server's), and CPython then runs the Python handler only when
    the main thread next executes bytecode; a main thread asleep in an untimed lock wait is not
    woken, so the handler never runs and the process ignores ``kill`` (seen in CI: a
    ``brandguard run`` still up 60 s after SIGTERM). A timed wait returns every ``poll_seconds``
    and the pending handler runs then.
    """
    while not stop.wait(poll_seconds):
        pass


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
