"""The outbox dispatcher: claims due deliveries with leases, sends them, retries with backoff.

At-least-once with a stable delivery id: a dispatcher killed between sending and recording
leaves the delivery leased; when the lease expires another dispatcher sends it again with the
same id, which receivers de-duplicate on. Two dispatchers never hold one delivery at once
(the store's claim is atomic).

Retries: timeouts, connection errors, 5xx and 429 are retried with exponential backoff and
full jitter (the channel's ``options.backoff_base_seconds``, default 5 s, capped at
``options.backoff_cap_seconds``, default 300 s), never sooner than the receiver's
``Retry-After``; other 4xx and configuration problems are not retried. So a receiver that is
down for hours gets a try at least every few minutes and receives everything when it comes
back. A delivery is dead once its current run of attempts is older than
``settings.alerts.max_age_hours`` (or after ``settings.alerts.max_attempts`` claims, when that
is set); dead deliveries stay visible (``brandguard alerts dead``) and ``store.redeliver``
revives them.

A run of attempts starts when the delivery first became due: at creation, or when a
person redelivered it (``store.redeliver`` keeps ``created_at`` but resets the attempts and
makes it due now). On the first claim of a run the start is the delivery's
``next_attempt_at``; the dispatcher writes it into ``last_error`` (``[retrying since ...]``)
so later attempts of the same run measure their age from it. A redelivered week-old
delivery therefore gets a full ``max_age_hours`` of retries again.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Mapping

from alerts.notifiers import DeliveryError, Notifier, NotifierConfigError, build_notifier
from core.clock import Clock
from core.config import Settings
from core.domain import Delivery
from core.store.port import Store

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0  # a receiver back after an outage gets its backlog within 5 minutes
LEASE_SECONDS = 30.0
BATCH = 32
_RUN_MARK = re.compile(r" \[retrying since ([0-9T:.+\-]+)\]$")


def run_started_at(delivery: Delivery) -> datetime:
    """When the delivery's current run of attempts began (see the module docstring)."""
    if delivery.attempts <= 1:
        return max(delivery.created_at, delivery.next_attempt_at)
    mark = _RUN_MARK.search(delivery.last_error or "")
    if mark:
        try:
            return max(delivery.created_at, datetime.fromisoformat(mark.group(1)))
        except ValueError:
            pass
    return delivery.created_at  # no record of the run (written before runs were tracked)


def backoff_seconds(attempt: int, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS,
                    rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [base/2, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(min(base / 2, ceiling), ceiling)


class Dispatcher:
    """Sends due outbox deliveries; ``run_once`` handles one claimed batch."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, name: str, *,
                 env: Mapping[str, str] | None = None, batch: int = BATCH, lease_seconds: float = LEASE_SECONDS,
                 backoff_base: float | None = None, parallel: int = 4) -> None:
        self.settings, self.store, self.clock, self.name = settings, store, clock, name
        self.env = env
        self.batch, self.lease_seconds, self.backoff_base = batch, lease_seconds, backoff_base
        self.parallel = max(1, parallel)
        self._notifiers: dict[str, Notifier] = {}
        self._lock = threading.Lock()

    def notifier(self, channel: str) -> Notifier:
        with self._lock:
            if channel not in self._notifiers:
                self._notifiers[channel] = build_notifier(channel, self.settings, self.env)
            return self._notifiers[channel]

    def run_once(self) -> int:
        """Claim up to ``batch`` due deliveries, send them (a few in parallel), record each outcome."""
        now = self.clock.now()
        claimed = self.store.claim_due_deliveries(self.name, self.batch, self.lease_seconds, now=now)
        if not claimed:
            return 0
        if self.parallel == 1 or len(claimed) == 1:
            for delivery in claimed:
                self._deliver(delivery)
        else:
            with ThreadPoolExecutor(max_workers=min(self.parallel, len(claimed))) as pool:
                list(pool.map(self._deliver, claimed))
        return len(claimed)

    def _deliver(self, delivery: Delivery) -> None:
        try:
            self.notifier(delivery.channel).send(delivery)
        except NotifierConfigError as exc:
            self._failed(delivery, str(exc), retryable=False)
        except DeliveryError as exc:
            self._failed(delivery, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
        except Exception as exc:  # noqa: BLE001 - a notifier bug must not kill the batch; retry it
            log.exception("delivery %s to %s: unexpected error", delivery.id, delivery.channel)
            self._failed(delivery, f"unexpected {type(exc).__name__}: {exc}", retryable=True)
        else:
            if not self.store.mark_delivery_sent(delivery.id, self.name, now=self.clock.now()):
                log.warning("delivery %s was sent but its lease was lost; a duplicate send is possible", delivery.id)

    def _failed(self, delivery: Delivery, error: str, *, retryable: bool, retry_after: float | None = None) -> None:
        now = self.clock.now()
        started = run_started_at(delivery)
        too_old = now - started >= timedelta(hours=self.settings.alerts.max_age_hours)
        max_attempts = self.settings.alerts.max_attempts
        out_of_attempts = max_attempts is not None and delivery.attempts >= max_attempts
        dead = not retryable or too_old or out_of_attempts
        next_at: datetime | None = None
        if dead:
            why = "not retryable" if not retryable else ("too old" if too_old else f"{delivery.attempts} attempts")
            error = f"{error} (dead: {why})"
            log.error("delivery %s to %s is dead: %s", delivery.id, delivery.channel, error)
        else:
            base, cap = self._backoff_of(delivery.channel)
            wait = backoff_seconds(delivery.attempts, base, cap)
            if retry_after is not None:
                wait = max(wait, retry_after)  # honour the receiver's Retry-After
            next_at = now + timedelta(seconds=wait)
            log.warning("delivery %s to %s failed (attempt %d), retry in %.1fs: %s",
                        delivery.id, delivery.channel, delivery.attempts, wait, error)
        error = f"{error} [retrying since {started.isoformat()}]" if not dead else error
        self.store.mark_delivery_failed(delivery.id, self.name, error, next_at, dead=dead)

    def _backoff_of(self, channel_name: str) -> tuple[float, float]:
        """(base, cap) seconds for a channel: the dispatcher's override, else the channel's options."""
        channel = self.settings.alerts.channels.get(channel_name)
        options = channel.options if channel is not None else {}
        base = self.backoff_base or float(options.get("backoff_base_seconds") or BACKOFF_BASE_SECONDS)
        cap = float(options.get("backoff_cap_seconds") or BACKOFF_CAP_SECONDS)
        return base, max(cap, base)

    def close(self) -> None:
        for notifier in self._notifiers.values():
            notifier.close()
