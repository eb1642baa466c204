"""A per-key token bucket: ``rate_per_minute`` requests, bursts up to the same number.

Times come from the app's clock, so a simulated clock drives it in tests. The bucket map is
bounded (least recently used keys are forgotten first), so many keys cannot grow it forever.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

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
