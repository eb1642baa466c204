"""negative_spike: a brand's negative-mention volume against the brand's own baseline.

Evaluated periodically over the window ending now. It needs both a minimum volume and a
rise over the baseline's per-window mean, so 0 vs 0 (and 1 vs 0) never fires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from alerts.rules.base import Rule, RuleMatch, RuleOptions
from core.store.port import MentionQuery

if TYPE_CHECKING:  # pragma: no cover
    from core.store.port import Store


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
        baseline_start = window_start - timedelta(hours=opts.baseline_hours)
        windows_in_baseline = opts.baseline_hours * 60 / opts.window_minutes
        matches: list[RuleMatch] = []
        for brand in self.brands:
            current = store.count_mentions(MentionQuery(brands=[brand], sentiments=["negative"], since=window_start, until=now))
            if current < opts.min_count:
                continue
            baseline = store.count_mentions(
                MentionQuery(brands=[brand], sentiments=["negative"], since=baseline_start, until=window_start)
            )
            mean = baseline / windows_in_baseline
            if current < opts.factor * mean:
                continue
            page = store.search_mentions(
                MentionQuery(brands=[brand], sentiments=["negative"], since=window_start, until=now, sort="risk", limit=50)
            )
            minutes = f"{opts.window_minutes:g}"
            reasons = [f"{current} negative mentions in {minutes} min vs {mean:.1f} usual (x{opts.factor:g} threshold)"]
            top = page.items[0] if page.items else None
            if top is not None and top.risk is not None:
                reasons += top.risk.reasons[:3]
            matches.append(
                RuleMatch(
                    rule=self.name, brand=brand, subject_kind="brand", subject_id=brand, severity=self.severity,
                    title=f"{brand}: negative mentions spiking ({current} in {minutes} min)",
                    reasons=reasons, mention_ids=[m.id for m in page.items], mention=top,
                    score=top.risk.score if top is not None and top.risk is not None else None,
                    facts={"current": current, "baseline_mean": round(mean, 2)},
                )
            )
        return matches
