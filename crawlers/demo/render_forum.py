"""The demo forum and review site as HTML, the way such sites really render.

Persian threads show Jalali dates with Persian digits (``۱۴۰۵/۰۹/۰۲ ۱۴:۳۰``, Iran time);
English threads a ``<time datetime>`` element; reviews relative dates ("2 days ago") and
one fixed Jalali date. One thread has a post without its body (a malformed page).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

import jdatetime

from crawlers.demo.story import FORUM_THREADS, REVIEWS, STEP, Thread
from crawlers.timeparse import TEHRAN

THREADS_PER_PAGE = 5
POSTS_PER_PAGE = 5
REVIEWS_PER_PAGE = 4
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_digits(text: str) -> str:
    return text.translate(_FA_DIGITS)


def jalali(when: datetime) -> str:
    """``۱۴۰۵/۰۹/۰۲ ۱۴:۳۰`` in Iran time, as Persian sites print it."""
    local = when.astimezone(TEHRAN)
    j = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
    return persian_digits(f"{j.year:04d}/{j.month:02d}/{j.day:02d} {j.hour:02d}:{j.minute:02d}")


def relative(when: datetime, now: datetime) -> str:
    minutes = int((now - when).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} minutes ago"
    if minutes < 1440:
        return f"{minutes // 60} hours ago"
    return f"{minutes // 1440} days ago"


def _page(title: str, body: str, lang: str = "en") -> str:
    direction = "rtl" if lang == "fa" else "ltr"
    return (
        f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><header><a href=\"/forum/\">Mobile Talk forum</a></header>"
        f"<main>{body}</main></body></html>"
    )


def _last_activity(thread: Thread, now0: datetime, step: int) -> datetime:
    return max(p.created(now0) for p in thread.visible_posts(step))


def forum_listing(now0: datetime, step: int, page: int) -> str:
    """Thread list, newest activity first, with ``a[rel=next]`` pagination."""
    threads = sorted(FORUM_THREADS, key=lambda t: _last_activity(t, now0, step), reverse=True)
    chunk = threads[(page - 1) * THREADS_PER_PAGE: page * THREADS_PER_PAGE]
    rows = []
    for t in chunk:
        href = f"/forum/private/thread/{t.id}" if t.private else f"/forum/thread/{t.id}"
        replies = len(t.visible_posts(step)) - 1
        rows.append(
            f'<li class="thread" lang="{t.lang}"><a class="thread-title" href="{href}">{escape(t.title)}</a> '
            f'<span class="replies">{replies} replies</span></li>'
        )
    nav = f'<a rel="next" class="next" href="/forum/?page={page + 1}">Next</a>' if page * THREADS_PER_PAGE < len(threads) else ""
    return _page("Mobile Talk — threads", f'<ul class="threads">{"".join(rows)}</ul><nav>{nav}</nav>')


def forum_thread(thread_id: int, now0: datetime, step: int, page: int, private: bool = False) -> str | None:
    """One thread page (``POSTS_PER_PAGE`` posts), or None when it does not exist."""
    thread = next((t for t in FORUM_THREADS if t.id == thread_id and t.private == private), None)
    if thread is None:
        return None
    posts = thread.visible_posts(step)
    chunk = posts[(page - 1) * POSTS_PER_PAGE: page * POSTS_PER_PAGE]
    if not chunk:
        return None
    articles = []
    for post in chunk:
        created = post.created(now0)
        if thread.lang == "fa":
            shown = f'<span class="jalali">{jalali(created)}</span>'
        else:
            shown = f'<time datetime="{created.isoformat()}">{created:%d %b %Y %H:%M}</time>'
        body = "" if post.malformed else f'<div class="post-body">{post.body}</div>'
        articles.append(
            f'<article class="post" data-post-id="{post.id}">'
            f'<a class="author" href="/forum/user/{post.author}">{post.author}</a> '
            f'<span class="post-date">{shown}</span>{body}'
            f'<footer><span class="likes">{post.likes(step)}</span> likes '
            f'<a class="permalink" href="/forum/thread/{thread.id}?page={page}#{post.id}">#</a></footer></article>'
        )
    nav = f'<a rel="next" class="next" href="/forum/thread/{thread.id}?page={page + 1}">Next page</a>' if page * POSTS_PER_PAGE < len(posts) else ""
    return _page(thread.title, f"<h1>{escape(thread.title)}</h1>{''.join(articles)}<nav>{nav}</nav>", thread.lang)


def review_listing() -> str:
    return _page("Reviews", '<ul><li class="shop"><a class="shop-link" href="/reviews/sepehr-mobile">Sepehr Mobile</a></li></ul>')


def review_page(now0: datetime, step: int, page: int) -> str | None:
    """Sepehr Mobile's reviews: stars in ``data-rating``, relative or Jalali dates."""
    now = now0 + step * STEP
    chunk = REVIEWS[(page - 1) * REVIEWS_PER_PAGE: page * REVIEWS_PER_PAGE]
    if not chunk:
        return None
    items = []
    for review in chunk:
        shown = review.display_time or relative(review.created(now0), now)
        items.append(
            f'<div class="review" data-review-id="{review.id}">'
            f'<span class="reviewer"><a href="/reviews/user/{review.author}">{review.author}</a></span>'
            f'<span class="stars" data-rating="{review.rating}">{"★" * (review.rating or 0)}</span>'
            f'<span class="review-date">{shown}</span><p class="review-text">{escape(review.body)}</p>'
            f'<span class="helpful">{review.likes(step)} found this helpful</span></div>'
        )
    nav = f'<a rel="next" href="/reviews/sepehr-mobile?page={page + 1}">More reviews</a>' if page * REVIEWS_PER_PAGE < len(REVIEWS) else ""
    return _page("Sepehr Mobile reviews", f"<h1>Sepehr Mobile</h1>{''.join(items)}<nav>{nav}</nav>")


ROBOTS_TXT = "User-agent: *\nDisallow: /forum/private/\nDisallow: /admin/\n"
