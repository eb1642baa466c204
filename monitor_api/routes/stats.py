"""Overview statistics: volume and negative share per brand over time (share of voice),
platform/language/source mix, top negative threads now, loudest authors, emerging terms.

Every operation takes the same time range (``range`` = 24h/7d/30d ending now, or
``since``/``until``) and filters (``brand``, ``platform``, ``lang``, ``source``; repeat a
parameter for several values). Ranges are bounded (``MAX_RANGE``) and so are filters.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints, ValidationError

from core.clock import Clock
from core.stats.emerging import EmergingThresholds
from core.stats.overview import (
    MAX_LIMIT,
    OVERVIEW_SCAN,
    AuthorStat,
    Overview,
    TermStat,
    ThreadStat,
    auto_interval,
    build_overview,
    emerging_terms,
    loudest_authors,
    recent,
    top_threads,
)
from core.store.stats_port import MAX_FILTER_VALUES, Interval, MixStats, StatsFilter, VolumeStats, bucket_starts
from monitor_api.deps import ClockDep, MentionsReader, StoreDep
from monitor_api.params import Rfc3339
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem

router = APIRouter(prefix="/stats", tags=["stats"], responses=PROBLEM_RESPONSES)

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_RANGE = timedelta(days=366)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)  # mention keys count milliseconds from 1970
LATEST = datetime(2999, 12, 31, tzinfo=timezone.utc)
Value = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Values = Annotated[list[Value], Query(max_length=MAX_FILTER_VALUES)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="how many threads/authors/terms")]


def bad_request(detail: str) -> ApiProblem:
    return ApiProblem(400, "Bad request", detail, kind="bad-request")


def stats_filter(
    clock: ClockDep,
    range: Annotated[Literal["24h", "7d", "30d"] | None, Query(  # noqa: A002 - the public name
        description="a range ending now (ignored when `since` is given)")] = None,
    since: Annotated[Rfc3339 | None, Query(description="custom range start (RFC 3339)")] = None,
    until: Annotated[Rfc3339 | None, Query(description="custom range end, exclusive (default: now)")] = None,
    brand: Values = [],  # noqa: B006 - FastAPI copies defaults
    platform: Values = [],  # noqa: B006
    lang: Values = [],  # noqa: B006
    source: Values = [],  # noqa: B006
) -> StatsFilter:
    """Resolve the range (default: the last 7 days) and filters; 400 naming what is wrong."""
    return resolve_filter(clock, range, since, until, brand, platform, lang, source)


def resolve_filter(clock: Clock, range_name: str | None, since: object, until: object, brands: list[str],
                   platforms: list[str], langs: list[str], sources: list[str]) -> StatsFilter:
    """A ``StatsFilter`` from already-typed parameters (shared with the dashboard)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:  # type: ignore[operator]
            raise bad_request(f"'{name}' must be between {EARLIEST.year} and {LATEST.year}")
    end = until or clock.now()
    start = since or end - RANGES[range_name or "7d"]
    if start >= end:  # type: ignore[operator]
        raise bad_request("'since' must be before 'until'")
    if end - start > MAX_RANGE:  # type: ignore[operator]
        raise bad_request(f"the range is longer than {MAX_RANGE.days} days")
    try:
        return StatsFilter(since=start, until=end, brands=_unique(brands), platforms=_unique(platforms),
                           langs=_unique(langs), sources=_unique(sources))
    except ValidationError as exc:
        raise bad_request("; ".join(e["msg"] for e in exc.errors())) from None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


FilterDep = Annotated[StatsFilter, Depends(stats_filter)]


def checked_interval(flt: StatsFilter, interval: Interval | None) -> Interval:
    """The interval asked for (or the automatic one), if the range has few enough buckets."""
    chosen = interval or auto_interval(flt.since, flt.until)
    try:
        bucket_starts(flt, chosen)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return chosen


def thresholds(min_authors: int) -> EmergingThresholds:
    return EmergingThresholds(min_authors=min_authors, scan_limit=OVERVIEW_SCAN)


MinAuthors = Annotated[int, Query(ge=2, le=100, description="distinct authors a term needs in the window")]
BaselineHours = Annotated[int, Query(ge=1, le=720, description="how far back a term must have been (almost) unused")]


@router.get("/overview", response_model=Overview, summary="Everything the overview page shows")
def overview(
    store: StoreDep, _: MentionsReader, flt: FilterDep, interval: Interval | None = None, limit: Limit = 10,
    min_authors: MinAuthors = 3, baseline_hours: BaselineHours = 168,
) -> Overview:
    """Volume per brand over time, mix, top negative threads now (last 24 h of the range),
    loudest authors and emerging terms, in one document."""
    return build_overview(store, flt, interval=checked_interval(flt, interval), limit=limit,
                          thresholds=thresholds(min_authors), baseline=timedelta(hours=baseline_hours))


@router.get("/volume", response_model=VolumeStats, summary="Volume and negative count per brand over time")
def volume(store: StoreDep, _: MentionsReader, flt: FilterDep, interval: Interval | None = None) -> VolumeStats:
    """Buckets of ``interval`` (automatic: hours up to 2 days, days up to 92, weeks beyond),
    overall and per brand, competitors included: the share of voice."""
    return store.mention_volume(flt, checked_interval(flt, interval))


@router.get("/mix", response_model=MixStats, summary="Platform, language and source mix")
def mix(store: StoreDep, _: MentionsReader, flt: FilterDep) -> MixStats:
    return store.mention_mix(flt)


@router.get("/threads", response_model=list[ThreadStat], summary="Top negative threads now, with velocity")
def threads(store: StoreDep, _: MentionsReader, flt: FilterDep, limit: Limit = 10) -> list[ThreadStat]:
    """Threads with the most negative mentions in the last 24 h of the range, with their
    engagement growth per hour and negative posts in the last hour."""
    return top_threads(store, recent(flt), limit)


@router.get("/authors", response_model=list[AuthorStat], summary="Loudest authors by reach")
def authors(store: StoreDep, _: MentionsReader, flt: FilterDep, limit: Limit = 10) -> list[AuthorStat]:
    return loudest_authors(store, flt, limit)


@router.get("/terms", response_model=list[TermStat], summary="Emerging terms (the surging_term rule's logic)")
def terms(
    store: StoreDep, _: MentionsReader, flt: FilterDep, limit: Limit = 10, min_authors: MinAuthors = 3,
    baseline_hours: BaselineHours = 168,
) -> list[TermStat]:
    """Hashtags used by at least ``min_authors`` accounts, mostly negatively, in the last
    24 h of the range, and (almost) never in the ``baseline_hours`` before."""
    return emerging_terms(store, flt, limit, thresholds(min_authors), timedelta(hours=baseline_hours))
