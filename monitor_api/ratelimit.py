"""Per-key rate limit on search: a token bucket per API key (or dashboard session's key).

Search is the one operation whose cost a caller controls, so each key may start at most
``api.search_rate_per_minute`` searches a minute (bursts up to that many); the next one is
answered 429 with ``Retry-After``. Buckets live in this process (one API process per
deployment is the documented set-up; several processes each enforce their own bucket).
The limit is about CPU, so it runs on the monotonic wall clock, not the simulated one.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from monitor_api.problems import ApiProblem

MAX_BUCKETS = 10_000  # forget idle keys beyond this many (keys are few; this bounds memory)


class SearchRateLimit:
    """Token buckets: ``per_minute`` tokens refill evenly over a minute; a search takes one."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 when ``key_id`` may search now (a token is taken), else seconds until it may."""
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                if len(self._buckets) > MAX_BUCKETS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / self.rate

    def check(self, key_id: str) -> None:
        """Raise a 429 problem when ``key_id`` has searched too often."""
        wait = self.take(key_id)
        if wait > 0:
            raise ApiProblem(429, "Too many requests",
                             f"this key may run {int(self.capacity)} searches a minute; retry in {math.ceil(wait)} s",
                             kind="rate-limited", headers={"Retry-After": str(math.ceil(wait))})

    def _forget_full(self, now: float) -> None:
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
