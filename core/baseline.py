"""How much history each brand has: rules that compare a brand with its own past wait for it.

A brand's observation starts when brandguard first saw one of its mentions: the first crawl
of its oldest stored post (``crawled_at``, or the first engagement point when it was
re-crawled since). A first crawl that backfills a feed's week-old posts does not count as a
week of history — those posts were seen today. The alert stage records the start once per
brand (checkpoint ``baseline:observed_since:<brand>``) so it does not move when old
mentions are deleted; ``brandguard store stats`` and ``/readyz`` show the same figures.

While a brand has less than ``alerts.learning_hours`` (default 24) of observed history it is
*learning*: ``negative_spike`` and ``surging_term`` stay quiet for it (a fresh store has a
baseline of zero, and ordinary chatter looks like a spike against zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.store.port import MentionQuery

if TYPE_CHECKING:  # pragma: no cover
    from core.config import Settings
    from core.store.port import Store

CHECKPOINT_PREFIX = "baseline:observed_since:"


@dataclass(frozen=True)
class BaselineStatus:
    """One brand's history: since when it is observed and whether the learning period is over."""

    brand: str
    observed_since: datetime | None
    observed_hours: float
    learning_hours: float

    @property
    def ready(self) -> bool:
        return self.observed_since is not None and self.observed_hours >= self.learning_hours

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": "ready" if self.ready else "learning",
            "observed_since": self.observed_since.isoformat() if self.observed_since else None,
            "observed_hours": round(self.observed_hours, 1),
            "learning_hours": self.learning_hours,
        }


def observed_since(store: "Store", brand: str, now: datetime, *, record: bool = False) -> datetime | None:
    """When ``brand``'s first stored mention was first seen (None: nothing yet); ``record`` saves it."""
    raw = store.get_checkpoint(CHECKPOINT_PREFIX + brand)
    if raw:
        return datetime.fromisoformat(raw)
    page = store.search_mentions(MentionQuery(brands=[brand], sort="oldest", limit=1))
    if not page.items:
        return None
    first = page.items[0]
    since = min([now, first.crawled_at] + [p.at for p in first.engagement_history])
    if record:
        store.set_checkpoint(CHECKPOINT_PREFIX + brand, since.isoformat())
    return since


def baseline_status(store: "Store", brand: str, now: datetime, learning_hours: float, *,
                    record: bool = False) -> BaselineStatus:
    """``brand``'s history and whether it is long enough to compare against."""
    since = observed_since(store, brand, now, record=record)
    hours = max(0.0, (now - since).total_seconds() / 3600) if since is not None else 0.0
    return BaselineStatus(brand, since, hours, learning_hours)


def baselines(store: "Store", settings: "Settings", now: datetime) -> dict[str, dict[str, Any]]:
    """Every own (non-competitor) brand's baseline status, for ``store stats`` and ``/readyz``."""
    hours = settings.alerts.learning_hours
    return {b.name: baseline_status(store, b.name, now, hours).as_dict() for b in settings.brands if not b.competitor}
