"""The demo news feed (RSS 2.0) and Telegram channel previews (``t.me/s/<channel>`` markup)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape

from crawlers.demo.story import NEWS, STEP, TELEGRAM_MESSAGES

TELEGRAM_PAGE_SIZE = 5


def rss_feed(base_url: str, now0: datetime) -> str:
    """An RSS 2.0 feed; one entry has neither link nor date (malformed on purpose)."""
    items = []
    for slug, title, summary, minutes in NEWS:
        if minutes is None:
            items.append(f"<item><title>{escape(title)}</title><description>{escape(summary)}</description></item>")
            continue
        published = format_datetime(now0 - timedelta(minutes=minutes), usegmt=True)
        link = f"{base_url}/news/{slug}"
        items.append(
            f"<item><title>{escape(title)}</title><link>{link}</link><guid isPermaLink=\"true\">{link}</guid>"
            f"<pubDate>{published}</pubDate><description>{escape(summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Tehran Tech News</title>'
        f"<link>{base_url}/news/</link><description>Phones, shops and networks</description><language>en</language>"
        + "".join(items) + "</channel></rss>"
    )


def news_article(slug: str) -> str | None:
    for s, title, summary, minutes in NEWS:
        if s == slug and minutes is not None:
            return (
                f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head><body>'
                f"<nav>Home · Tech · Business</nav><article><h1>{escape(title)}</h1><p>{escape(summary)}</p>"
                f"<p>{escape(summary)} The company said more stores would follow.</p></article>"
                "<footer>© Tehran Tech News</footer></body></html>"
            )
    return None


def _views(views0: int, step: int) -> str:
    views = int(views0 * (1 + 0.25 * step))
    return f"{views / 1000:.1f}K" if views >= 1000 else str(views)


def telegram_channel(channel: str, now0: datetime, step: int, before: int | None) -> str | None:
    """The channel's web preview, newest last like t.me, ``?before=`` for older messages."""
    if channel not in TELEGRAM_MESSAGES:
        return None
    visible = sorted((m for m in TELEGRAM_MESSAGES[channel] if m[4] <= step), key=lambda m: m[0])
    if before is not None:
        visible = [m for m in visible if m[0] < before]
    page = visible[-TELEGRAM_PAGE_SIZE:]
    blocks = []
    for msg_id, text, minutes, views0, appears_at, forwarded in page:
        created = now0 + appears_at * STEP - timedelta(minutes=4) if appears_at else now0 - timedelta(minutes=minutes)
        fwd = (
            f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from '
            f'<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/{forwarded}">{forwarded}</a></div>'
            if forwarded else ""
        )
        blocks.append(
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{channel}/{msg_id}" data-view="x">'
            '<div class="tgme_widget_message_bubble">'
            f'<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{channel}">'
            f'<span dir="auto">{channel}</span></a></div>{fwd}'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{escape(text)}</div>'
            '<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info">'
            f'<span class="tgme_widget_message_views">{_views(views0, step)}</span>'
            f'<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/{channel}/{msg_id}">'
            f'<time datetime="{created.isoformat()}" class="time">{created:%H:%M}</time></a></span>'
            "</div></div></div></div></div>"
        )
    more = ""
    if page and len(visible) > len(page):
        oldest = page[0][0]
        more = f'<a class="tme_messages_more js-messages_more" data-before="{oldest}" href="/telegram/s/{channel}?before={oldest}"></a>'
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{channel} – Telegram</title></head><body>'
        f'<div class="tgme_channel_info"><div class="tgme_channel_info_header_title"><span dir="auto">{channel}</span></div></div>'
        f'<section class="tgme_channel_history js-message_history">{more}{"".join(blocks)}</section></body></html>'
    )
