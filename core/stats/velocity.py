"""Engagement velocity: how fast a post's (or a thread's) engagement grows per hour.

Shared by the ``thread_velocity`` alert rule and the analysts' overview, so an alert and
the overview never disagree about how fast a thread spreads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from core.domain import Mention

METRICS = ("shares", "replies", "likes")


def engagement_velocity(mention: Mention, metric: str, window: timedelta,
                        until: datetime | None = None) -> float | None:
    """Growth of ``metric`` per hour across the engagement points inside ``window``.

    Uses the first and last re-crawl observations in the window; ``None`` when fewer than two
    points carry the metric (one observation says nothing about speed). ``until`` ignores
    observations made after it (an overview of a past range sees what was known then).
    """
    points = [p for p in mention.engagement_history
              if getattr(p, metric) is not None and (until is None or p.at <= until)]
    if len(points) < 2:
        return None
    points.sort(key=lambda p: p.at)
    last = points[-1]
    inside = [p for p in points if last.at - p.at <= window]
    first = inside[0] if len(inside) >= 2 else points[-2]
    hours = (last.at - first.at).total_seconds() / 3600
    if hours <= 0:
        return None
    return (getattr(last, metric) - getattr(first, metric)) / hours


def group_velocity(mentions: Iterable[Mention], window: timedelta, until: datetime | None = None) -> dict[str, float | None]:
    """Per metric, the summed velocity of the mentions that show it (None when none does)."""
    out: dict[str, float | None] = {}
    members = list(mentions)
    for metric in METRICS:
        rates = [r for m in members if (r := engagement_velocity(m, metric, window, until)) is not None]
        out[metric] = sum(rates) if rates else None
    return out
