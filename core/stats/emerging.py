"""Emerging terms: a new hashtag (or watched term) surging in negative mentions.

One computation for the ``surging_term`` alert rule and the analysts' overview:
"new" means it was (almost) absent from the matching mentions during the baseline period;
"surging" means at least ``min_authors`` distinct authors used it in the window, mostly
negatively. The scan reads the newest ``scan_limit`` negative mentions of the window (when
that is not all of them, the negative share is judged over the part of the window the scan
covered); each candidate then costs two bounded searches (uses in the window, uses before),
which stop as soon as the answer is known, so a common word never makes it read every mention.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from pydantic import BaseModel, Field

from core.domain import Mention
from core.store.port import MentionQuery, MentionStore
from core.textnorm import normalize_for_match

HASHTAG = re.compile(r"#([^\W_][\w\u200c]*)", re.UNICODE)
PAGE = 500  # the most one search page may hold (MentionQuery.limit)


class EmergingThresholds(BaseModel):
    """When a term counts as emerging (the ``surging_term`` rule's options use the same)."""

    min_authors: int = Field(default=5, ge=2)
    max_baseline: int = Field(default=2, ge=0)  # at most this many uses before: still "new"
    min_negative_share: float = Field(default=0.6, gt=0, le=1)
    terms: list[str] = Field(default_factory=list)  # extra words/phrases to watch besides hashtags
    scan_limit: int = Field(default=500, ge=10, le=500)


@dataclass
class EmergingTerm:
    """A term that passed every threshold, with the figures that explain why."""

    term: str  # the key: a normalised hashtag without '#', or '"watched phrase"'
    label: str  # as searched: '#tag' or '"watched phrase"'
    mentions: list[Mention]  # its negative mentions in the window (newest first)
    authors: int
    total: int  # its uses in the window, any sentiment
    baseline: int  # its uses before the window
    brands: list[str] = field(default_factory=list)

    @property
    def negative(self) -> int:
        return len(self.mentions)

    @property
    def newest(self) -> Mention:
        return max(self.mentions, key=lambda m: m.published_at)


def hashtags_of(text: str) -> set[str]:
    """Hashtags in ``text``, normalised (case, Persian letter variants), without '#'."""
    return {normalize_for_match(tag) for tag in HASHTAG.findall(text)}


def candidate_terms(mentions: Iterable[Mention], watched: Iterable[str] = ()) -> dict[str, list[Mention]]:
    """Term -> the mentions using it: every hashtag, and each watched word or phrase."""
    found: dict[str, list[Mention]] = defaultdict(list)
    wanted = {normalize_for_match(t): t for t in watched}
    for mention in mentions:
        for tag in hashtags_of(mention.text):
            found[tag].append(mention)
        if wanted:
            text = normalize_for_match(mention.text)
            for norm, original in wanted.items():
                if norm in text:
                    found[f'"{original}"'].append(mention)
    return found


def count_at_most(store: MentionStore, query: MentionQuery, cap: int) -> int:
    """How many mentions match, counting no further than ``cap + 1`` (pages of ids)."""
    seen, cursor = 0, None
    while seen <= cap:
        page = store.search_mentions(query.model_copy(update={"limit": min(PAGE, cap + 1 - seen), "cursor": cursor}))
        seen += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return seen


def find_emerging_terms(
    store: MentionStore, base: MentionQuery, window_start: datetime, window_end: datetime,
    baseline_start: datetime, thresholds: EmergingThresholds, max_terms: int | None = None,
) -> list[EmergingTerm]:
    """Terms emerging in ``[window_start, window_end)`` among mentions matching ``base``
    (its brand, platform, language, source filters), judged against
    ``[baseline_start, window_start)``; most authors first. ``max_terms`` bounds how many
    candidates (those with the most authors) are checked."""
    scan = base.model_copy(update={"sentiments": ["negative"], "since": window_start, "until": window_end,
                                   "limit": thresholds.scan_limit, "cursor": None, "text": None,
                                   "facets": [], "histogram": None, "sort": "newest"})
    negatives = store.search_mentions(scan).items
    # A full scan saw only the newest negatives: judge the negative share over the part of the
    # window it covered, so a term surging all day is not diluted by uses the scan never read.
    share_start = window_start
    if len(negatives) >= thresholds.scan_limit:
        share_start = max(window_start, min(m.published_at for m in negatives))
    candidates = []
    for term, mentions in candidate_terms(negatives, thresholds.terms).items():
        authors = {m.author.key or m.id for m in mentions}
        if len(authors) >= thresholds.min_authors:
            candidates.append((term, mentions, len(authors)))
    candidates.sort(key=lambda c: (-c[2], -len(c[1]), c[0]))
    if max_terms is not None:
        candidates = candidates[:max_terms]
    found: list[EmergingTerm] = []
    for term, mentions, authors in candidates:
        label = f"#{term}" if not term.startswith('"') else term
        uses = base.model_copy(update={"text": label, "sentiments": [], "cursor": None, "facets": [], "histogram": None})
        # Share = negatives / total >= min share  <=>  total <= negatives / min share.
        most = int(len(mentions) / thresholds.min_negative_share + 1e-9)
        total = count_at_most(store, uses.model_copy(update={"since": share_start, "until": window_end}), most)
        if total > most:
            continue
        before = count_at_most(store, uses.model_copy(update={"since": baseline_start, "until": window_start}),
                               thresholds.max_baseline)
        if before > thresholds.max_baseline:
            continue
        brands = sorted({b for m in mentions for b in m.brands})
        found.append(EmergingTerm(term=term, label=label, mentions=mentions, authors=authors,
                                  total=max(total, len(mentions)), baseline=before, brands=brands))
    return found
