"""The statistics half of the storage port: aggregated counts for the analysts' overview.

Both adapters implement :class:`StatsStore` (SQLite from summary tables kept by triggers,
Elasticsearch with aggregations); ``tests/contract/test_stats.py`` holds them to the same
numbers. What is derived from these counts (thread velocity, emerging terms) lives in
``core.stats`` and works on any store.

Shared rules:
- a range is ``[since, until)`` on ``published_at``; filters are ORed within a field and
  ANDed across fields, as in ``MentionQuery``;
- a mention is *negative* when its analysis says so (not yet analysed: not negative);
- per-brand figures count a mention once for each of its brands (share of voice); the
  overall figures count it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field, model_validator

Interval = Literal["hour", "day", "week"]
INTERVAL_SPAN = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
MAX_BUCKETS = 2000  # per series: a year of days, or 83 days of hours
MAX_FILTER_VALUES = 20


class StatsFilter(BaseModel):
    """The time range and filters every statistic is computed over."""

    since: datetime
    until: datetime
    brands: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    platforms: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    langs: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    sources: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)

    @model_validator(mode="after")
    def _ordered(self) -> "StatsFilter":
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        if self.since >= self.until:
            raise ValueError("since must be before until")
        return self

    def narrowed(self, since: datetime) -> "StatsFilter":
        """The same filters over ``[max(since, self.since), until)``."""
        return self.model_copy(update={"since": max(since, self.since)})


class CountBucket(BaseModel):
    """Mentions (and how many of them negative) published in ``[start, start + interval)``."""

    start: datetime
    count: int = 0
    negative: int = 0


class VolumeSeries(BaseModel):
    """One brand's (or, with ``brand`` None, every matching mention's) volume over time."""

    brand: str | None = None
    count: int = 0
    negative: int = 0
    buckets: list[CountBucket] = Field(default_factory=list)


class VolumeStats(BaseModel):
    """Volume and negative counts over time, overall and per brand (share of voice)."""

    interval: Interval
    overall: VolumeSeries
    brands: list[VolumeSeries] = Field(default_factory=list)  # largest first, then by name


class MixBucket(BaseModel):
    value: str
    count: int
    negative: int = 0


class MixStats(BaseModel):
    """Where the mentions come from and in which language (unknown languages are left out)."""

    count: int = 0
    negative: int = 0
    platforms: list[MixBucket] = Field(default_factory=list)
    langs: list[MixBucket] = Field(default_factory=list)
    sources: list[MixBucket] = Field(default_factory=list)


class ThreadCount(BaseModel):
    """A thread's negative mentions in the range (mentions tagged with a thread id)."""

    thread_id: str
    negative: int
    max_risk: float | None = None  # None when no negative mention of it was scored yet
    last_at: datetime


class AuthorReach(BaseModel):
    """An author with a known reach (followers) and their mentions in the range."""

    author_key: str
    reach: int
    mentions: int
    negative: int = 0
    last_at: datetime


MIX_SIZE = 50  # values per mix dimension


@runtime_checkable
class StatsStore(Protocol):
    def mention_volume(self, flt: StatsFilter, interval: Interval) -> VolumeStats:
        """Counts per ``interval`` bucket (UTC; weeks start on Monday) for every bucket
        overlapping the range, empty ones included, overall and per brand (only the
        filter's brands when it names any)."""

    def mention_mix(self, flt: StatsFilter) -> MixStats:
        """Counts per platform, language and source (largest first, ``MIX_SIZE`` each)."""

    def negative_thread_counts(self, flt: StatsFilter, limit: int) -> list[ThreadCount]:
        """Threads with the most negative mentions in the range: by count, then the
        highest risk, the latest negative mention and the thread id."""

    def author_reach(self, flt: StatsFilter, limit: int) -> list[AuthorReach]:
        """Authors whose mentions show a follower count, by reach (their largest
        follower count in the range), then mentions, then key."""


def bucket_floor(value: datetime, interval: Interval) -> datetime:
    """The start of the bucket holding ``value`` (weeks start on Monday, UTC)."""
    value = value.astimezone(timezone.utc)
    if interval == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def bucket_starts(flt: StatsFilter, interval: Interval) -> list[datetime]:
    """Every bucket start overlapping ``[since, until)``; ValueError past ``MAX_BUCKETS``."""
    step = INTERVAL_SPAN[interval]
    first = bucket_floor(flt.since, interval)
    count = int((flt.until - first) / step) + 1
    if count > MAX_BUCKETS + 1:
        raise ValueError(f"{count} {interval} buckets is more than {MAX_BUCKETS}: use a longer interval")
    starts = [first + i * step for i in range(count)]
    return [s for s in starts if s < flt.until]


def filled_series(brand: str | None, starts: list[datetime], counts: dict[datetime, tuple[int, int]]) -> VolumeSeries:
    """A series with a bucket for every start (zeros where nothing was counted)."""
    buckets = [CountBucket(start=s, count=counts.get(s, (0, 0))[0], negative=counts.get(s, (0, 0))[1]) for s in starts]
    return VolumeSeries(brand=brand, count=sum(b.count for b in buckets), negative=sum(b.negative for b in buckets),
                        buckets=buckets)


def ranked_mix(counts: dict[str, tuple[int, int]]) -> list[MixBucket]:
    """Mix buckets largest first (then by value), at most ``MIX_SIZE``, empty ones dropped."""
    ordered = sorted(((v, n, neg) for v, (n, neg) in counts.items() if n > 0), key=lambda t: (-t[1], t[0]))
    return [MixBucket(value=v, count=n, negative=neg) for v, n, neg in ordered[:MIX_SIZE]]


def ranked_brands(series: list[VolumeSeries]) -> list[VolumeSeries]:
    """Brand series largest first, then by name; brands with no mention dropped."""
    return sorted((s for s in series if s.count > 0), key=lambda s: (-s.count, s.brand or ""))
