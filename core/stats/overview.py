"""The analysts' overview, computed from the storage port on any adapter.

The store aggregates (``StatsStore``); this module adds what needs the mentions themselves:
a thread's velocity and title, an author's name and profile, and the emerging terms
(``core.stats.emerging``). "Now" figures (top negative threads, emerging terms) look at the
last ``RECENT`` of the range; volume, mix and authors at the whole range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pydantic import BaseModel, Field

from core.store.port import MentionQuery, Store
from core.store.stats_port import Interval, MixStats, StatsFilter, VolumeStats
from core.stats.emerging import EmergingThresholds, find_emerging_terms
from core.stats.velocity import group_velocity

RECENT = timedelta(hours=24)
VELOCITY_WINDOW = timedelta(hours=1)
THREAD_MEMBERS = 50  # newest mentions of a thread read for its velocity
MAX_LIMIT = 50
# The overview scans the newest 250 negative mentions of its last day for emerging terms (the
# alert rule's default is 500 per hour): parsing them is most of the overview's time at scale.
OVERVIEW_SCAN = 250


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) link, else None (crawled URLs are hostile)."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def auto_interval(since: datetime, until: datetime) -> Interval:
    """Hours up to two days, days up to ~3 months, weeks beyond."""
    span = until - since
    if span <= timedelta(days=2):
        return "hour"
    return "day" if span <= timedelta(days=92) else "week"


class ThreadStat(BaseModel):
    """A thread with negative mentions now, and how fast it spreads."""

    thread_id: str
    title: str | None = None
    url: str | None = None
    platform: str | None = None
    brands: list[str] = Field(default_factory=list)
    negative: int
    negative_last_hour: int = 0
    max_risk: float | None = None
    last_at: datetime
    shares_per_hour: float | None = None
    replies_per_hour: float | None = None
    likes_per_hour: float | None = None


class AuthorStat(BaseModel):
    """An author by reach, with their mentions in the range."""

    author_key: str
    platform: str
    handle: str | None = None
    name: str | None = None
    profile_url: str | None = None
    reach: int
    mentions: int
    negative: int
    last_at: datetime


class TermStat(BaseModel):
    """An emerging term and why it counts as one."""

    term: str
    label: str
    authors: int
    negative: int
    total: int
    baseline: int
    brands: list[str] = Field(default_factory=list)
    mention_ids: list[str] = Field(default_factory=list)


class BrandShare(BaseModel):
    """A brand's part of all brand mentions (own brands and competitors alike)."""

    brand: str
    count: int
    negative: int
    share: float  # percent of the mentions of every brand (a mention naming two brands counts for both)


class Overview(BaseModel):
    """Everything the overview page shows, for one range and set of filters."""

    since: datetime
    until: datetime
    recent_since: datetime  # start of the "now" window of threads and terms
    interval: Interval
    brands: list[str] = Field(default_factory=list)
    platforms: list[str] = Field(default_factory=list)
    langs: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    volume: VolumeStats
    share_of_voice: list[BrandShare] = Field(default_factory=list)  # every brand, whatever the brand filter
    mix: MixStats
    threads: list[ThreadStat] = Field(default_factory=list)
    authors: list[AuthorStat] = Field(default_factory=list)
    terms: list[TermStat] = Field(default_factory=list)


def recent(flt: StatsFilter) -> StatsFilter:
    """The "now" part of a range: its last ``RECENT``."""
    return flt.narrowed(flt.until - RECENT)


def base_query(flt: StatsFilter, limit: int = 50) -> MentionQuery:
    """A mention search over the filter's range and filters."""
    return MentionQuery(brands=flt.brands, platforms=flt.platforms, langs=flt.langs, sources=flt.sources,
                        since=flt.since, until=flt.until, limit=limit)


def top_threads(store: Store, flt: StatsFilter, limit: int) -> list[ThreadStat]:
    """Threads with the most negative mentions in the range, with velocity per hour."""
    out: list[ThreadStat] = []
    for counted in store.negative_thread_counts(flt, limit):
        members = store.search_mentions(base_query(flt, THREAD_MEMBERS).model_copy(
            update={"thread_id": counted.thread_id})).items
        thread = store.get_thread(counted.thread_id)
        first = min(members, key=lambda m: m.published_at) if members else None
        speed = group_velocity(members, VELOCITY_WINDOW, until=flt.until)
        last_hour = flt.until - VELOCITY_WINDOW
        title = (thread.title if thread else None) or (first.title or first.text[:140] if first else None)
        out.append(ThreadStat(
            thread_id=counted.thread_id, title=title, url=safe_url(thread.url if thread else first.url if first else None),
            platform=thread.platform if thread else first.platform if first else None,
            brands=sorted({b for m in members for b in m.brands}), negative=counted.negative,
            negative_last_hour=sum(1 for m in members if m.published_at >= last_hour and m.analysis is not None
                                   and m.analysis.sentiment == "negative"),
            max_risk=counted.max_risk, last_at=counted.last_at, shares_per_hour=speed["shares"],
            replies_per_hour=speed["replies"], likes_per_hour=speed["likes"],
        ))
    return out


def loudest_authors(store: Store, flt: StatsFilter, limit: int) -> list[AuthorStat]:
    """Authors by reach, with their name and profile from their newest mention."""
    out: list[AuthorStat] = []
    for counted in store.author_reach(flt, limit):
        newest = store.search_mentions(base_query(flt, 1).model_copy(update={"authors": [counted.author_key]})).items
        author = newest[0].author if newest else None
        platform = author.platform if author else counted.author_key.split(":", 1)[0]
        out.append(AuthorStat(
            author_key=counted.author_key, platform=platform, handle=author.handle if author else None,
            name=author.name if author else None, profile_url=safe_url(author.profile_url if author else None),
            reach=counted.reach, mentions=counted.mentions, negative=counted.negative, last_at=counted.last_at,
        ))
    return out


def emerging_terms(store: Store, flt: StatsFilter, limit: int, thresholds: EmergingThresholds,
                   baseline: timedelta) -> list[TermStat]:
    """Terms emerging in the range's last ``RECENT`` against the ``baseline`` before it."""
    window = recent(flt)
    found = find_emerging_terms(store, base_query(flt), window.since, window.until, window.since - baseline,
                                thresholds, max_terms=limit)
    return [TermStat(term=t.term, label=t.label, authors=t.authors, negative=t.negative, total=t.total,
                     baseline=t.baseline, brands=t.brands, mention_ids=[m.id for m in t.mentions[:10]])
            for t in found]


def share_of_voice(store: Store, flt: StatsFilter, volume: VolumeStats) -> list[BrandShare]:
    """Every brand's share of the brand mentions under the filter's range, platforms,
    languages and sources; with a brand filter, the other brands are counted too."""
    series = volume.brands
    if flt.brands:
        series = store.mention_volume(flt.model_copy(update={"brands": []}), volume.interval).brands
    total = sum(s.count for s in series)
    return [BrandShare(brand=s.brand or "", count=s.count, negative=s.negative,
                       share=round(s.count / total * 100, 2) if total else 0.0) for s in series]


def build_overview(store: Store, flt: StatsFilter, *, interval: Interval | None = None, limit: int = 10,
                   thresholds: EmergingThresholds | None = None,
                   baseline: timedelta = timedelta(days=7)) -> Overview:
    """Every figure of the overview page for ``flt``."""
    chosen: Interval = interval or auto_interval(flt.since, flt.until)
    now_window = recent(flt)
    thresholds = thresholds or EmergingThresholds(min_authors=3, scan_limit=OVERVIEW_SCAN)
    volume = store.mention_volume(flt, chosen)
    return Overview(
        since=flt.since, until=flt.until, recent_since=now_window.since, interval=chosen, brands=flt.brands,
        platforms=flt.platforms, langs=flt.langs, sources=flt.sources, volume=volume,
        share_of_voice=share_of_voice(store, flt, volume), mix=store.mention_mix(flt),
        threads=top_threads(store, now_window, limit), authors=loudest_authors(store, flt, limit),
        terms=emerging_terms(store, flt, limit, thresholds, baseline),
    )

