"""surging_term: a new hashtag (or watched term) surging in a brand's negative mentions.

"New" means it was (almost) absent from the brand's mentions during the baseline period;
"surging" means at least ``min_authors`` distinct authors used it in the window, mostly
negatively. Quiet while the brand is learning (``core.baseline``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from alerts.rules.base import Rule, RuleMatch, RuleOptions
from core.baseline import baseline_status
from core.domain import Mention
from core.store.port import MentionQuery
from core.textnorm import normalize_for_match

if TYPE_CHECKING:  # pragma: no cover
    from core.store.port import Store

HASHTAG = re.compile(r"#([^\W_][\w\u200c]*)", re.UNICODE)


class SurgingTermOptions(RuleOptions):
    window_minutes: float = Field(default=60, gt=0)
    baseline_hours: float = Field(default=24 * 7, gt=0)
    min_authors: int = Field(default=5, ge=2)
    max_baseline: int = Field(default=2, ge=0)  # at most this many uses before: still "new"
    min_negative_share: float = Field(default=0.6, gt=0, le=1)
    terms: list[str] = Field(default_factory=list)  # extra words/phrases to watch besides hashtags
    scan_limit: int = Field(default=500, ge=10, le=500)


def hashtags_of(text: str) -> set[str]:
    """Hashtags in ``text``, normalised (case, Persian letter variants), without '#'."""
    return {normalize_for_match(tag) for tag in HASHTAG.findall(text)}


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
            page = store.search_mentions(
                MentionQuery(brands=[brand], sentiments=["negative"], since=window_start, until=now, limit=opts.scan_limit)
            )
            for term, mentions in self._candidates(page.items, opts).items():
                authors = {m.author.key or m.id for m in mentions}
                if len(authors) < opts.min_authors:
                    continue
                query_text = f"#{term}" if not term.startswith('"') else term
                total = store.count_mentions(MentionQuery(text=query_text, brands=[brand], since=window_start, until=now))
                if total and len(mentions) / total < opts.min_negative_share:
                    continue
                before = store.count_mentions(
                    MentionQuery(text=query_text, brands=[brand], since=baseline_start, until=window_start)
                )
                if before > opts.max_baseline:
                    continue
                label = query_text
                newest = max(mentions, key=lambda m: m.published_at)
                matches.append(
                    RuleMatch(
                        rule=self.name, brand=brand, subject_kind="term", subject_id=term, severity=self.severity,
                        title=f"{brand}: new term {label} surging in negative posts",
                        reasons=[
                            f"{label} used by {len(authors)} accounts in {opts.window_minutes:g} min, "
                            f"{len(mentions)}/{max(total, len(mentions))} negative; {before} uses before"
                        ],
                        mention_ids=[m.id for m in mentions][:50], mention=newest,
                        facts={"term": label, "authors": len(authors), "baseline_uses": before},
                    )
                )
        return matches

    @staticmethod
    def _candidates(mentions: list[Mention], opts: SurgingTermOptions) -> dict[str, list[Mention]]:
        found: dict[str, list[Mention]] = defaultdict(list)
        watched = {normalize_for_match(t): t for t in opts.terms}
        for mention in mentions:
            for tag in hashtags_of(mention.text):
                found[tag].append(mention)
            if watched:
                text = normalize_for_match(mention.text)
                for norm, original in watched.items():
                    if norm in text:
                        found[f'"{original}"'].append(mention)
        return found
