"""What a notification says, built once when the alert changes and stored in the delivery.

The payload is a plain JSON dict, so the dispatcher needs nothing but the delivery row and
every notifier renders the same facts: brand, severity, WHY (the risk reasons), the post
excerpt and link, author and reach, the linked customer (tier, open ticket) and the
dashboard link. ``is_rtl`` decides right-to-left display for Persian/Arabic text.

Links from crawled pages enter the payload only when they are http(s)
(``core.links.safe_http_url``); each notifier still escapes every text for its own format.
"""

from __future__ import annotations

from typing import Any

from alerts.rules.key_customer import open_ticket
from core.config import Settings
from core.domain import Alert, Customer, Mention
from core.links import safe_http_url
from core.textnorm import arabic_script_share

EXCERPT_CHARS = 280
HEADLINES = {
    "notify": "New alert", "reminder": "Reminder", "escalation": "ESCALATED: not acknowledged in time",
    "reopened": "Reopened", "severity_raised": "Severity raised", "resolved": "Resolved",
    "calmed": "Calmed down", "flared": "Flared up again",
}


def is_rtl(text: str) -> bool:
    """True when most letters are Arabic-script (Persian), so the text reads right to left."""
    return bool(text) and arabic_script_share(text) >= 0.5


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def dashboard_link(settings: Settings, alert_id: str) -> str:
    return f"{settings.alerts.dashboard_url.rstrip('/')}/alerts/{alert_id}"


def build_message(
    alert: Alert, kind: str, change: str, settings: Settings,
    mention: Mention | None = None, customer: Customer | None = None,
) -> dict[str, Any]:
    """The payload of every delivery of one alert change."""
    headline = HEADLINES.get(change if kind == "notify" and change in HEADLINES else kind, "Alert")
    message: dict[str, Any] = {
        "event": kind, "change": change, "headline": headline,
        "alert_id": alert.id, "rule": alert.rule, "brand": alert.brand, "severity": alert.severity.value,
        "state": alert.state.value, "title": alert.title, "reasons": list(alert.reasons[:8]),
        "subject": {"kind": alert.subject_kind, "id": alert.subject_id},
        "mention_count": len(alert.mention_ids), "score": alert.score, "teams": list(alert.teams),
        "dashboard_url": dashboard_link(settings, alert.id), "version": alert.version,
        "updated_at": alert.updated_at.isoformat(),
    }
    if mention is not None:
        text = excerpt(mention.text)
        message["mention"] = {
            "id": mention.id, "platform": mention.platform, "url": safe_http_url(mention.url), "excerpt": text,
            "rtl": is_rtl(text), "lang": mention.lang or (mention.analysis.lang if mention.analysis else None),
            "published_at": mention.published_at.isoformat(),
            "author": {
                "handle": mention.author.handle, "name": mention.author.name,
                "profile_url": safe_http_url(mention.author.profile_url), "followers": mention.author.followers,
            },
            "engagement": mention.engagement.model_dump(exclude_none=True),
        }
    if customer is not None and not customer.erased:
        ticket = open_ticket(customer)
        message["customer"] = {
            "crm_id": customer.crm_id, "name": customer.name, "tier": customer.tier,
            "lifetime_value": customer.lifetime_value,
            "open_ticket": None if ticket is None else {
                "id": ticket.id, "status": ticket.status.value, "subject": ticket.subject,
                "opened_at": ticket.opened_at.isoformat(),
            },
        }
    return message


def text_lines(message: dict[str, Any]) -> list[str]:
    """The message as plain-text lines (email text part, Telegram, logs)."""
    lines = [f"[{message['severity'].upper()}] {message['headline']}: {message['title']}"]
    if message.get("brand"):
        lines.append(f"Brand: {message['brand']}")
    if message.get("reasons"):
        lines.append("Why: " + " · ".join(message["reasons"]))
    mention = message.get("mention")
    if mention:
        author = mention["author"]
        who = "@" + author["handle"] if author.get("handle") else (author.get("name") or "unknown author")
        reach = f", {author['followers']:,} followers" if author.get("followers") is not None else ""
        lines.append(f"Post ({mention['platform']}) by {who}{reach}:")
        lines.append(f"  {mention['excerpt']}")
        if safe_http_url(mention.get("url")):
            lines.append(f"  {mention['url']}")
    customer = message.get("customer")
    if customer:
        line = f"Customer: {customer.get('name') or customer['crm_id']} ({customer['crm_id']}), tier {customer.get('tier') or '-'}"
        ticket = customer.get("open_ticket")
        if ticket:
            line += f", open ticket {ticket['id']} ({ticket['status']}: {ticket.get('subject') or ''})"
        lines.append(line)
    lines.append(f"Evidence: {message['mention_count']} mention(s). Open: {message['dashboard_url']}")
    return lines
