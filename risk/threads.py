"""Grouping mentions into threads: platform thread id, reply chains, same URL.

The thread id is the platform's thread key when the crawler gave one (``mastodon:host:123``);
otherwise a reply joins its parent's thread (following the chain up); otherwise posts with
the same URL (fragment and query dropped) share ``url:<url>``; a post with none of these is
a thread of its own (``mention:<id>``). The thread record is rebuilt from the store's
mentions carrying that ``thread_id``, so two workers adding replies at once never lose one.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from core.domain import Mention, RiskScore, Thread
from core.store.port import MentionQuery, Store

MAX_CHAIN_DEPTH = 50
MAX_MEMBERS = 500  # a thread's or campaign's record lists at most this many (the newest) mentions


def url_thread_key(url: str | None) -> str | None:
    """``url:<scheme://host/path>`` without query or fragment, or None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if not parts.netloc:
        return None
    return "url:" + urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/") or "/", "", ""))


def resolve_thread_id(store: Store, mention: Mention) -> str:
    """The thread ``mention`` belongs to (see the module rules)."""
    current, seen = mention, {mention.id}
    for _ in range(MAX_CHAIN_DEPTH):
        if current.thread_id:
            return current.thread_id
        if not current.parent_id or current.parent_id in seen:
            break
        parent = store.get_mention(current.parent_id)
        if parent is None:
            break  # the parent was not crawled (yet): fall back to what this post itself has
        seen.add(parent.id)
        current = parent
    return url_thread_key(current.url) or url_thread_key(mention.url) or f"mention:{current.id}"


def tagged_mentions(store: Store, *, thread_id: str | None = None, campaign_id: str | None = None) -> list[Mention]:
    """The newest ``MAX_MEMBERS`` stored mentions tagged with a thread or campaign id, oldest first."""
    query = MentionQuery(thread_id=thread_id, campaign_id=campaign_id, sort="newest", limit=MAX_MEMBERS)
    return sorted(store.search_mentions(query).items, key=lambda m: (m.published_at, m.id))


def build_thread(
    thread_id: str, members: list[Mention], now: datetime, previous: Thread | None = None,
    risk: RiskScore | None = None,
) -> Thread:
    """The thread record for ``members`` (keeps the earlier record's first time and title)."""
    if not members:
        raise ValueError(f"thread {thread_id!r} has no mentions")
    first = members[0]
    return Thread(
        id=thread_id,
        platform=first.platform,
        url=(previous.url if previous else None) or first.url,
        title=(previous.title if previous else None) or next((m.title for m in members if m.title), None),
        brands=list(dict.fromkeys(b for m in members for b in m.brands)),
        mention_ids=[m.id for m in members],
        authors=list(dict.fromkeys(m.author.key or f"{m.platform}:?" for m in members)),
        first_at=min([m.published_at for m in members] + ([previous.first_at] if previous else [])),
        last_at=max(m.published_at for m in members),
        risk=risk,
        updated_at=now,
    )
