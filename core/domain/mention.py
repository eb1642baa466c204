"""Mentions, their authors, engagement history, analysis and risk; threads and campaigns."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field

from core.domain.common import DomainModel, UtcDatetime, utcnow


def mention_id(platform: str, native_id: str) -> str:
    """Stable mention id from the platform and its native id (or canonical URL).

    Re-crawling the same post always yields the same id, so a store upsert updates
    instead of duplicating. Never random.
    """
    if not platform or not native_id:
        raise ValueError("mention_id needs a platform and a native id")
    digest = hashlib.blake2b(f"{platform}\x1f{native_id}".encode(), digest_size=10).hexdigest()
    return f"{platform}-{digest}"


class Author(DomainModel):
    """Who wrote a mention, as the platform shows them."""

    platform: str
    handle: str | None = None  # platform user name without '@', e.g. "sara_k"
    name: str | None = None  # display name
    profile_url: str | None = None
    followers: int | None = None  # reach, when the platform shows it
    bio: str | None = None  # profile text; emails/phones here help identity linking

    @property
    def key(self) -> str | None:
        """``platform:handle`` (lower case), the identity key used for linking."""
        return f"{self.platform}:{self.handle.lower()}" if self.handle else None


class Engagement(DomainModel):
    """Engagement counts at one moment; ``None`` means the platform does not show it."""

    likes: int | None = None
    shares: int | None = None  # reblogs, retweets, forwards
    replies: int | None = None
    views: int | None = None


class EngagementPoint(Engagement):
    """Engagement counts observed at ``at`` (one point per crawl or re-visit)."""

    at: UtcDatetime


class Cue(DomainModel):
    """A sabotage cue or complaint reason with the evidence span that triggered it."""

    kind: str  # e.g. call_to_action, boycott, threat_public, threat_legal, tag_competitor,
    #           failed_support, reason_service, reason_product, reason_price, reason_switching
    evidence: str  # the matched text, as written
    start: int  # character offsets into Mention.text
    end: int
    score: float = 1.0


class Analysis(DomainModel):
    """What the NLP stage concluded about a mention."""

    lang: str  # "fa", "en", "ar", "other"
    sentiment: Literal["negative", "neutral", "positive"]
    sentiment_scores: dict[str, float] = Field(default_factory=dict)
    emotions: dict[str, float] = Field(default_factory=dict)  # at least {"anger": p}
    anger: float = 0.0
    cues: list[Cue] = Field(default_factory=list)
    complaint_reasons: list[str] = Field(default_factory=list)
    # Calibrated probability that the post is a complaint (a customer voicing a breach of
    # expectations); None on analyses written before the complaint head existed.
    complaint: float | None = Field(default=None, ge=0, le=1)
    model: str = ""  # model/version identifier, for audits and re-analysis
    analyzed_at: UtcDatetime = Field(default_factory=utcnow)


class RiskScore(DomainModel):
    """An explainable 0-100 score: its components and human-readable reasons."""

    score: float = Field(ge=0, le=100)
    components: dict[str, float] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    scored_at: UtcDatetime = Field(default_factory=utcnow)


class Mention(DomainModel):
    """One post, review, comment or article that mentions a brand."""

    id: str  # mention_id(platform, native_id)
    platform: str  # rss, forum, review, mastodon, telegram, hackernews, ...
    source: str  # the configured source's name
    native_id: str
    url: str | None = None  # canonical URL
    thread_id: str | None = None  # platform thread key; replies share their thread's
    parent_id: str | None = None  # mention id this one replies to
    title: str | None = None
    text: str
    lang: str | None = None  # set by the crawler when the platform says, else by nlp
    author: Author
    published_at: UtcDatetime
    crawled_at: UtcDatetime = Field(default_factory=utcnow)
    engagement: Engagement = Field(default_factory=Engagement)
    engagement_history: list[EngagementPoint] = Field(default_factory=list)
    rating: float | None = None  # review stars, normalised to 0-5
    # What the source itself says about the tone (a 1-2 star review is negative), before nlp reads it.
    sentiment_hint: Literal["negative", "neutral", "positive"] | None = None
    brands: list[str] = Field(default_factory=list)  # every configured brand it matched
    brand_owned: bool = False  # from a brand-owned source (own channel): kept without a match
    analysis: Analysis | None = None
    risk: RiskScore | None = None
    customer_id: str | None = None  # linked CRM id
    campaign_id: str | None = None


class Thread(DomainModel):
    """Mentions grouped by platform thread id, reply chain or URL."""

    id: str
    platform: str
    url: str | None = None
    title: str | None = None
    brands: list[str] = Field(default_factory=list)
    mention_ids: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)  # author keys
    first_at: UtcDatetime
    last_at: UtcDatetime
    risk: RiskScore | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class Campaign(DomainModel):
    """Near-identical posts by different authors within a window: a coordinated campaign."""

    id: str
    brands: list[str] = Field(default_factory=list)
    mention_ids: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    sample_text: str = ""
    first_at: UtcDatetime
    last_at: UtcDatetime
    size_history: list[tuple[UtcDatetime, int]] = Field(default_factory=list)  # growth over time
    # Share of the members that read negative (sentiment, or risk negativity >= 0.5, complaints
    # included); None on records written before it was kept.
    negative_share: float | None = Field(default=None, ge=0, le=1)
    risk: RiskScore | None = None
    updated_at: UtcDatetime = Field(default_factory=utcnow)
