"""Virality signals from engagement history: rates per hour, acceleration, reach and spread.

A post's counts at publication are taken as zero, so one crawl an hour after a post
appeared already gives a rate. Rates come from the newest segment of the history
(between the last two observations); acceleration compares it with the segment before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable

from core.domain import EngagementPoint, Mention

_KINDS = ("shares", "replies", "likes", "views")
# A segment shorter than this is merged with the one before: two crawls a second apart say nothing.
_MIN_SEGMENT_HOURS = 1 / 60


@dataclass(frozen=True)
class ViralitySignals:
    """How fast and how widely a mention, thread or campaign spreads."""

    shares_per_hour: float = 0.0
    replies_per_hour: float = 0.0
    likes_per_hour: float = 0.0
    views_per_hour: float = 0.0
    acceleration: float = 0.0  # change of shares/h per hour, newest segment vs the one before
    reach: int = 0  # the largest author follower count
    distinct_authors: int = 1
    distinct_sources: int = 1
    campaign_authors: int = 0  # accounts posting near-identical copies (0 = no campaign)


def _points(mention: Mention) -> list[tuple[datetime, dict[str, float]]]:
    history: list[EngagementPoint] = sorted(mention.engagement_history, key=lambda p: p.at)
    if not history and any(getattr(mention.engagement, k) is not None for k in _KINDS):
        history = [EngagementPoint(at=mention.crawled_at, **mention.engagement.model_dump())]
    points = [(p.at, {k: float(getattr(p, k) or 0) for k in _KINDS}) for p in history]
    if points and mention.published_at < points[0][0]:
        points.insert(0, (mention.published_at, dict.fromkeys(_KINDS, 0.0)))
    merged: list[tuple[datetime, dict[str, float]]] = []
    for at, counts in points:
        if merged and (at - merged[-1][0]).total_seconds() / 3600 < _MIN_SEGMENT_HOURS:
            merged[-1] = (merged[-1][0], counts)  # keep the older time, the newer counts
        else:
            merged.append((at, counts))
    return merged


def _rates(a: tuple[datetime, dict[str, float]], b: tuple[datetime, dict[str, float]]) -> dict[str, float]:
    hours = max((b[0] - a[0]).total_seconds() / 3600, _MIN_SEGMENT_HOURS)
    return {k: max(b[1][k] - a[1][k], 0.0) / hours for k in _KINDS}


def mention_virality(mention: Mention, now: datetime | None = None) -> ViralitySignals:
    """Rates per hour over the newest history segment, acceleration, and the author's reach.

    ``now`` bounds the history (points after it are ignored), so a replay sees what was known then.
    """
    points = _points(mention)
    if now is not None:
        points = [p for p in points if p[0] <= now]
    reach = mention.author.followers or 0
    if len(points) < 2:
        return ViralitySignals(reach=reach)
    last = _rates(points[-2], points[-1])
    acceleration = 0.0
    if len(points) >= 3:
        before = _rates(points[-3], points[-2])
        mid_gap = ((points[-1][0] - points[-2][0]) + (points[-2][0] - points[-3][0])).total_seconds() / 7200
        acceleration = (last["shares"] - before["shares"]) / max(mid_gap, _MIN_SEGMENT_HOURS)
    return ViralitySignals(
        shares_per_hour=last["shares"], replies_per_hour=last["replies"], likes_per_hour=last["likes"],
        views_per_hour=last["views"], acceleration=acceleration, reach=reach,
    )


def group_virality(
    mentions: Iterable[Mention], now: datetime | None = None, campaign_authors: int = 0
) -> ViralitySignals:
    """A thread's or campaign's signals: member rates summed, reach the largest, spread counted."""
    members = list(mentions)
    if not members:
        return ViralitySignals(distinct_authors=0, distinct_sources=0, campaign_authors=campaign_authors)
    parts = [mention_virality(m, now) for m in members]
    authors = {m.author.key or f"{m.platform}:?{m.id}" for m in members}
    return ViralitySignals(
        shares_per_hour=sum(p.shares_per_hour for p in parts),
        replies_per_hour=sum(p.replies_per_hour for p in parts),
        likes_per_hour=sum(p.likes_per_hour for p in parts),
        views_per_hour=sum(p.views_per_hour for p in parts),
        acceleration=sum(p.acceleration for p in parts),
        reach=max(p.reach for p in parts),
        distinct_authors=len(authors),
        distinct_sources=len({m.source for m in members}),
        campaign_authors=campaign_authors,
    )


def with_campaign(signals: ViralitySignals, campaign_authors: int) -> ViralitySignals:
    """``signals`` with the size of the campaign the mention belongs to."""
    return replace(signals, campaign_authors=campaign_authors)


def _saturate(value: float, half_at: float) -> float:
    """0 at 0, 0.5 at ``half_at``, approaching 1: big numbers stop mattering more."""
    return 1.0 - math.exp(-math.log(2) * max(value, 0.0) / half_at)


def virality_component(signals: ViralitySignals) -> float:
    """The 0-1 virality component of a risk score.

    Velocity dominates (50 weighted engagements per hour is half way); a rising rate,
    the author's reach, spread across authors/sources and a coordinated campaign each
    add on top (combined as independent chances, so the result stays within 0-1).
    """
    velocity = (signals.shares_per_hour + 0.5 * signals.replies_per_hour + 0.2 * signals.likes_per_hour
                + 0.01 * signals.views_per_hour)
    parts = [
        0.85 * _saturate(velocity, 50),
        0.4 * _saturate(signals.acceleration, 200),
        0.3 * _saturate(signals.reach, 10_000),
        0.4 * _saturate(max(signals.distinct_authors - 1, 0) + max(signals.distinct_sources - 1, 0), 5),
        0.85 * _saturate(signals.campaign_authors, 6),
    ]
    remaining = 1.0
    for part in parts:
        remaining *= 1.0 - part
    return 1.0 - remaining
