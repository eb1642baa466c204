"""Push ingest: mentions from a user's own collector go through the crawl's own chain.

A collector (a licensed X or Instagram data feed, a CRM's social inbox, an internal scraper)
posts :class:`IngestRequest` documents. Each mention is validated on its own (a bad one is
reported with its index and reasons; the good ones around it are kept), then cleaned, dated,
brand-matched and given its stable id by :class:`crawlers.normalize.PostNormalizer` — the same
steps a crawled post takes — and upserted: new mentions are queued for analysis, known ones
(same platform and native id, whoever sent them first) get a new engagement point.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.config import IngestSettings, Settings
from core.domain import Mention
from core.store.port import Store
from crawlers.items import PostItem
from crawlers.normalize import MalformedPost, NotAboutABrand, PostNormalizer
from monitor_api.problems import field_path

HARD_MAX_ITEMS = 10_000  # the schema's bound; api.ingest.max_items is the configured one


def _http_only(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError("only absolute http(s) URLs are accepted")
    return value


class IngestAuthor(BaseModel):
    """Who wrote the mention, as the platform shows them."""

    model_config = ConfigDict(extra="forbid")
    handle: str | None = Field(default=None, max_length=200, description="User name without '@'")
    name: str | None = Field(default=None, max_length=300)
    profile_url: str | None = Field(default=None, max_length=2000)
    followers: int | None = Field(default=None, ge=0)
    bio: str | None = Field(default=None, max_length=2000)

    _url = field_validator("profile_url")(_http_only)


class IngestEngagement(BaseModel):
    """Counts when the mention was collected; each push of a known mention adds a history point."""

    model_config = ConfigDict(extra="forbid")
    likes: int | None = Field(default=None, ge=0)
    shares: int | None = Field(default=None, ge=0, description="Reposts, retweets, forwards")
    replies: int | None = Field(default=None, ge=0)
    views: int | None = Field(default=None, ge=0)


class IngestMention(BaseModel):
    """One mention as a collector sends it."""

    model_config = ConfigDict(extra="forbid")
    platform: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$", description="e.g. `x`, `instagram`, `reddit`")
    native_id: str = Field(min_length=1, max_length=300, description="The platform's id of the post: with `platform`, its stable identity")
    text: str = Field(description="The post's text (HTML when `is_html`); at most `api.ingest.max_text_chars` characters")
    is_html: bool = False
    title: str | None = None
    published_at: AwareDatetime = Field(description="RFC 3339 with a time zone, e.g. `2026-11-23T10:15:00+03:30`")
    url: str | None = Field(default=None, max_length=2000, description="Permalink (http or https)")
    thread_id: str | None = Field(default=None, min_length=1, max_length=300, description="The platform's thread key")
    parent_native_id: str | None = Field(default=None, min_length=1, max_length=300, description="`native_id` of the post this replies to")
    thread_context: str | None = Field(default=None, description="Text of the thread's first post: a reply inherits its brands")
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    author: IngestAuthor = Field(default_factory=IngestAuthor)
    engagement: IngestEngagement = Field(default_factory=IngestEngagement)
    rating: float | None = Field(default=None, ge=0, le=5, description="Review stars, 0-5")
    sentiment_hint: Literal["negative", "neutral", "positive"] | None = None
    brands: list[str] = Field(default_factory=list, max_length=20,
                              description="Configured brands the collector knows this is about (added to those the text matches)")

    _url = field_validator("url")(_http_only)


class IngestEnvelope(BaseModel):
    """What the route parses: every mention is checked on its own, so one bad item rejects only itself."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "true" is not a boolean here
    source: str = Field(default="ingest", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    brand_owned: bool = False
    mentions: list[Any] = Field(max_length=HARD_MAX_ITEMS)


class IngestRequest(IngestEnvelope):
    """The documented request body of ``POST /v1/ingest/mentions``."""

    source: str = Field(default="ingest", pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                        description="Your collector's name; mentions are stored with it as their source")
    brand_owned: bool = Field(default=False, description="The feed is a brand's own channel: keep mentions matching no brand")
    mentions: list[IngestMention] = Field(max_length=HARD_MAX_ITEMS)  # type: ignore[assignment]


class ItemField(BaseModel):
    loc: str = Field(description="Where in the item, e.g. `published_at` or `author.profile_url`")
    msg: str


class RejectedMention(BaseModel):
    index: int = Field(description="Position in `mentions`")
    native_id: str | None = None
    errors: list[ItemField]


class AcceptedMention(BaseModel):
    index: int
    id: str = Field(description="The stored mention's id (stable: the same post always gets the same id)")
    brands: list[str]


class IngestReport(BaseModel):
    received: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    accepted: list[AcceptedMention] = Field(default_factory=list)
    rejected: list[RejectedMention] = Field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, errors: list[ItemField]) -> None:
        super().__init__("; ".join(f"{e.loc}: {e.msg}" for e in errors))
        self.errors = errors


def _check_item(raw: Any, limits: IngestSettings, brand_names: set[str]) -> IngestMention:
    if not isinstance(raw, dict):
        raise _Rejected([ItemField(loc="<item>", msg="a mention must be a JSON object")])
    try:
        item = IngestMention.model_validate(raw)
    except ValidationError as exc:
        raise _Rejected([ItemField(loc=field_path(e["loc"]), msg=e["msg"]) for e in exc.errors()[:20]]) from None
    errors = [ItemField(loc=name, msg=f"longer than {limits.max_text_chars} characters")
              for name in ("text", "title", "thread_context") if len(getattr(item, name) or "") > limits.max_text_chars]
    errors += [ItemField(loc=f"brands[{i}]", msg=f"no configured brand named {b!r}")
               for i, b in enumerate(item.brands) if b not in brand_names]
    if errors:
        raise _Rejected(errors)
    return item


def _post_item(item: IngestMention, source: str, index: int) -> PostItem:
    return PostItem(
        source=source, platform=item.platform, native_id=item.native_id, text=item.text, is_html=item.is_html,
        published=item.published_at, page_url=f"mentions[{index}]", url=item.url, title=item.title,
        thread_id=item.thread_id, parent_native_id=item.parent_native_id, thread_context=item.thread_context,
        author_handle=item.author.handle.lstrip("@") if item.author.handle else None, author_name=item.author.name,
        author_url=item.author.profile_url, author_followers=item.author.followers, author_bio=item.author.bio,
        likes=item.engagement.likes, shares=item.engagement.shares, replies=item.engagement.replies,
        views=item.engagement.views, rating=item.rating, sentiment_hint=item.sentiment_hint, lang=item.lang,
        known_brands=list(item.brands),
    )


def ingest_mentions(store: Store, settings: Settings, envelope: IngestEnvelope, now: datetime) -> IngestReport:
    """Normalise, match, id and upsert the envelope's mentions; bad ones are reported by index."""
    limits = settings.api.ingest
    normalizer = PostNormalizer(settings, now)
    brand_names = {b.name for b in settings.brands}
    report = IngestReport(received=len(envelope.mentions))
    kept: dict[str, tuple[int, Mention]] = {}
    for index, raw in enumerate(envelope.mentions):
        native = raw.get("native_id") if isinstance(raw, dict) and isinstance(raw.get("native_id"), str) else None
        try:
            item = _check_item(raw, limits, brand_names)
            mention = normalizer.to_mention(_post_item(item, envelope.source, index), envelope.brand_owned)
        except _Rejected as exc:
            report.rejected.append(RejectedMention(index=index, native_id=native, errors=exc.errors))
            continue
        except NotAboutABrand:
            report.rejected.append(RejectedMention(index=index, native_id=native, errors=[ItemField(
                loc="text", msg="matches no configured brand (name one in 'brands', or send brand_owned for a brand's own feed)")]))
            continue
        except MalformedPost as exc:
            report.rejected.append(RejectedMention(index=index, native_id=native, errors=[ItemField(
                loc="<item>", msg=str(exc).replace(f" on mentions[{index}]", ""))]))
            continue
        earlier = kept.get(mention.id)
        if earlier is not None:  # the same post twice in one request: the later copy wins
            report.rejected.append(RejectedMention(index=earlier[0], native_id=earlier[1].native_id, errors=[ItemField(
                loc="native_id", msg=f"sent again at index {index} in this request; that copy was kept")]))
        kept[mention.id] = (index, mention)
    if kept:
        result = store.upsert_mentions([m for _, m in kept.values()])
        report.created, report.updated, report.unchanged = result.created, result.updated, result.unchanged
        failed = {f.id: f.error for f in result.failed}
        for mention_id, (index, mention) in kept.items():
            if mention_id in failed:
                report.rejected.append(RejectedMention(index=index, native_id=mention.native_id,
                                                       errors=[ItemField(loc="<store>", msg=failed[mention_id])]))
            else:
                report.accepted.append(AcceptedMention(index=index, id=mention_id, brands=mention.brands))
    report.accepted.sort(key=lambda a: a.index)
    report.rejected.sort(key=lambda r: r.index)
    return report
