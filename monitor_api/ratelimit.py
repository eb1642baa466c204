"""Per-key token buckets: ``rate_per_minute`` requests, bursts up to the same number.

``RateLimiter`` is the bucket map (bounded: the least recently used keys are forgotten first,
so many keys cannot grow it forever); its times come from the caller, so a simulated clock
drives it in tests (push ingest). ``SearchRateLimit`` applies it to search, the one operation
whose cost a caller controls: each key may start at most ``api.search_rate_per_minute``
searches a minute and the next one is answered 429 with ``Retry-After``. That limit is about
CPU, so it runs on the monotonic wall clock, not the simulated one. Buckets live in this
process (one API process per deployment is the documented set-up).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable

from monitor_api.problems import ApiProblem

MAX_TRACKED_KEYS = 10_000


class RateLimiter:
    """``allow(key, now)`` → 0 when the request may go ahead, else the seconds to wait."""

    def __init__(self, rate_per_minute: float, burst: float | None = None) -> None:
        self.rate = rate_per_minute / 60.0  # tokens per second
        self.burst = float(burst if burst is not None else max(1.0, rate_per_minute))
        self._buckets: OrderedDict[str, tuple[float, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: datetime) -> float:
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, (now - last).total_seconds()) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > MAX_TRACKED_KEYS:
                self._buckets.popitem(last=False)
            return wait


class SearchRateLimit:
    """``per_minute`` searches per key, refilled evenly over a minute, on the monotonic clock."""

    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self._now = now
        self._limiter = RateLimiter(per_minute)

    def take(self, key_id: str) -> float:
        """0 when ``key_id`` may search now (a token is taken), else seconds until it may."""
        return self._limiter.allow(key_id, datetime.fromtimestamp(self._now(), timezone.utc))

    def check(self, key_id: str) -> None:
        """Raise a 429 problem when ``key_id`` has searched too often."""
        wait = self.take(key_id)
        if wait > 0:
            raise ApiProblem(429, "Too many requests",
                             f"this key may run {int(self.capacity)} searches a minute; retry in {math.ceil(wait)} s",
                             kind="rate-limited", headers={"Retry-After": str(math.ceil(wait))})
