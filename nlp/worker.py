"""The analysis stage worker: claim ``analyze`` items, analyse, patch, enqueue ``risk``, ack.

Restart-safe by construction: the analysis is written with an idempotent patch before the
ack, so a worker killed between claim and ack leaves its items leased until the lease
expires; the next claim re-runs them. The lease is short (20 s by default) so a killed
worker's batch comes back within seconds, and the worker sizes each claim to what it can
analyse in half a lease at the rate it measured, so a slow machine does not outlive its leases. A mention that already carries an analysis from the
same model (written just before a crash) is not analysed again — it is only re-enqueued
for ``risk`` (a no-op if still queued) and acked. A mention that fails is ``fail``ed with
its error and never blocks the rest of its batch.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.clock import Clock, SystemClock
from core.config import Settings
from core.domain import Mention
from core.store.port import MentionPatch

log = logging.getLogger(__name__)

STAGE = "analyze"
NEXT_STAGE = "risk"
LEASE_SECONDS = 20.0


class AnalysisWorker:
    """``AnalysisWorker(settings, store, clock, name)`` with ``run_once() -> int`` (see core.worker)."""

    def __init__(self, settings: Settings, store: Any, clock: Clock | None = None, name: str = "nlp-1",
                 analyzer: Any | None = None, lease_seconds: float = LEASE_SECONDS, batch_size: int | None = None) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or SystemClock()
        self.name = name
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size or max(settings.models.batch_size * 2, 16)
        self.seconds_per_item: float | None = None  # measured; sizes claims to fit the lease
        if analyzer is None:
            from nlp.analyzer import Analyzer

            analyzer = Analyzer(settings)
        self.analyzer = analyzer

    def run_once(self) -> int:
        """Process at most one batch; returns how many items were handled (0 = idle)."""
        items = self.store.claim(STAGE, self.name, self.claim_size(), self.lease_seconds, now=self.clock.now())
        if not items:
            return 0
        started = time.monotonic()
        ids = [item.mention_id for item in items]
        mentions = {m.id: m for m in self.store.get_mentions(ids)}
        missing = [i for i in ids if i not in mentions]
        if missing:
            log.warning("%s: %d queued mention(s) no longer exist; dropping them", self.name, len(missing))
        done_before = [m for m in mentions.values() if _already_analyzed(m, self.analyzer.model_id)]
        todo = [m for m in mentions.values() if not _already_analyzed(m, self.analyzer.model_id)]
        succeeded = [m.id for m in done_before] + self._analyze_and_patch(todo)
        if succeeded:
            self.store.enqueue(NEXT_STAGE, succeeded, now=self.clock.now())
        self.store.ack(STAGE, self.name, succeeded + missing)
        per_item = (time.monotonic() - started) / len(items)
        previous = self.seconds_per_item
        self.seconds_per_item = per_item if previous is None else 0.5 * previous + 0.5 * per_item
        return len(items)

    def claim_size(self) -> int:
        """How many items to claim: the batch size, fewer when a batch would not fit in half a lease."""
        if not self.seconds_per_item:
            return self.batch_size
        fits = int(self.lease_seconds / 2 / self.seconds_per_item)
        return max(1, min(self.batch_size, fits))

    def _analyze_and_patch(self, mentions: list[Mention]) -> list[str]:
        if not mentions:
            return []
        try:
            analyses = self.analyzer.analyze(mentions)
            pairs = list(zip(mentions, analyses))
        except Exception as exc:  # noqa: BLE001 - fall back to one-by-one to isolate the bad mention
            log.warning("%s: batch of %d failed (%s); retrying one by one", self.name, len(mentions), exc)
            pairs = []
            for mention in mentions:
                try:
                    pairs.append((mention, self.analyzer.analyze([mention])[0]))
                except Exception as one_exc:  # noqa: BLE001
                    self._fail(mention.id, f"{type(one_exc).__name__}: {one_exc}")
        if not pairs:
            return []
        patches = [MentionPatch(id=m.id, lang=a.lang, analysis=a.model_dump(mode="json")) for m, a in pairs]
        report = self.store.patch_mentions(patches)
        failed = {f.id: f.error for f in report.failed}
        for mention_id, error in failed.items():
            self._fail(mention_id, f"store patch failed: {error}")
        return [m.id for m, _ in pairs if m.id not in failed]

    def _fail(self, mention_id: str, error: str) -> None:
        log.warning("%s: mention %s failed: %s", self.name, mention_id, error)
        self.store.fail(STAGE, self.name, mention_id, error, now=self.clock.now())


def _already_analyzed(mention: Mention, model_id: str) -> bool:
    return mention.analysis is not None and mention.analysis.model == model_id
