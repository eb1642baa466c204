"""Mention search (query language + filters, facets, histogram, cursor pages), one mention,
threads and campaigns with their timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from core.domain import Campaign, Mention, Thread
from core.store.port import FacetName, MentionQuery, SearchPage
from monitor_api.deps import MentionsReader, SettingsDep, StoreDep
from monitor_api.params import Rfc3339
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem
from monitor_api.security import Principal, forbidden

router = APIRouter(tags=["mentions"], responses=PROBLEM_RESPONSES)

MAX_VALUES = 50  # values per repeated filter (?brand=a&brand=b...)
Value = Annotated[str, StringConstraints(max_length=300)]
Many = Annotated[list[Value], Query(max_length=MAX_VALUES)]


@router.get("/mentions", response_model=SearchPage, summary="Search mentions")
def search_mentions(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    principal: MentionsReader,
    q: Annotated[str | None, Query(max_length=2000, description='Brand query language, e.g. `"sepehr mobile" AND NOT praise`')] = None,
    brand: Many = [],  # noqa: B006 - FastAPI copies defaults
    lang: Many = [],  # noqa: B006
    sentiment: Annotated[list[Literal["negative", "neutral", "positive"]], Query(max_length=3)] = [],  # noqa: B006
    emotion: Many = [],  # noqa: B006
    source: Many = [],  # noqa: B006
    platform: Many = [],  # noqa: B006
    author: Annotated[list[Value], Query(max_length=MAX_VALUES, description="author key `platform:handle`")] = [],  # noqa: B006
    customer_id: Annotated[str | None, Query(max_length=300)] = None,
    thread_id: Annotated[str | None, Query(max_length=300)] = None,
    campaign_id: Annotated[str | None, Query(max_length=300)] = None,
    since: Rfc3339 | None = None,
    until: Rfc3339 | None = None,
    min_risk: Annotated[float | None, Query(ge=0, le=100)] = None,
    sort: Literal["newest", "oldest", "risk"] = "newest",
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    facets: Annotated[list[FacetName], Query(max_length=8)] = [],  # noqa: B006
    histogram: Literal["hour", "day", "week"] | None = None,
) -> SearchPage:
    """Mentions matching ``q`` and every filter, newest first by default.

    Without ``risk:read`` the ``customer_id`` of each mention is left out, and filtering or
    faceting by customer is refused (403).

    Pass the page's ``next_cursor`` back as ``cursor`` for the next page (same filters).
    """
    query = MentionQuery(
        text=q.strip() if q and q.strip() else None, brands=brand, langs=lang, sentiments=list(sentiment), emotions=emotion,
        platforms=platform, sources=source, authors=[a.lower() for a in author], customer_id=customer_id,
        thread_id=thread_id, campaign_id=campaign_id, since=since, until=until, min_risk=min_risk, sort=sort,
        limit=limit, cursor=cursor, facets=list(facets), histogram=histogram,
        budget_s=settings.api.search_budget_seconds,
    )
    if since and until and since >= until:
        raise ApiProblem(400, "Bad request", "'since' must be before 'until'", kind="bad-request")
    if not principal.has("risk:read") and (customer_id is not None or "customer_id" in facets):
        raise forbidden(["risk:read (to filter or facet by customer)"])
    request.app.state.search_limit.check(principal.key_id)
    page = store.search_mentions(query)
    page.items = without_customer_links(page.items, principal)
    return page


@router.get("/mentions/{mention_id}", response_model=Mention, summary="One mention")
def get_mention(mention_id: str, store: StoreDep, principal: MentionsReader) -> Mention:
    """The mention with its engagement history, analysis (cues with evidence spans) and risk."""
    mention = store.get_mention(mention_id)
    if mention is None:
        raise ApiProblem(404, "Not found", f"no mention with id {mention_id!r}", kind="not-found")
    return without_customer_links([mention], principal)[0]


def without_customer_links(mentions: list[Mention], principal: Principal) -> list[Mention]:
    """Mentions as ``principal`` may see them: which CRM customer wrote a post is personal
    data, shown only to keys with ``risk:read`` (see SECURITY.md); ``mentions:read`` alone
    sees the public post without its ``customer_id``."""
    if principal.has("risk:read"):
        return mentions
    return [m.model_copy(update={"customer_id": None}) if m.customer_id else m for m in mentions]


class TimelineEntry(BaseModel):
    """One mention in a thread or campaign, in time order."""

    at: datetime
    mention_id: str
    author: str | None
    text: str
    sentiment: str | None = None
    risk: float | None = None
    shares: int | None = None


class ThreadView(BaseModel):
    thread: Thread
    timeline: list[TimelineEntry] = Field(default_factory=list)


class CampaignView(BaseModel):
    campaign: Campaign
    timeline: list[TimelineEntry] = Field(default_factory=list)


def timeline_of(mentions: list[Mention]) -> list[TimelineEntry]:
    """Mentions as a time-ordered timeline."""
    entries = [
        TimelineEntry(
            at=m.published_at, mention_id=m.id, author=m.author.key or m.author.name, text=m.text[:500],
            sentiment=m.analysis.sentiment if m.analysis else None, risk=m.risk.score if m.risk else None,
            shares=m.engagement.shares,
        )
        for m in mentions
    ]
    return sorted(entries, key=lambda e: e.at)


@router.get("/threads/{thread_id}", response_model=ThreadView, summary="A thread and its timeline")
def get_thread(thread_id: str, store: StoreDep, _: MentionsReader) -> ThreadView:
    thread = store.get_thread(thread_id)
    if thread is None:
        raise ApiProblem(404, "Not found", f"no thread with id {thread_id!r}", kind="not-found")
    return ThreadView(thread=thread, timeline=timeline_of(store.get_mentions(thread.mention_ids)))


@router.get("/campaigns", response_model=list[Campaign], summary="Recent campaigns")
def list_campaigns(
    store: StoreDep, _: MentionsReader, since: Rfc3339 | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Campaign]:
    return store.list_campaigns(since=since, limit=limit)


@router.get("/campaigns/{campaign_id}", response_model=CampaignView, summary="A campaign and its timeline")
def get_campaign(campaign_id: str, store: StoreDep, _: MentionsReader) -> CampaignView:
    campaign = store.get_campaign(campaign_id)
    if campaign is None:
        raise ApiProblem(404, "Not found", f"no campaign with id {campaign_id!r}", kind="not-found")
    return CampaignView(campaign=campaign, timeline=timeline_of(store.get_mentions(campaign.mention_ids)))
