"""A Mastodon-API-shaped instance: tag timelines, search, statuses and their context.

JSON shapes follow the Mastodon REST API (``Status`` with ``account``, ``reblogs_count``,
``favourites_count``, ``replies_count``, HTML ``content``; ``Link`` headers with
``max_id`` for paging). Page 2 of ``#sepehrmobile`` is served as invalid JSON on purpose.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from crawlers.demo.story import (
    COPY_AUTHORS, COPY_SUFFIXES, COPY_TEXT, MASTODON_OTHERS, MINA_COUNTS, MINA_REPLIES, MINA_STATUS, STEP,
)

PAGE_SIZE = 5
MINA_ID = "109000000000000100"
_FOLLOWERS = {"mina_r": 1200, "sepehrmobile": 15400, "reza_k": 310}


def account(base: str, handle: str) -> dict[str, Any]:
    return {
        "id": str(zlib.crc32(handle.encode())), "username": handle, "acct": handle, "display_name": handle.replace("_", " ").title(),
        "locked": False, "bot": False, "url": f"{base}/@{handle}", "avatar": f"{base}/avatars/{handle}.png",
        "followers_count": _FOLLOWERS.get(handle, 40 + len(handle) * 7), "following_count": 120, "statuses_count": 300,
        "note": "<p>Photographer in Tehran 📷</p>" if handle == "mina_r" else "<p></p>",
        "created_at": "2022-03-01T00:00:00.000Z",
    }


def _status(base: str, sid: str, handle: str, html: str, created: datetime, tag: str, favs: int, reblogs: int,
            replies: int, reply_to: str | None = None, lang: str = "en") -> dict[str, Any]:
    return {
        "id": sid, "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "in_reply_to_id": reply_to,
        "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "", "visibility": "public", "language": lang,
        "uri": f"{base}/users/{handle}/statuses/{sid}", "url": f"{base}/@{handle}/{sid}",
        "replies_count": replies, "reblogs_count": reblogs, "favourites_count": favs, "edited_at": None,
        "content": html, "reblog": None, "account": account(base, handle), "media_attachments": [], "mentions": [],
        "tags": [{"name": tag, "url": f"{base}/tags/{tag}"}] if tag else [], "emojis": [], "card": None, "poll": None,
    }


def all_statuses(base: str, now0: datetime, step: int) -> list[dict[str, Any]]:
    """Every top-level status visible at ``step``, newest first."""
    statuses = [_status(
        base, MINA_ID, "mina_r", MINA_STATUS.format(base=base), now0 - timedelta(minutes=45), "sepehrfail",
        MINA_COUNTS["favourites"](step), MINA_COUNTS["reblogs"](step), min(MINA_COUNTS["replies"](step), len(MINA_REPLIES)),
    )]
    for i, handle in enumerate(COPY_AUTHORS):
        appears = 2 if i < 10 else 3
        if appears > step:
            continue
        created = now0 + appears * STEP - timedelta(minutes=1 + i % 12)
        text = COPY_TEXT.format(base=base, suffix=COPY_SUFFIXES[i % len(COPY_SUFFIXES)])
        statuses.append(_status(base, f"1090000000000003{i:02d}", handle, f"<p>{text}</p>", created, "sepehrfail", i % 4, i % 3, 0))
    for suffix, handle, html, minutes, tag, favs, reblogs in MASTODON_OTHERS:
        lang = "fa" if any("\u0600" <= c <= "\u06ff" for c in html) else "en"
        statuses.append(_status(base, f"109000000000000{suffix}", handle, html, now0 - timedelta(minutes=minutes), tag, favs, reblogs, 0, lang=lang))
    return sorted(statuses, key=lambda s: s["created_at"], reverse=True)


def replies_to_mina(base: str, now0: datetime, step: int) -> list[dict[str, Any]]:
    count = min(MINA_COUNTS["replies"](step), len(MINA_REPLIES))
    return [
        _status(base, f"1090000000000005{i:02d}", f"replier_{i}", f"<p>{text}</p>", now0 - timedelta(minutes=40) + i * timedelta(minutes=7),
                "", 1 + i, 0, 0, reply_to=MINA_ID)
        for i, text in enumerate(MINA_REPLIES[:count])
    ]


def tag_timeline(base: str, now0: datetime, step: int, tag: str, max_id: str | None) -> tuple[list[dict[str, Any]] | None, str | None]:
    """(statuses page, next max_id) for ``tag``; None statuses = the broken page."""
    tagged = [s for s in all_statuses(base, now0, step) if any(t["name"] == tag for t in s["tags"])]
    start = 0
    if max_id is not None:
        start = next((i + 1 for i, s in enumerate(tagged) if s["id"] == max_id), len(tagged))
        if tag == "sepehrmobile":
            return None, None
    page = tagged[start:start + PAGE_SIZE]
    next_max = page[-1]["id"] if page and start + PAGE_SIZE < len(tagged) else None
    return page, next_max


def search(base: str, now0: datetime, step: int, query: str) -> dict[str, Any]:
    """``/api/v2/search`` result: statuses whose text has any word of ``query``."""
    words = [w.lower() for w in query.split() if w]
    found = [s for s in all_statuses(base, now0, step) if any(w in s["content"].lower() for w in words)]
    return {"accounts": [], "statuses": found[:20], "hashtags": []}


def status_by_id(base: str, now0: datetime, step: int, sid: str) -> dict[str, Any] | None:
    return next((s for s in all_statuses(base, now0, step) + replies_to_mina(base, now0, step) if s["id"] == sid), None)


def context(base: str, now0: datetime, step: int, sid: str) -> dict[str, Any] | None:
    if status_by_id(base, now0, step, sid) is None:
        return None
    return {"ancestors": [], "descendants": replies_to_mina(base, now0, step) if sid == MINA_ID else []}
