"""surging_term: a new hashtag (or watched term) surging in a brand's negative mentions.

"New" means it was (almost) absent from the brand's mentions during the baseline period;
"surging" means at least ``min_authors`` distinct authors used it in the window, mostly
negatively. Quiet while the brand is learning (``core.baseline``). The computation is
``core.stats.emerging`` (the analysts' overview shows the same terms); this rule turns each
term into one alert per brand and term.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from alerts.rules.base import Rule, RuleMatch, RuleOptions
from core.baseline import baseline_status
from core.stats.emerging import HASHTAG, EmergingThresholds, find_emerging_terms, hashtags_of
from core.store.port import MentionQuery

if TYPE_CHECKING:  # pragma: no cover
    from core.store.port import Store

__all__ = ["HASHTAG", "SurgingTermOptions", "SurgingTermRule", "hashtags_of"]


class SurgingTermOptions(RuleOptions):
    window_minutes: float = Field(default=60, gt=0)
    baseline_hours: float = Field(default=24 * 7, gt=0)
    min_authors: int = Field(default=5, ge=2)
    max_baseline: int = Field(default=2, ge=0)  # at most this many uses before: still "new"
    min_negative_share: float = Field(default=0.6, gt=0, le=1)
    terms: list[str] = Field(default_factory=list)  # extra words/phrases to watch besides hashtags
    scan_limit: int = Field(default=500, ge=10, le=500)

    def thresholds(self) -> EmergingThresholds:
        return EmergingThresholds(min_authors=self.min_authors, max_baseline=self.max_baseline,
                                  min_negative_share=self.min_negative_share, terms=self.terms,
                                  scan_limit=self.scan_limit)


class SurgingTermRule(Rule):
    """One alert per brand and term."""

    type_name = "surging_term"
    Options = SurgingTermOptions
    periodic = True

    def evaluate_periodic(self, store: "Store", now: datetime) -> list[RuleMatch]:
        opts: SurgingTermOptions = self.options  # type: ignore[assignment]
        window_start = now - timedelta(minutes=opts.window_minutes)
        baseline_start = window_start - timedelta(hours=opts.baseline_hours)
        matches: list[RuleMatch] = []
        for brand in self.brands:
            if not baseline_status(store, brand, now, self.learning_hours, record=True).ready:
                continue  # on a fresh store every term is "new": wait for a baseline
            terms = find_emerging_terms(store, MentionQuery(brands=[brand]), window_start, now, baseline_start,
                                        opts.thresholds())
            for found in terms:
                label = found.label
                matches.append(
                    RuleMatch(
                        rule=self.name, brand=brand, subject_kind="term", subject_id=found.term, severity=self.severity,
                        title=f"{brand}: new term {label} surging in negative posts",
                        reasons=[
                            f"{label} used by {found.authors} accounts in {opts.window_minutes:g} min, "
                            f"{found.negative}/{found.total} negative; {found.baseline} uses before"
                        ],
                        mention_ids=[m.id for m in found.mentions][:50], mention=found.newest,
                        facts={"term": label, "authors": found.authors, "baseline_uses": found.baseline},
                    )
                )
        return matches
