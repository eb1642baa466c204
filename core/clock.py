"""Clocks: the system's, and a simulated one the demo and tests use to make time pass faster.

Stages take a ``Clock`` instead of calling ``datetime.now`` so the demo's escalation can
unfold in a minute and tests can jump across SLAs and decay half-lives.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SimulatedClock:
    """Starts at ``start`` and runs ``speed`` times faster than the wall clock; ``advance`` jumps."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware start time")
        self._start = start.astimezone(timezone.utc)
        self._speed = speed
        self._offset = timedelta(0)
        self._wall0 = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._wall0) * self._speed
            return self._start + timedelta(seconds=elapsed) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta
        return self.now()
