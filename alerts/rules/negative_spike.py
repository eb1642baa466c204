"""negative_spike: a brand's negative-mention volume against the brand's own baseline.

Evaluated periodically over the window ending now. It needs both a minimum volume and a
rise over the baseline's per-window mean, so 0 vs 0 (and 1 vs 0) never fires. It stays quiet
while the brand is learning (``core.baseline``: less than ``alerts.learning_hours`` observed),
and its evidence is led by the posts that make the spike (``surge_terms``), not random negatives.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from alerts.rules.base import Rule, RuleMatch, RuleOptions
from alerts.rules.surge_terms import brand_words, common_terms, lead_with_terms
from core.baseline import baseline_status
from core.store.port import MentionQuery

if TYPE_CHECKING:  # pragma: no cover
    from core.store.port import Store


SCAN_LIMIT = 500  # negative posts read per window (and from the baseline) to find the common terms


class NegativeSpikeOptions(RuleOptions):
    window_minutes: float = Field(default=60, gt=0)
    baseline_hours: float = Field(default=24 * 7, gt=0)
    min_count: int = Field(default=5, ge=1)  # never fire below this many negative mentions
    factor: float = Field(default=3.0, gt=1)  # current >= factor x baseline mean per window


class NegativeSpikeRule(Rule):
    """One alert per brand while a spike lasts; each evaluation refreshes its evidence."""

    type_name = "negative_spike"
    Options = NegativeSpikeOptions
    periodic = True

    def evaluate_periodic(self, store: "Store", now: datetime) -> list[RuleMatch]:
        opts: NegativeSpikeOptions = self.options  # type: ignore[assignment]
        window = timedelta(minutes=opts.window_minutes)
        window_start = now - window
        matches: list[RuleMatch] = []
        for brand in self.brands:
            status = baseline_status(store, brand, now, self.learning_hours, record=True)
            if not status.ready:
                continue  # still learning what is normal for this brand: nothing to compare with
            current = store.count_mentions(MentionQuery(brands=[brand], sentiments=["negative"], since=window_start, until=now))
            if current < opts.min_count:
                continue
            # The baseline is the observed part of the period only: a brand watched for 30 hours
            # is compared with those 30 hours, not with a week that is mostly zeros.
            observed = (window_start - status.observed_since).total_seconds() / 3600
            baseline_hours = max(min(opts.baseline_hours, observed), opts.window_minutes / 60)
            baseline_start = window_start - timedelta(hours=baseline_hours)
            baseline = store.count_mentions(
                MentionQuery(brands=[brand], sentiments=["negative"], since=baseline_start, until=window_start)
            )
            mean = baseline / (baseline_hours * 60 / opts.window_minutes)
            if current < opts.factor * mean:
                continue
            matches.append(self._match(store, brand, current, mean, window_start, baseline_start, now))
        return matches

    def _match(self, store: "Store", brand: str, current: int, mean: float, window_start: datetime,
               baseline_start: datetime, now: datetime) -> RuleMatch:
        """The spike's alert, its evidence led by the posts that make it (their common terms)."""
        opts: NegativeSpikeOptions = self.options  # type: ignore[assignment]
        negative = ["negative"]
        window = store.search_mentions(
            MentionQuery(brands=[brand], sentiments=negative, since=window_start, until=now, limit=SCAN_LIMIT)).items
        sample = store.search_mentions(
            MentionQuery(brands=[brand], sentiments=negative, since=baseline_start, until=window_start, limit=SCAN_LIMIT)).items
        terms = common_terms(window, sample, ignore=brand_words(brand))
        evidence = lead_with_terms(window, [t for t, _ in terms])[:50]
        minutes = f"{opts.window_minutes:g}"
        reasons = [f"{current} negative mentions in {minutes} min vs {mean:.1f} usual (x{opts.factor:g} threshold)"]
        if terms:
            reasons.append("about: " + ", ".join(f"{t} ({n} accounts)" for t, n in terms))
        top = evidence[0] if evidence else None
        if top is not None and top.risk is not None:
            reasons += top.risk.reasons[:3]
        return RuleMatch(
            rule=self.name, brand=brand, subject_kind="brand", subject_id=brand, severity=self.severity,
            title=f"{brand}: negative mentions spiking ({current} in {minutes} min)"
                  + (f" about {terms[0][0]}" if terms else ""),
            reasons=reasons, mention_ids=[m.id for m in evidence], mention=top,
            score=top.risk.score if top is not None and top.risk is not None else None,
            facts={"current": current, "baseline_mean": round(mean, 2), "terms": [t for t, _ in terms]},
        )
