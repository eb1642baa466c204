"""Fault injection for the fake Elasticsearch: what a real cluster does to a client on a bad day.

A test (or any process, through ``POST /_fake/faults``) adds rules; each request is checked
against them in order. Kinds:

- ``late``: apply the request, then answer only after ``delay_s`` (longer than the client's
  timeout, so the client gives up and may retry a request that already took effect);
- ``delay``: wait a random time up to ``delay_s`` before applying (slow, racing writers);
- ``503``: answer ``503 unavailable_shards_exception`` without applying;
- ``reset``: drop the connection (TCP reset) without applying; ``reset_after``: apply, then drop;
- ``429_items``: in a ``_bulk``, reject each item with probability ``probability`` with
  ``429 es_rejected_execution_exception`` (that item is not applied, the others are).

A rule matches requests whose method is in ``methods`` (all when empty) and whose path
contains ``path`` (e.g. ``"_bulk"``, ``"-riskflags"``); it fires with ``probability`` and
at most ``times`` times (unlimited when None). ``min_gap`` keeps at least that many requests
between two request-level faults, so the client's bounded retries can get through (a cluster
that fails every attempt is an outage, tested on its own). Randomness is seeded.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("late", "delay", "503", "reset", "reset_after", "429_items")


@dataclass
class Fault:
    kind: str
    path: str = ""
    methods: tuple[str, ...] = ()
    probability: float = 1.0
    times: int | None = None
    delay_s: float = 0.0
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        self.methods = tuple(m.upper() for m in self.methods)

    def applies(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return (not self.methods or method in self.methods) and self.path in path


class FaultPlan:
    """The active rules; thread-safe; ``fired`` counts what each kind did (for assertions)."""

    def __init__(self, seed: int = 13, min_gap: int = 0) -> None:
        self.min_gap = min_gap
        self._since_last = min_gap
        self.rules: list[Fault] = []
        self.fired: dict[str, int] = {k: 0 for k in KINDS}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        with self._lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def pick(self, method: str, path: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first rule of one of ``kinds`` that fires for this request (counted), or None."""
        with self._lock:
            request_level = "429_items" not in kinds
            if request_level:
                self._since_last += 1
                if self._since_last <= self.min_gap:
                    return None
            for fault in self.rules:
                if fault.kind in kinds and fault.applies(method, path) and self._rng.random() < fault.probability:
                    fault.fired += 1
                    self.fired[fault.kind] += 1
                    if request_level and fault.kind != "delay":
                        self._since_last = 0
                    return fault
        return None

    def random_delay(self, fault: Fault) -> float:
        with self._lock:
            return self._rng.uniform(0, fault.delay_s)
