"""The steps that turn a raw :class:`PostItem` into a stored :class:`Mention`, as plain functions.

Scrapy's item pipelines (``crawlers.pipelines``) call these one by one; the push-ingest API
(``POST /v1/ingest/mentions``) runs the whole chain through :class:`PostNormalizer`. So a post
from a user's own collector is cleaned, dated, brand-matched and given its stable id exactly
like a crawled one. No Scrapy import here: the API process does not need a crawler.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone, tzinfo
from typing import Callable
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from core.config import Settings
from core.domain import Author, Engagement, Mention, mention_id
from core.links import safe_http_url
from core.textnorm import replace_lone_surrogates
from crawlers.brandmatch import BrandMatcher
from crawlers.items import PostItem
from crawlers.textclean import canonical_url, html_to_text, normalize_whitespace
from crawlers.timeparse import TimeParseError, parse_time

FUTURE_TOLERANCE_SECONDS = 86400  # clocks and time zones of sources disagree by up to a day


class MalformedPost(ValueError):
    """A post that cannot become a mention (no text, bad time, invalid field); says which and why."""


class NotAboutABrand(ValueError):
    """A post that matches no configured brand (and does not come from a brand-owned source)."""


def clean_post(item: PostItem, unsafe_url_dropped: Callable[[], None] | None = None) -> PostItem:
    """HTML to text, whitespace, canonical http(s)-only URLs (others dropped, each reported to
    ``unsafe_url_dropped``); MalformedPost when nothing readable is left. A lone surrogate (half an
    emoji cut by a source's JSON) becomes U+FFFD: the rest of the post is good, and it could not be stored."""
    for name in (f.name for f in fields(item)):
        setattr(item, name, replace_lone_surrogates(getattr(item, name)))
    try:
        item.text = html_to_text(item.text) if item.is_html else normalize_whitespace(item.text or "")
    except Exception as exc:  # noqa: BLE001 - lxml rejects some broken fragments
        raise MalformedPost(f"malformed body in post {item.native_id} on {item.page_url}: {exc}") from None
    item.is_html = False
    item.title = normalize_whitespace(item.title) if item.title else None
    if not item.text and not item.title:
        raise MalformedPost(f"post {item.native_id} on {item.page_url} has no text")
    item.url = _safe_url(canonical_url(item.url), unsafe_url_dropped)
    item.author_url = _safe_url(canonical_url(item.author_url), unsafe_url_dropped)
    if item.thread_context and "<" in item.thread_context:
        item.thread_context = html_to_text(item.thread_context)
    return item


def _safe_url(url: str | None, dropped: Callable[[], None] | None) -> str | None:
    if not url:
        return None
    safe = safe_http_url(url)
    if safe is None and dropped is not None:
        dropped()
    return safe


def date_post(item: PostItem, now: datetime, zone: tzinfo = timezone.utc) -> PostItem:
    """Parse the shown time into aware UTC (unless a spider already did); refuse far-future times."""
    if item.published_at is None:
        try:
            item.published_at = parse_time(item.published, now, zone)
        except TimeParseError as exc:
            raise MalformedPost(f"post {item.native_id} on {item.page_url}: {exc}") from None
    if item.published_at > now.replace(microsecond=0) and (item.published_at - now).total_seconds() > FUTURE_TOLERANCE_SECONDS:
        raise MalformedPost(f"post {item.native_id} on {item.page_url}: time {item.published_at} is in the future")
    return item


class BrandAssigner:
    """Which brands a post is about: its own text plus the brands its source is known to be about
    (an app's reviews), else its thread's first post, else its author when that author is one of
    a brand's own handles on a brand-owned source."""

    def __init__(self, settings: Settings) -> None:
        self.matcher = BrandMatcher(settings)
        self.names = {b.name for b in settings.brands}
        self.brand_owned = {s.name for s in settings.sources if s.brand_owned}
        self.owners: dict[tuple[str, str], list[str]] = {}
        for brand in settings.brands:
            for platform, handles in brand.handles.items():
                for handle in handles:
                    self.owners.setdefault((platform, handle.lower().lstrip("@")), []).append(brand.name)

    def assign(self, item: PostItem, brand_owned: bool | None = None) -> PostItem:
        """Set ``item.brands``; NotAboutABrand when none match and the source is not brand-owned."""
        owned = item.source in self.brand_owned if brand_owned is None else brand_owned
        brands = self.matcher.match(item.title, item.text)
        brands += [b for b in item.known_brands if b in self.names and b not in brands]
        if not brands and item.thread_context:
            brands = self.matcher.match(item.thread_context)
        if not brands and owned:
            brands = self.owners.get((item.platform, (item.author_handle or "").lower()), [])
        item.brands = brands
        if not brands and not owned:
            raise NotAboutABrand(f"post {item.native_id} on {item.page_url} matches no brand")
        return item


def build_mention(item: PostItem, now: datetime, brand_owned: bool) -> Mention:
    """The Mention for a cleaned, dated, matched ``item``, with its stable id; the store keeps history."""
    engagement = Engagement(likes=item.likes, shares=item.shares, replies=item.replies, views=item.views)
    return Mention(
        id=mention_id(item.platform, item.native_id),
        platform=item.platform,
        source=item.source,
        native_id=item.native_id,
        url=item.url,
        thread_id=item.thread_id,
        parent_id=mention_id(item.platform, item.parent_native_id) if item.parent_native_id else None,
        title=item.title,
        text=item.text or item.title or "",
        lang=item.lang,
        author=Author(
            platform=item.platform, handle=item.author_handle, name=item.author_name,
            profile_url=item.author_url, followers=item.author_followers, bio=item.author_bio,
        ),
        published_at=item.published_at,
        crawled_at=now,
        engagement=engagement,
        rating=item.rating,
        sentiment_hint=item.sentiment_hint,
        brands=item.brands,
        brand_owned=brand_owned,
    )


def to_valid_mention(item: PostItem, now: datetime, brand_owned: bool) -> Mention:
    """:func:`build_mention`, with a model validation failure turned into MalformedPost."""
    try:
        return build_mention(item, now, brand_owned)
    except (ValidationError, ValueError) as exc:
        raise MalformedPost(f"post {item.native_id} on {item.page_url} is invalid: {exc}") from None


class PostNormalizer:
    """The whole chain for one post: clean → date → match brands → Mention with a stable id."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.now = now
        self.brands = BrandAssigner(settings)
        self.zones = {s.name: ZoneInfo(s.options["timezone"]) for s in settings.sources if s.options.get("timezone")}

    def to_mention(self, item: PostItem, brand_owned: bool = False) -> Mention:
        """The Mention for ``item``; MalformedPost or NotAboutABrand say why there is none."""
        clean_post(item)
        date_post(item, self.now, self.zones.get(item.source, timezone.utc))
        self.brands.assign(item, brand_owned)
        return to_valid_mention(item, self.now, brand_owned)
