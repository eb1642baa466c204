"""The item every spider yields: one post as the platform shows it, before normalisation.

Pipelines turn it into a :class:`core.domain.Mention` (clean text, parsed time, brand
matches, stable id). Spiders fill what the page offers and leave the rest ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PostItem:
    source: str  # configured source name
    platform: str  # forum, review, rss, mastodon, telegram, hackernews, ...
    native_id: str  # the platform's id for the post (or its canonical URL)
    text: str  # body: plain text, or HTML when ``is_html``
    published: Any  # raw time as shown (string, datetime or epoch); parsed by a pipeline
    page_url: str  # where it was found (for logs)
    url: str | None = None  # permalink
    is_html: bool = False
    title: str | None = None
    thread_id: str | None = None
    parent_native_id: str | None = None
    thread_context: str | None = None  # text of the thread's first post: replies inherit its brands
    author_handle: str | None = None
    author_name: str | None = None
    author_url: str | None = None
    author_followers: int | None = None
    author_bio: str | None = None
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None
    views: int | None = None
    rating: float | None = None  # already normalised to 0-5
    sentiment_hint: str | None = None  # negative/neutral/positive when the source says (star ratings)
    lang: str | None = None
    known_brands: list[str] = field(default_factory=list)  # brands the source itself is about (an app's reviews)
    # Set by pipelines:
    published_at: datetime | None = None
    brands: list[str] = field(default_factory=list)
